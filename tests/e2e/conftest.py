"""The `runtime` fixture: a local runtime on a free port, killed if a test leaves it running."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.runtime import Runtime, free_port


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    started = Runtime(tmp_path / "data", free_port())
    yield started
    if started.process is not None and started.process.poll() is None:
        started.stop(signal.SIGKILL)
