"""The local Cosmos DB protocol server the tests use, when `make test` started one.

Without COSMOS_TEST_ENDPOINT a Cosmos test is skipped with the reason; with REQUIRE_COSMOS=1
(set by make test) it fails instead, so CI cannot pass by skipping.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
from azure.cosmos.aio import CosmosClient

# The local server accepts any base64 key; this is the public emulator's well-known one.
COSMOS_TEST_KEY = (
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
)


def cosmos_test_endpoint() -> str:
    """The server's endpoint; skips the calling test without one (fails if required)."""
    endpoint = os.environ.get("COSMOS_TEST_ENDPOINT", "")
    required = os.environ.get("REQUIRE_COSMOS") == "1"
    problem = "COSMOS_TEST_ENDPOINT is not set (make test starts a server and sets it)"
    if endpoint:
        address = urlsplit(endpoint)
        try:
            socket.create_connection((address.hostname, address.port or 443), timeout=2).close()
            return endpoint
        except OSError as error:
            problem = f"the Cosmos server at {endpoint} is not reachable: {error}"
    if required:
        pytest.fail(f"REQUIRE_COSMOS=1 but {problem}")
    pytest.skip(problem)


@contextmanager
def cosmos_app_settings(database: str) -> Iterator[dict[str, str]]:
    """App settings (environment) for a runtime on its own database, deleted afterwards."""
    endpoint = cosmos_test_endpoint()
    yield {
        "STORAGE_BACKEND": "cosmos",
        "COSMOS_ENDPOINT": endpoint,
        "COSMOS_KEY": COSMOS_TEST_KEY,
        "COSMOS_VERIFY_TLS": "false",
        "COSMOS_DATABASE": database,
    }
    asyncio.run(delete_database(endpoint, database))


async def delete_database(endpoint: str, database: str) -> None:
    async with CosmosClient(endpoint, credential=COSMOS_TEST_KEY, connection_verify=False) as c:
        await c.delete_database(database)
