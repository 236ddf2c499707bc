"""ConversationSearchStore on Cosmos DB: the `search` container (search_index.py).

A search reads the days of its range newest first, one single-partition query per day
(`pk = day:<date>`) on the projections' indexed fields, `TOP` what the page still needs,
ordered by the composite index (opened_ms, id) descending; it stops as soon as the page is
full. Words are whole words, each message's in its own words document: a search with words
first asks the day's words documents (one query, on the indexed word sets, `ARRAY_CONTAINS`)
which conversations have every word, then the projections among those. No query spans
partitions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.adapters.cosmos import layout
from shared.adapters.cosmos.containers import CosmosBase, load_record
from shared.adapters.cosmos.documents import Doc, query_records, read_or_none, update
from shared.adapters.cosmos.layout import model_json
from shared.adapters.cosmos.search_index import index_conversation
from shared.domain.conversations import Conversation
from shared.domain.search import (
    ConversationQuery,
    SearchHit,
    SearchPosition,
    agent_party,
    day_start_ms,
    queue_party,
)


def search_filter(
    query: ConversationQuery, after: SearchPosition | None
) -> tuple[str, dict[str, Any]]:
    """The WHERE clause after the partition's, and its parameters."""
    where = ["c.opened_ms >= @start", "c.opened_ms < @end"]
    parameters: dict[str, Any] = {"@start": query.start_ms, "@end": query.end_ms}
    if after is not None:
        where.append("(c.opened_ms < @after_ms OR (c.opened_ms = @after_ms AND c.id < @after_id))")
        parameters |= {"@after_ms": after.opened_ms, "@after_id": after.conversation_id}
    for name, value in (
        ("customer_id", query.customer_id),
        ("customer_address", query.number),
        ("channel", None if query.channel is None else str(query.channel)),
        ("status", None if query.status is None else str(query.status)),
    ):
        if value is not None:
            where.append(f"c.{name} = @{name}")
            parameters[f"@{name}"] = value
    if query.queue_id is not None:
        where.append("ARRAY_CONTAINS(c.queue_ids, @queue)")
        parameters["@queue"] = queue_party(query.queue_id)
    if query.agent_id is not None:
        where.append("ARRAY_CONTAINS(c.agent_ids, @agent)")
        parameters["@agent"] = agent_party(query.agent_id)
    if query.visible_to is not None:
        either = []
        for n, party in enumerate(query.visible_to):
            either.append(
                f"ARRAY_CONTAINS(c.queue_ids, @party{n}) OR ARRAY_CONTAINS(c.agent_ids, @party{n})"
            )
            parameters[f"@party{n}"] = party
        where.append("(" + (" OR ".join(either) or "false") + ")")
    return " AND ".join(where), parameters


def words_query(query: ConversationQuery) -> tuple[str, dict[str, Any]]:
    """A day's words documents with any of the query's words, and which of them each has
    (`w<n>`), for `conversations_with_every_word`."""
    columns, matches = [], []
    parameters: dict[str, Any] = {}
    for n, word in enumerate(query.words):
        found = f"ARRAY_CONTAINS(c.words, @word{n})"
        if query.include_notes:
            found = f"({found} OR ARRAY_CONTAINS(c.note_words, @word{n}))"
        columns.append(f"{found} AS w{n}")
        matches.append(found)
        parameters[f"@word{n}"] = word
    sql = (
        "SELECT c.id, c.conversation_id, "  # noqa: S608 (parameters; the text is ours)
        + ", ".join(columns)
        + " FROM c WHERE c.pk = @pk AND ("
        + " OR ".join(matches)
        + ")"
    )
    return sql, parameters


def conversations_with_every_word(rows: Sequence[Mapping[str, Any]], word_count: int) -> list[str]:
    """The conversations whose messages, together, have every word of the query. A row
    without `conversation_id` is a projection written before words had their own documents
    (its words on it): its id is the conversation's."""
    found: dict[str, set[int]] = {}
    for row in rows:
        conversation_id = str(row.get("conversation_id") or row["id"])
        found.setdefault(conversation_id, set()).update(
            n for n in range(word_count) if row.get(f"w{n}") is True
        )
    return [c for c, words in found.items() if len(words) == word_count]


