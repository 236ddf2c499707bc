"""ConversationSearchStore on SQLite: the search projection tables the migration's triggers feed.

- `conversation_search`: one row per conversation (`num`, its INTEGER PRIMARY KEY; opening
  instant in epoch ms, customer, customer address, channel, status), indexed newest first
  overall, per customer and per address;
- `conversation_parties`: every queue its work waited in and agent who held it (`queue:<id>`,
  `agent:<id>`), keyed by party;
- `message_words` and `note_words`: FTS5 over the text of customer-visible messages and of
  internal notes, contentless; a message's rowid is `num << 24 | sequence`, so a conversation's
  messages are one rowid range and a match names its conversation (`rowid >> 24`).

Each word must be in some message of the conversation (as on Cosmos DB); `word_plan` says how
each is asked of FTS5. The other criteria are index lookups on the projection, and the page is
the first `limit` rows in (opened_ms, id) descending order after the cursor.
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

SEQUENCE_BITS = 24
"""A message's rowid in the word tables: its conversation's num, shifted, or its sequence."""

SELECTIVE = 1000
"""A word with fewer matching messages than this drives the search from its matches; one
with more is checked per conversation, newest first, until the page is full."""


def fts_phrase(word: str) -> str:
    """One word as an FTS5 string (quoted, so no word is read as query syntax)."""
    return '"' + word.replace('"', '""') + '"'


class WordPlan:
    """How a search asks for its words: `driver`, a subquery of the nums of the candidate
    conversations (or None: walk newest first), then the conditions each row must meet."""

    def __init__(self) -> None:
        self.driver: str | None = None
        self.driver_parameters: list[object] = []
        self.conditions: list[str] = []
        self.parameters: list[object] = []


def word_plan(db: sqlite3.Connection, query: ConversationQuery) -> WordPlan:
    """How the query's words are asked: each word in some message of the conversation, in a
    note too with `include_notes`.

    The rarest word, when it matches fewer than SELECTIVE messages, gives the candidates: its
    matches' rowids shifted to their conversations' nums, read from the FTS5 index alone.
    Every other word is checked on each candidate, newest first, by one FTS5 query bounded to
    the conversation's rowid range (a seek in the word's doclist). A rare word costs its
    matches, a common one (in most conversations) about a page's worth of seeks: never a walk
    of its hundreds of thousands of matches."""
    tables = ("message_words", "note_words") if query.include_notes else ("message_words",)
    counted = []
    for word in query.words:
        phrase = fts_phrase(word)
        matches = 0
        for table in tables:
            matches += db.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {table} MATCH ? LIMIT ?)",  # noqa: S608
                (phrase, SELECTIVE),
            ).fetchone()[0]
        counted.append((int(matches), phrase))
    counted.sort()
    plan = WordPlan()
    for rank, (matches, phrase) in enumerate(counted):
        if rank == 0 and matches < SELECTIVE:
            plan.driver = " UNION ".join(
                f"SELECT DISTINCT rowid >> {SEQUENCE_BITS} AS num "  # noqa: S608 (names, not input)
                f"FROM {table} WHERE {table} MATCH ?"
                for table in tables
            )
            plan.driver_parameters = [phrase] * len(tables)
            continue
        plan.conditions.append(
            "("  # noqa: S608 (table names from this module; the word is a parameter)
            + " OR ".join(
                f"EXISTS (SELECT 1 FROM {table} WHERE {table} MATCH ? "  # noqa: S608
                f"AND {table}.rowid >= s.num << {SEQUENCE_BITS} "
                f"AND {table}.rowid < (s.num + 1) << {SEQUENCE_BITS})"
                for table in tables
            )
            + ")"
        )
        plan.parameters += [phrase] * len(tables)
    return plan


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
            # A scope is most of what an agent sees: tested on each row (the unary +), so the
            # walk stays in the newest-first index and stops at the page's end.
            marks = ",".join("?" for _ in query.visible_to) or "NULL"
            where.append(
                "+s.id IN (SELECT conversation_id FROM conversation_parties "  # noqa: S608
                f"WHERE party IN ({marks}))"
            )
            parameters += list(query.visible_to)

        def run(db: sqlite3.Connection) -> list[SearchHit]:
            plan = word_plan(db, query)
            # A rare word's conversations drive the join (CROSS JOIN keeps that order in
            # SQLite); otherwise the projection is walked newest first.
            source = (
                "conversation_search s"
                if plan.driver is None
                else f"({plan.driver}) hit CROSS JOIN conversation_search s ON s.num = hit.num"
            )
            sql = (
                f"SELECT s.opened_ms, c.doc FROM {source} "  # noqa: S608
                "JOIN conversations c ON c.id = s.id WHERE "
                + " AND ".join(where + plan.conditions)
                + " ORDER BY s.opened_ms DESC, s.id DESC LIMIT ?"
            )
            arguments = [*plan.driver_parameters, *parameters, *plan.parameters, limit]
            rows = db.execute(sql, arguments).fetchall()
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
