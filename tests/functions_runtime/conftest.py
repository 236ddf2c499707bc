"""A worker of the real Python runtime per test, on the test's own app data (`services`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from shared.bootstrap import Container
from tests.functions_runtime.host import FunctionsHost
from tests.functions_runtime.protocol import compile_protocol
from tests.support import PUBLIC_BASE_URL, clock, clocked, extra_settings, services, spans

__all__ = ["clock", "clocked", "extra_settings", "services", "spans"]


@pytest.fixture(scope="session")
def protos(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return compile_protocol(tmp_path_factory.mktemp("protocol"))


@pytest.fixture
async def functions(protos: Any, services: Container) -> AsyncIterator[FunctionsHost]:
    host = FunctionsHost(protos)
    await host.start()
    yield host
    await host.stop()


@pytest.fixture
async def client(functions: FunctionsHost) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP to the app through the runtime's HTTP path, at the app's public address."""
    async with httpx.AsyncClient(transport=functions.transport(), base_url=PUBLIC_BASE_URL) as http:
        yield http
