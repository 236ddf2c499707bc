"""ReadMarkStore on SQLite: one row per conversation the customer has read."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from shared.adapters.sqlite.tables import SqliteBase


class SqliteReadMarks(SqliteBase):
    async def mark_customer_read(self, conversation_id: str, at: datetime) -> datetime:
        def mark(db: sqlite3.Connection) -> datetime:
            row = db.execute(
                "SELECT read_at FROM customer_read_marks WHERE conversation_id = ?",
                (conversation_id,),
            ).fetchone()
            if row is not None and datetime.fromisoformat(row["read_at"]) >= at:
                return datetime.fromisoformat(row["read_at"])
            db.execute(
                "INSERT INTO customer_read_marks (conversation_id, read_at) VALUES (?, ?) "
                "ON CONFLICT (conversation_id) DO UPDATE SET read_at = excluded.read_at",
                (conversation_id, at.isoformat()),
            )
            return at

        return await self._db.atomic(mark)

    async def customer_read_at(self, conversation_id: str) -> datetime | None:
        def read(db: sqlite3.Connection) -> datetime | None:
            row = db.execute(
                "SELECT read_at FROM customer_read_marks WHERE conversation_id = ?",
                (conversation_id,),
            ).fetchone()
            return None if row is None else datetime.fromisoformat(row["read_at"])

        return await self._db.atomic(read)
