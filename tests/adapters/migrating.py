"""A SQLite database as an earlier version left it, then opened by this one: for the tests of
what a migration keeps."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from shared.adapters.sqlite import database as sqlite_database
from shared.adapters.sqlite.database import MIGRATIONS, SqliteDatabase
from shared.adapters.sqlite.store import SqliteStore
from shared.domain.work import WorkItem


async def opened_before(
    path: Path, monkeypatch: pytest.MonkeyPatch, migration_text: str
) -> SqliteDatabase:
    """The database at `path` with the migrations before the first one containing
    `migration_text`."""
    upto = next(i for i, m in enumerate(MIGRATIONS) if migration_text in m)
    monkeypatch.setattr(sqlite_database, "MIGRATIONS", MIGRATIONS[:upto])
    old = SqliteDatabase(path)
    await old.open()
    return old


async def opened_now(path: Path, monkeypatch: pytest.MonkeyPatch) -> SqliteStore:
    """The same file opened by this version: every migration left applied."""
    monkeypatch.setattr(sqlite_database, "MIGRATIONS", MIGRATIONS)
    migrated = SqliteDatabase(path)
    await migrated.open()
    return SqliteStore(migrated)


def write_item_as_before(db: sqlite3.Connection, work: WorkItem) -> None:
    """A work item's row as the schema before the clustered work items had it (today's
    writer names a column that schema lacks)."""
    db.execute(
        "INSERT INTO work_items (id, conversation_id, queue_id, status, agent_id, priority, "
        "capacity_units, enqueued_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            work.id,
            work.conversation_id,
            work.queue_id,
            work.status,
            work.agent_id,
            work.priority,
            work.capacity_units,
            work.enqueued_at.isoformat(),
            work.model_dump_json(),
        ),
    )
