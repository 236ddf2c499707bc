"""Keeping the `search` container's projection of each conversation current (layout.SEARCH).

Every writer of what a search filters on calls in here after its own write: the conversation
opened, closed or reopened, or given another customer; a message stored; a work item waiting in
a queue or held by an agent. All of a conversation's documents live in its opening day's
partition:

- the projection, one per conversation (id = the conversation's): its fields and its parties
  (queue_ids, agent_ids), sets that only grow, each change one ETag read-modify-write, skipped
  when nothing is new (the read saved when this instance wrote it last: OpeningDays). It is
  created before the conversation's document, so no conversation exists without it;
- a words document per message (id = the message's): its words (or, for an internal note,
  note_words), created once and never changed. A create is about half a replace, needs no read
  first, and does not grow with the conversation the way a replaced word set does.

A crash between a message and its words document leaves that message unfound until the message
is written again (a redelivery or retry of the same message creates the missing document); a
crash between an item change and its party leaves the party out until the item's next indexed
change, which adds its queue again (a search is an agent's aid, not a guarantee the routing
depends on).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from azure.cosmos import exceptions

from shared.adapters.cosmos import layout
from shared.adapters.cosmos.documents import Doc, create_if_absent, read_or_none, update
from shared.adapters.cosmos.layout import document
from shared.adapters.cosmos.metrics import MeteredContainer
from shared.domain.conversations import Conversation, Message
from shared.domain.search import (
    agent_party,
    epoch_ms,
    opening_day,
    queue_party,
    search_words,
)
from shared.domain.work import AGENT_WORKING, WorkItem

PROJECTION = "conversation-search"
WORDS = "search-words"
"""The two kinds of document (`type`) in the search container."""

ARRAYS = ("queue_ids", "agent_ids")
"""The projection's growing sets: parties (queue:<id>, agent:<id>), so an agent's scope is one
set of values to look for in either."""


def search_partition(conversation: Conversation) -> str:
    return layout.search_day_key(opening_day(conversation))


def conversation_fields(conversation: Conversation) -> dict[str, Any]:
    return {
        "opened_ms": epoch_ms(conversation.opened_at),
        "customer_id": conversation.customer_id,
        "customer_address": conversation.customer_address,
        "channel": str(conversation.channel),
        "status": str(conversation.status),
    }


class OpeningDays:
    """Conversation id -> its projection's partition, for the conversations this instance met,
    and the projection as this instance last wrote it. A conversation's opening day never
    changes, so a remembered one is never stale; it saves the point read of the conversation
    each message and item change would otherwise make to find the partition. The projection
    written may be stale; adding to its sets starts from it (ETag), which saves the point read
    of the projection when no other instance wrote it since (the common case: ingest creates
    it, then adds the queue), and costs a failed replace (412, ~1 RU) and the read when one
    did. Bounded: the oldest are forgotten first."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._partitions: OrderedDict[str, str] = OrderedDict()
        self._written: dict[str, Doc] = {}

    def remember(self, conversation: Conversation) -> str:
        partition = search_partition(conversation)
        self._partitions[conversation.id] = partition
        self._partitions.move_to_end(conversation.id)
        while len(self._partitions) > self._size:
            forgotten, _ = self._partitions.popitem(last=False)
            self._written.pop(forgotten, None)
        return partition

    def partition(self, conversation_id: str) -> str | None:
        return self._partitions.get(conversation_id)

    def wrote(self, projection: Doc) -> None:
        """The projection as a create or replace answered it (with its ETag)."""
        if str(projection["id"]) in self._partitions:
            self._written[str(projection["id"])] = projection

    def last_written(self, conversation_id: str) -> Doc | None:
        return self._written.get(conversation_id)

    def forget_written(self, conversation_id: str) -> None:
        self._written.pop(conversation_id, None)


def projection_document(conversation: Conversation, partition: str) -> Doc:
    return {
        **document(conversation.id, partition, PROJECTION),
        **conversation_fields(conversation),
        **{name: [] for name in ARRAYS},
    }


async def index_opened(
    search: MeteredContainer, days: OpeningDays, conversation: Conversation
) -> None:
    """The projection of a conversation about to be written: a create, no read first (a new
    conversation has none). Found (a retry, or a conversation written again): brought up to
    date instead."""
    partition = days.remember(conversation)
    try:
        created = await search.create(projection_document(conversation, partition))
    except exceptions.CosmosResourceExistsError:
        await index_conversation(search, days, conversation)
        return
    days.wrote(created)


