"""Settings: every one the app reads has a safe sample, and local.settings.json is honoured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.settings import Settings, setting_name

ROOT = Path(__file__).resolve().parents[2]


def test_the_sample_lists_every_setting() -> None:
    values = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]
    names = {setting_name(name, field) for name, field in Settings.model_fields.items()}
    assert names <= set(values)


def test_the_sample_is_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_SETTINGS_FILE", str(ROOT / "local.settings.sample.json"))
    assert Settings().twilio_auth_token == "local-sandbox-twilio-token"


def test_environment_beats_local_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    local = tmp_path / "local.settings.json"
    local.write_text(
        json.dumps({"Values": {"PUBLIC_BASE_URL": "https://from-file", "LOG_LEVEL": "DEBUG"}})
    )
    monkeypatch.setenv("LOCAL_SETTINGS_FILE", str(local))
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://from-env")
    settings = Settings()
    assert (settings.public_base_url, settings.log_level) == ("https://from-env", "DEBUG")


def test_a_missing_local_settings_file_is_fine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LOCAL_SETTINGS_FILE", str(tmp_path / "none.json"))
    assert Settings().storage_backend == "sqlite"


def test_the_service_bus_namespace_is_the_triggers_identity_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LOCAL_SETTINGS_FILE", str(tmp_path / "none.json"))
    monkeypatch.setenv("ServiceBusConnection__fullyQualifiedNamespace", "ns.servicebus.windows.net")
    assert Settings().servicebus_namespace == "ns.servicebus.windows.net"
