"""The Store contract suite runs once per adapter.

A factory opens a store on the data named by a folder: called twice with the same folder it
gives two independent handles (connections, clients) on the same data, which is how the
concurrency tests run several routers at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from shared.adapters.sqlite_db import SqliteDatabase
from shared.adapters.sqlite_store import SqliteStore
from shared.ports import Store

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


# Adapters join the suite here.
STORE_FACTORIES: dict[str, StoreFactory] = {"sqlite": sqlite_store}


@pytest.fixture(params=sorted(STORE_FACTORIES))
def store_factory(request: pytest.FixtureRequest) -> StoreFactory:
    return STORE_FACTORIES[request.param]


@pytest.fixture
async def store(store_factory: StoreFactory, tmp_path: Path) -> AsyncIterator[Store]:
    async with store_factory(tmp_path) as opened:
        yield opened
