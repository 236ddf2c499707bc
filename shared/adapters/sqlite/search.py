"""ConversationSearchStore on SQLite: the search projection tables the migration's triggers feed.

- `conversation_search`: one row per conversation (opening instant in epoch ms, customer,
  customer address, channel, status), indexed newest first overall, per customer and per
  address;
- `conversation_parties`: every queue its work waited in and agent who held it (`queue:<id>`,
  `agent:<id>`), keyed by party, so a queue's or an agent's conversations are one index range;
- `message_words`: FTS5 over every message's text, with its conversation and whether it is an
  internal note.

A text search asks FTS5 once per word (each word in some message of the conversation, as on
Cosmos DB), the other criteria are index lookups on the projection, and the page is the first
`limit` rows in (opened_ms, id) descending order after the cursor.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from shared.adapters.sqlite.tables import SqliteBase
from shared.domain.conversations import Conversation
from shared.domain.search import (
    ConversationQuery,
    SearchHit,
    SearchPosition,
    agent_party,
    queue_party,
)


def fts_phrase(word: str) -> str:
    """One word as an FTS5 string (quoted, so no word is read as query syntax)."""
    return '"' + word.replace('"', '""') + '"'


class SqliteConversationSearch(SqliteBase):
    async def search_conversations(
        self, query: ConversationQuery, *, after: SearchPosition | None, limit: int
    ) -> Sequence[SearchHit]:
        where = ["s.opened_ms >= ?", "s.opened_ms < ?"]
        parameters: list[object] = [query.start_ms, query.end_ms]
        if after is not None:
            where.append("(s.opened_ms < ? OR (s.opened_ms = ? AND s.id < ?))")
            parameters += [after.opened_ms, after.opened_ms, after.conversation_id]
        for column, value in (
            ("s.customer_id", query.customer_id),
            ("s.customer_address", query.number),
            ("s.channel", None if query.channel is None else str(query.channel)),
            ("s.status", None if query.status is None else str(query.status)),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                parameters.append(value)
        for party in (
            None if query.queue_id is None else queue_party(query.queue_id),
            None if query.agent_id is None else agent_party(query.agent_id),
        ):
            if party is not None:
                where.append(
                    "s.id IN (SELECT conversation_id FROM conversation_parties WHERE party = ?)"
                )
                parameters.append(party)
        if query.visible_to is not None:
            marks = ",".join("?" for _ in query.visible_to) or "NULL"
            where.append(
                "s.id IN (SELECT conversation_id FROM conversation_parties "  # noqa: S608
                f"WHERE party IN ({marks}))"
            )
            parameters += list(query.visible_to)
        notes = "" if query.include_notes else " AND internal = 0"
        for word in query.words:
            where.append(
                "s.id IN (SELECT conversation_id FROM message_words "  # noqa: S608
                f"WHERE message_words MATCH ?{notes})"
            )
            parameters.append(fts_phrase(word))
        sql = (
            "SELECT s.opened_ms, c.doc FROM conversation_search s "  # noqa: S608 (fixed parts)
            "JOIN conversations c ON c.id = s.id WHERE "
            + " AND ".join(where)
            + " ORDER BY s.opened_ms DESC, s.id DESC LIMIT ?"
        )
        parameters.append(limit)

        def run(db: sqlite3.Connection) -> list[SearchHit]:
            rows = db.execute(sql, parameters).fetchall()
            return [
                SearchHit(
                    conversation=Conversation.model_validate_json(row["doc"]),
                    opened_ms=int(row["opened_ms"]),
                )
                for row in rows
            ]

        return await self._db.atomic(run)

    async def reassign_conversations(
        self, from_customer_id: str, to_customer_id: str | None
    ) -> int:
        return await self._db.atomic(
            lambda db: (
                db.execute(
                    "UPDATE conversations SET doc = json_set(doc, '$.customer_id', ?) "
                    "WHERE json_extract(doc, '$.customer_id') = ?",
                    (to_customer_id, from_customer_id),
                ).rowcount
            )
        )
