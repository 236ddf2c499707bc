"""What every SQLite port shares: the database handle, records as JSON documents with the columns
their queries need, and the work-item rows several ports write."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterable

from pydantic import BaseModel

from shared.adapters.sqlite.database import SqliteDatabase
from shared.domain.routing_config import Agent
from shared.domain.work import CAPACITY_HOLDING, RoutingDecision, WorkItem, WorkItemStatus

HOLDING_STATUSES = tuple(str(s) for s in CAPACITY_HOLDING)

HOLDING_PLACEHOLDERS = ",".join("?" for _ in HOLDING_STATUSES)

# The records routing reads again and again, parsed once per stored text (records are frozen,
# so one parse serves every reader): a routing cycle reads every member of its queue, a pass
# reads the queue's head of waiting items again after its first cycle, and the batch reads
# each planned item again to check it (bench/README.md, routing).
parse_agent = functools.lru_cache(maxsize=20_000)(Agent.model_validate_json)
parse_work_item = functools.lru_cache(maxsize=4_096)(WorkItem.model_validate_json)


def record_decisions(db: sqlite3.Connection, decisions: Iterable[RoutingDecision]) -> None:
    """Write routing decisions, each once: a retried write of one finds it there."""
    db.executemany(
        "INSERT INTO routing_decisions (conversation_id, decided_at, id, doc) "
        "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [(d.conversation_id, d.decided_at.isoformat(), d.id, doc_json(d)) for d in decisions],
    )


class SqliteBase:
    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database

    async def close(self) -> None:
        await self._db.close()

    async def _put_doc(self, table: str, record_id: str, model: BaseModel) -> None:
        await self._db.atomic(lambda db: upsert_doc(db, table, record_id, model))

    async def _get[M: BaseModel](self, kind: type[M], table: str, record_id: str) -> M | None:
        return await self._db.atomic(lambda db: read_doc(db, kind, table, record_id))

    async def _list_docs[M: BaseModel](
        self, kind: type[M], table: str, after: str | None, limit: int
    ) -> list[M]:
        return await self._query(
            kind,
            f"SELECT doc FROM {table} WHERE id > ? ORDER BY id LIMIT ?",  # noqa: S608
            (after or "", limit),
        )

    async def _query[M: BaseModel](
        self, kind: type[M], sql: str, parameters: tuple[object, ...]
    ) -> list[M]:
        """The records in the `doc` column of the rows `sql` selects, in its order."""
        return await self._db.atomic(
            lambda db: load_rows(kind, db.execute(sql, parameters).fetchall())
        )

    async def _query_one[M: BaseModel](
        self, kind: type[M], sql: str, parameters: tuple[object, ...]
    ) -> M | None:
        """The record in the `doc` column of the first row `sql` selects, if any."""
        return await self._db.atomic(
            lambda db: load_row(kind, db.execute(sql, parameters).fetchone())
        )

    async def _delete(self, table: str, record_id: str) -> bool:
        return await self._db.atomic(
            lambda db: (
                db.execute(f"DELETE FROM {table} WHERE id = ?", (record_id,)).rowcount  # noqa: S608
                > 0
            )
        )

    @staticmethod
    def _write_item(db: sqlite3.Connection, item: WorkItem) -> None:
        db.execute(
            "INSERT INTO work_items (id, conversation_id, queue_id, status, agent_id, priority, "
            "capacity_units, enqueued_at, doc, open_conversation_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET queue_id = excluded.queue_id, "
            "status = excluded.status, agent_id = excluded.agent_id, "
            "priority = excluded.priority, capacity_units = excluded.capacity_units, "
            "enqueued_at = excluded.enqueued_at, doc = excluded.doc, "
            "open_conversation_id = excluded.open_conversation_id",
            (
                item.id,
                item.conversation_id,
                item.queue_id,
                item.status,
                item.agent_id,
                item.priority,
                item.capacity_units,
                item.enqueued_at.isoformat(),
                doc_json(item),
                None if item.status == WorkItemStatus.CLOSED else item.conversation_id,
            ),
        )

    @staticmethod
    def _used_capacity(db: sqlite3.Connection, agent_id: str) -> int:
        row = db.execute(
            "SELECT COALESCE(SUM(capacity_units), 0) FROM work_items "  # noqa: S608
            f"WHERE agent_id = ? AND status IN ({HOLDING_PLACEHOLDERS})",
            (agent_id, *HOLDING_STATUSES),
        ).fetchone()
        return int(row[0])


def doc_json(model: BaseModel) -> str:
    return model.model_dump_json(by_alias=True)


def load_row[M: BaseModel](kind: type[M], row: sqlite3.Row | None) -> M | None:
    return None if row is None else kind.model_validate_json(row["doc"])


def load_rows[M: BaseModel](kind: type[M], rows: list[sqlite3.Row]) -> list[M]:
    return [kind.model_validate_json(row["doc"]) for row in rows]


def upsert_doc(db: sqlite3.Connection, table: str, record_id: str, model: BaseModel) -> None:
    db.execute(
        f"INSERT INTO {table} (id, doc) VALUES (?, ?) "  # noqa: S608
        "ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
        (record_id, doc_json(model)),
    )


def read_doc[M: BaseModel](
    db: sqlite3.Connection, kind: type[M], table: str, record_id: str
) -> M | None:
    # Table names come from this module only, never from input.
    row = db.execute(f"SELECT doc FROM {table} WHERE id = ?", (record_id,)).fetchone()  # noqa: S608
    return load_row(kind, row)
