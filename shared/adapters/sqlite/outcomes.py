"""OutcomeStore on SQLite: the conversation's outcome fields, an address's latest conversation,
CSAT answers by the instant answered."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from shared.adapters.sqlite.tables import SqliteBase, doc_json, load_row, read_doc
from shared.domain.conversations import Conversation
from shared.domain.outcomes import CsatFact
from shared.ports import OutcomeChange


def _micros(moment: datetime) -> int:
    """A sortable instant: ISO strings with different offsets do not sort by time."""
    return round(moment.timestamp() * 1_000_000)


class SqliteOutcomes(SqliteBase):
    async def change_conversation_outcome(
        self, conversation_id: str, change: OutcomeChange
    ) -> tuple[Conversation, bool] | None:
        def apply(db: sqlite3.Connection) -> tuple[Conversation, bool] | None:
            current = read_doc(db, Conversation, "conversations", conversation_id)
            if current is None:
                return None
            proposed = change(current)
            if proposed is None:
                return current, False
            changed = current.with_outcome_of(proposed)
            db.execute(
                "UPDATE conversations SET doc = ? WHERE id = ?",
                (doc_json(changed), conversation_id),
            )
            return changed, True

        return await self._db.atomic(apply)

    async def address_conversation(
        self, channel_id: str, customer_address: str
    ) -> Conversation | None:
        def latest(db: sqlite3.Connection) -> Conversation | None:
            return load_row(
                Conversation,
                db.execute(
                    "SELECT doc FROM conversations WHERE channel_id = ? AND customer_address = ? "
                    "ORDER BY status = 'open' DESC, json_extract(doc, '$.opened_at') DESC "
                    "LIMIT 1",
                    (channel_id, customer_address),
                ).fetchone(),
            )

        return await self._db.atomic(latest)

    async def put_csat_fact(self, fact: CsatFact) -> None:
        await self._db.atomic(
            lambda db: db.execute(
                "INSERT INTO csat_facts (conversation_id, answered_at, doc) VALUES (?, ?, ?) "
                "ON CONFLICT (conversation_id) DO UPDATE SET answered_at = excluded.answered_at, "
                "doc = excluded.doc",
                (fact.conversation_id, _micros(fact.answered_at), doc_json(fact)),
            )
        )

    async def csat_facts(self, start: datetime, end: datetime) -> Sequence[CsatFact]:
        return await self._query(
            CsatFact,
            "SELECT doc FROM csat_facts WHERE answered_at >= ? AND answered_at < ? "
            "ORDER BY answered_at, conversation_id",
            (_micros(start), _micros(end)),
        )