async def index_conversation(
    search: MeteredContainer, days: OpeningDays, conversation: Conversation
) -> None:
    """The projection's conversation fields as the conversation now is."""
    fields = conversation_fields(conversation)

    def refresh(doc: Doc) -> Doc | None:
        if all(doc.get(name) == value for name, value in fields.items()):
            return None
        return {**doc, **fields}

    async def known() -> Conversation:
        return conversation

    # Read fresh: another instance may have changed these fields since this one wrote them
    # (a close, a reopen), and a stale copy could find nothing to write.
    days.forget_written(conversation.id)
    await _change(search, days, conversation.id, days.remember(conversation), refresh, {}, known)


async def index_message(
    conversations: MeteredContainer, search: MeteredContainer, days: OpeningDays, message: Message
) -> None:
    """The message's words document: created once (a second call finds it, ~1 RU)."""
    words = search_words(message.text)
    if not words:
        return
    partition = days.partition(message.conversation_id)
    if partition is None:
        conversation = await _conversation(conversations, message.conversation_id)
        if conversation is None:
            return
        partition = days.remember(conversation)
    await create_if_absent(
        search,
        {
            **document(message.id, partition, WORDS),
            "conversation_id": message.conversation_id,
            ("note_words" if message.internal else "words"): list(words),
        },
    )


async def index_work(
    conversations: MeteredContainer,
    search: MeteredContainer,
    days: OpeningDays,
    item: WorkItem | None,
) -> None:
    """The queue the item waits or waited in, and its agent once it holds it."""
    if item is None:
        return
    additions = {"queue_ids": [queue_party(item.queue_id)]}
    if item.agent_id is not None and item.status in AGENT_WORKING:
        additions["agent_ids"] = [agent_party(item.agent_id)]
    await _add(conversations, search, days, item.conversation_id, additions)


async def _add(
    conversations: MeteredContainer,
    search: MeteredContainer,
    days: OpeningDays,
    conversation_id: str,
    additions: dict[str, list[str]],
) -> None:
    """Add values to the projection's sets (queue_ids, agent_ids)."""
    wanted = {name: list(dict.fromkeys(values)) for name, values in additions.items() if values}
    if not wanted:
        return

    def add(doc: Doc) -> Doc | None:
        changed = dict(doc)
        for name, values in wanted.items():
            have = list(doc.get(name) or [])
            known = set(have)
            missing = [value for value in values if value not in known]
            if missing:
                changed[name] = have + missing
        return changed if changed != doc else None

    async def load() -> Conversation | None:
        return await _conversation(conversations, conversation_id)

    partition = days.partition(conversation_id)
    if partition is None:
        conversation = await load()
        if conversation is None:
            return
        partition = days.remember(conversation)
    await _change(search, days, conversation_id, partition, add, wanted, load)


async def _change(
    search: MeteredContainer,
    days: OpeningDays,
    conversation_id: str,
    partition: str,
    change: Callable[[Doc], Doc | None],
    additions: Mapping[str, list[str]],
    load: Callable[[], Awaitable[Conversation | None]],
) -> None:
    """Change the projection, starting from the copy this instance last wrote if it has one
    (only sets that grow are changed from it: what it has, the stored one has too); a
    missing projection (written by an older version after its conversation, which a crash
    could leave out) is created from the conversation, with the additions."""
    while True:
        current = days.last_written(conversation_id)
        if current is None:
            current = await read_or_none(search, conversation_id, partition)
        if current is not None:
            try:
                written = await update(search, conversation_id, partition, change, read=current)
            except exceptions.CosmosResourceNotFoundError:
                days.forget_written(conversation_id)  # (never deleted today)
                continue
            if written is not None:
                days.wrote(written)
            return
        conversation = await load()
        if conversation is None:
            return
        fresh = projection_document(conversation, partition)
        fresh |= {name: list(additions.get(name, [])) for name in ARRAYS}
        if await create_if_absent(search, fresh):
            return


async def _conversation(
    conversations: MeteredContainer, conversation_id: str
) -> Conversation | None:
    doc = await read_or_none(conversations, conversation_id, conversation_id)
    return None if doc is None else Conversation.model_validate(doc["data"])