IDS_PER_QUERY = 500
"""Candidate conversations per projection query when words narrowed the day (a parameter
array; Cosmos DB bounds a query's size)."""


class CosmosConversationSearch(CosmosBase):
    async def search_conversations(
        self, query: ConversationQuery, *, after: SearchPosition | None, limit: int
    ) -> Sequence[SearchHit]:
        condition, parameters = search_filter(query, after)
        hits: list[SearchHit] = []
        for day in query.days_newest_first():
            if after is not None and after.opened_ms < day_start_ms(day):
                continue  # the page resumes in an earlier day
            partition = layout.search_day_key(day)
            rows = await self._day_page(query, partition, condition, parameters, limit - len(hits))
            for row in rows:
                # The conversation itself, a point read in its own partition: the projection
                # holds only what is searched on.
                doc = await read_or_none(self._conversations, str(row["id"]), str(row["id"]))
                if doc is not None:
                    hits.append(
                        SearchHit(
                            conversation=load_record(Conversation, doc),
                            opened_ms=int(row["opened_ms"]),
                        )
                    )
            if len(hits) >= limit:
                break
        return hits

    async def _day_page(
        self,
        query: ConversationQuery,
        partition: str,
        condition: str,
        parameters: dict[str, Any],
        wanted: int,
    ) -> list[dict[str, Any]]:
        """The day's first `wanted` matching projections (id, opened_ms), newest first."""
        select = (
            "SELECT TOP @limit c.id, c.opened_ms FROM c WHERE c.pk = @pk AND "  # noqa: S608
            + condition
        )
        order = " ORDER BY c.opened_ms DESC, c.id DESC"
        parameters = {**parameters, "@pk": partition, "@limit": wanted}
        if not query.words:
            return list(
                await self._search.query(select + order, parameters, partition_key=partition)
            )
        sql, word_parameters = words_query(query)
        matches = await self._search.query(
            sql, {**word_parameters, "@pk": partition}, partition_key=partition
        )
        candidates = conversations_with_every_word(matches, len(query.words))
        rows: list[dict[str, Any]] = []
        for start in range(0, len(candidates), IDS_PER_QUERY):
            rows += await self._search.query(
                select + " AND ARRAY_CONTAINS(@ids, c.id)" + order,
                {**parameters, "@ids": candidates[start : start + IDS_PER_QUERY]},
                partition_key=partition,
            )
        # Each slice came newest first; together, the newest `wanted` of them all.
        rows.sort(key=lambda row: (int(row["opened_ms"]), str(row["id"])), reverse=True)
        return rows[:wanted]

    async def reassign_conversations(
        self, from_customer_id: str, to_customer_id: str | None
    ) -> int:
        """An admin's merge or delete, off the hot path: the customer's conversations by one
        query across conversations' partitions (indexed /data/customer_id), each changed under
        its ETag, then its projection. A retry after a crash finds what is left."""
        found = await query_records(
            self._conversations,
            Conversation,
            "SELECT VALUE c.data FROM c WHERE c.type = 'conversation' "
            "AND c.data.customer_id = @customer",
            {"@customer": from_customer_id},
            partition_key=None,
        )
        changed = 0
        for conversation in found:

            def repoint(doc: Doc) -> Doc | None:
                current = load_record(Conversation, doc)
                if current.customer_id != from_customer_id:
                    return None
                moved = current.model_copy(update={"customer_id": to_customer_id})
                return {**doc, "data": model_json(moved)}

            written = await update(self._conversations, conversation.id, conversation.id, repoint)
            if written is not None:
                changed += 1
                await index_conversation(
                    self._search, self._opening_days, load_record(Conversation, written)
                )
        return changed
