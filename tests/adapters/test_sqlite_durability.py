"""The SQLite file's commits: waiting for the disk by default, not inside
`recoverable_commits()` (queue deliveries and timers of the local runtime), and both kinds of
commit kept by a process that reopens the file."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from shared.adapters.sqlite.database import SqliteDatabase, recoverable_commits

FULL, NORMAL = 2, 1  # what `PRAGMA synchronous` answers


def synchronous_in_transaction(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA synchronous").fetchone()[0])


async def test_commits_wait_for_the_disk_unless_recoverable(tmp_path: Path) -> None:
    database = SqliteDatabase(tmp_path / "store.db")
    await database.open()
    try:
        assert await database.atomic(synchronous_in_transaction) == FULL
        with recoverable_commits():
            assert await database.atomic(synchronous_in_transaction) == NORMAL

            async def started_inside() -> int:
                return await database.atomic(synchronous_in_transaction)

            # A task started inside inherits the setting; one started elsewhere does not.
            assert await asyncio.create_task(started_inside()) == NORMAL
        assert await database.atomic(synchronous_in_transaction) == FULL
    finally:
        await database.close()


async def test_recoverable_commits_are_kept_across_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    database = SqliteDatabase(path)
    await database.open()
    await database.atomic(lambda db: db.execute("CREATE TABLE kept (n INTEGER)"))
    with recoverable_commits():
        await database.atomic(lambda db: db.execute("INSERT INTO kept VALUES (1)"))
    await database.atomic(lambda db: db.execute("INSERT INTO kept VALUES (2)"))
    await database.close()

    reopened = SqliteDatabase(path)
    await reopened.open()
    try:
        rows = await reopened.atomic(lambda db: db.execute("SELECT n FROM kept").fetchall())
        assert [row[0] for row in rows] == [1, 2]
    finally:
        await reopened.close()
