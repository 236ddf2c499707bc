"""The containers infra/ creates in Azure are the ones the adapter defines and creates locally."""

from __future__ import annotations

import json
from pathlib import Path

from shared.adapters.cosmos.layout import CONTAINERS

INFRA = Path(__file__).resolve().parents[2] / "infra" / "cosmos-containers.json"


def test_infra_declares_the_containers_the_adapter_defines() -> None:
    declared = json.loads(INFRA.read_text(encoding="utf-8"))["containers"]
    assert declared == [spec.resource() for spec in CONTAINERS]
