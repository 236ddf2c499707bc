"""The Store contract suite runs once per adapter.

A factory opens a store on the data named by a folder: called twice with the same folder it
gives two independent handles (connections, clients) on the same data, which is how the
concurrency tests run several routers at once.

Cosmos runs against the protocol server `make test` starts (see tests/cosmos_server.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from azure.cosmos import exceptions
from azure.cosmos.aio import CosmosClient

from shared.adapters.cosmos.containers import HOLD_GRACE
from shared.adapters.cosmos.store import CosmosStore, open_cosmos_store
from shared.adapters.sqlite.database import SqliteDatabase
from shared.adapters.sqlite.store import SqliteStore
from shared.ports import Store
from shared.settings import Settings
from tests.cosmos_server import COSMOS_TEST_KEY, cosmos_test_endpoint

StoreFactory = Callable[[Path], AbstractAsyncContextManager[Store]]


@asynccontextmanager
async def sqlite_store(tmp_path: Path) -> AsyncIterator[Store]:
    database = SqliteDatabase(tmp_path / "contract.db")
    await database.open()
    store = SqliteStore(database)
    try:
        yield store
    finally:
        await store.close()


def cosmos_settings(database: str) -> Settings:
    return Settings(
        storage_backend="cosmos",
        cosmos_endpoint=cosmos_test_endpoint(),
        cosmos_key=COSMOS_TEST_KEY,
        cosmos_database=database,
        cosmos_verify_tls=False,
    )


@asynccontextmanager
async def cosmos_store(
    tmp_path: Path, *, hold_grace: timedelta = HOLD_GRACE
) -> AsyncIterator[CosmosStore]:
    """A database per test folder. The handle that created it deletes it on close: nested
    handles close in reverse order, so the first one opened closes last."""
    settings = cosmos_settings("contract-" + hashlib.sha256(bytes(tmp_path)).hexdigest()[:20])
    async with CosmosClient(
        settings.cosmos_endpoint, credential=settings.cosmos_key, connection_verify=False
    ) as admin:
        try:
            await admin.create_database(settings.cosmos_database)
            created_here = True
        except exceptions.CosmosResourceExistsError:
            created_here = False
        store = await open_cosmos_store(settings, hold_grace=hold_grace)
        try:
            yield store
        finally:
            await store.close()
            if created_here:
                await admin.delete_database(settings.cosmos_database)


# Adapters join the suite here.
STORE_FACTORIES: dict[str, StoreFactory] = {"sqlite": sqlite_store, "cosmos": cosmos_store}


@pytest.fixture(params=sorted(STORE_FACTORIES))
def store_factory(request: pytest.FixtureRequest) -> StoreFactory:
    return STORE_FACTORIES[request.param]


@pytest.fixture
async def store(store_factory: StoreFactory, tmp_path: Path) -> AsyncIterator[Store]:
    async with store_factory(tmp_path) as opened:
        yield opened
