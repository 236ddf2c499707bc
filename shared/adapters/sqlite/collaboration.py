"""CollaborationStore on SQLite: transfers and consultants."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from shared.adapters.sqlite.tables import SqliteBase, read_doc
from shared.domain.routing_config import Agent
from shared.domain.work import AGENT_WORKING, WorkItem, WorkItemStatus


class SqliteCollaboration(SqliteBase):
    async def add_consultant(
        self, item_id: str, primary_agent_id: str, consultant_id: str
    ) -> WorkItem | None:
        def add(db: sqlite3.Connection) -> WorkItem | None:
            item = read_doc(db, WorkItem, "work_items", item_id)
            if (
                item is None
                or item.status not in AGENT_WORKING
                or item.agent_id != primary_agent_id
                or consultant_id == primary_agent_id
            ):
                return None
            if consultant_id in item.consultants:
                return item
            changed = item.model_copy(update={"consultants": (*item.consultants, consultant_id)})
            SqliteBase._write_item(db, changed)
            db.execute(
                "INSERT INTO work_consultants (item_id, agent_id) VALUES (?, ?)",
                (item_id, consultant_id),
            )
            return changed

        return await self._db.atomic(add)

    async def remove_consultant(self, item_id: str, consultant_id: str) -> WorkItem | None:
        def remove(db: sqlite3.Connection) -> WorkItem | None:
            item = read_doc(db, WorkItem, "work_items", item_id)
            if item is None or consultant_id not in item.consultants:
                return None
            changed = item.model_copy(
                update={"consultants": tuple(c for c in item.consultants if c != consultant_id)}
            )
            SqliteBase._write_item(db, changed)
            db.execute(
                "DELETE FROM work_consultants WHERE item_id = ? AND agent_id = ?",
                (item_id, consultant_id),
            )
            return changed

        return await self._db.atomic(remove)

    async def consulted_items(self, agent_id: str) -> Sequence[WorkItem]:
        return await self._query(
            WorkItem,
            "SELECT w.doc FROM work_consultants c JOIN work_items w ON w.id = c.item_id "
            "WHERE c.agent_id = ? AND w.status != 'closed' ORDER BY w.enqueued_at, w.id",
            (agent_id,),
        )

    @staticmethod
    def _release_to(
        db: sqlite3.Connection, item: WorkItem, changed: WorkItem, released_at: datetime | None
    ) -> WorkItem:
        """Write the item as it leaves its agent: its consultants are dismissed with it."""
        changed = changed.model_copy(update={"consultants": ()})
        SqliteBase._write_item(db, changed)
        db.execute("DELETE FROM work_consultants WHERE item_id = ?", (item.id,))
        if released_at is not None and item.agent_id is not None:
            db.execute(
                "UPDATE agent_presence SET released_at = ? WHERE agent_id = ?",
                (released_at.isoformat(), item.agent_id),
            )
        return changed

    @staticmethod
    def _active_with(db: sqlite3.Connection, item_id: str, agent_id: str) -> WorkItem | None:
        item = read_doc(db, WorkItem, "work_items", item_id)
        if item is None or item.status != WorkItemStatus.ACTIVE or item.agent_id != agent_id:
            return None
        return item

    async def transfer_to_agent(
        self, item_id: str, from_agent_id: str, to_agent_id: str, now: datetime
    ) -> WorkItem | None:
        def transfer(db: sqlite3.Connection) -> WorkItem | None:
            item = self._active_with(db, item_id, from_agent_id)
            receiver = read_doc(db, Agent, "agents", to_agent_id)
            if item is None or receiver is None or to_agent_id == from_agent_id:
                return None
            if self._used_capacity(db, to_agent_id) + item.capacity_units > receiver.max_capacity:
                return None
            return self._release_to(db, item, item.transferred_to_agent(to_agent_id, now), now)

        return await self._db.atomic(transfer)

    async def transfer_to_queue(
        self, item_id: str, from_agent_id: str, queue_id: str, now: datetime
    ) -> WorkItem | None:
        def transfer(db: sqlite3.Connection) -> WorkItem | None:
            item = self._active_with(db, item_id, from_agent_id)
            if item is None:
                return None
            return self._release_to(db, item, item.transferred_to_queue(queue_id, now), None)

        return await self._db.atomic(transfer)
