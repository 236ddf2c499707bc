"""What only the Cosmos store's search projection has (shared/adapters/cosmos/search_index.py):
what each writer adds to the `search` container, and how a crash between a record and its
search documents heals. What a search finds is the contract suite's
(test_conversation_search.py), on both stores."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from shared.adapters.cosmos import layout
from shared.adapters.cosmos import search as search_module
from shared.adapters.cosmos.metrics import OperationKind
from shared.adapters.cosmos.store import CosmosStore
from shared.domain.conversations import ClosingReason, Conversation, ConversationStatus
from shared.domain.message_ids import new_message_id
from shared.domain.search import ConversationQuery, opening_day, search_words
from tests.contract.builders import T0, agent, conversation, item, message
from tests.contract.conftest import cosmos_store


async def found(store: CosmosStore, **criteria: object) -> list[str]:
    query = ConversationQuery.model_validate(
        {"opened_from": T0.date() - timedelta(days=1), "opened_to": T0.date(), **criteria}
    )
    return [h.conversation.id for h in await store.search_conversations(query, after=None, limit=9)]


def day(conversation: Conversation) -> str:
    return layout.search_day_key(opening_day(conversation))


async def test_a_conversation_is_searchable_from_its_opening_with_one_create(
    tmp_path: Path,
) -> None:
    async with cosmos_store(tmp_path) as store:
        store.metrics.reset()
        opened, created = await store.open_conversation(conversation())
        assert created
        operations = store.metrics.snapshot().operations
        # The claim's read (404) and create, the projection's and the conversation's creates:
        # no read of a projection a new conversation cannot have.
        assert operations == {OperationKind.POINT_READ: 1, OperationKind.CREATE: 3}
        assert await found(store) == [opened.id]


async def test_a_messages_words_are_one_created_document_never_a_rewrite(tmp_path: Path) -> None:
    async with cosmos_store(tmp_path) as store:
        opened, _ = await store.open_conversation(conversation())
        # Ids of the shape ingest and replies give (no `message:` claim to write).
        first = message(opened.id, "Where is my order?", id=new_message_id(opened.id))
        await store.append_message(first)
        store.metrics.reset()
        await store.append_message(
            message(opened.id, "It was due yesterday", id=new_message_id(opened.id))
        )
        written = store.metrics.snapshot()
        assert written.count(OperationKind.CREATE) == 2  # the message, its words
        assert written.count(OperationKind.REPLACE) == 0
        words = await store._search.read(first.id, day(opened))
        assert words["conversation_id"] == opened.id
        assert words["words"] == list(search_words("Where is my order?"))
        # Words of different messages of one conversation find it together.
        assert await found(store, words=search_words("order yesterday")) == [opened.id]
        # A message without words (an attachment alone) writes none.
        store.metrics.reset()
        await store.append_message(message(opened.id, " ... ", id=new_message_id(opened.id)))
        assert store.metrics.snapshot().count(OperationKind.CREATE) == 1


async def test_a_retried_message_writes_the_words_a_crash_left_out(tmp_path: Path) -> None:
    async with cosmos_store(tmp_path) as store:
        opened, _ = await store.open_conversation(conversation())
        sms = message(opened.id, "refund please", provider_id="twilio:SM1")
        await store.append_message(sms)
        # As if the process had died between the message and its words document.
        await store._search.delete(sms.id, day(opened))
        assert await found(store, words=search_words("refund")) == []

        assert await store.append_message(sms) is None  # the provider's redelivery
        assert await found(store, words=search_words("refund")) == [opened.id]


class ProcessDied(BaseException):
    """The process stops here: no except clause of the adapter runs, as in a real crash."""


async def test_a_crash_before_the_conversation_leaves_it_unfound_until_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The projection is written before the conversation's document: a crash between the two
    leaves a projection that finds nothing until the address's next message writes the
    conversation, never a conversation search cannot find."""
    async with cosmos_store(tmp_path) as store:
        candidate = conversation()

        async def process_dies(*args: object) -> None:
            raise ProcessDied

        with monkeypatch.context() as crash:
            crash.setattr(store._conversations, "create", process_dies)
            with pytest.raises(ProcessDied):
                await store.open_conversation(candidate)
        assert await store._search.read(candidate.id, day(candidate))  # written first
        assert await store.get_conversation(candidate.id) is None
        assert await found(store) == []

        again, created = await store.open_conversation(conversation())
        assert (again.id, created) == (candidate.id, False)
        assert await found(store) == [candidate.id]


async def test_a_projection_written_with_its_words_on_it_is_still_found(tmp_path: Path) -> None:
    """Projections written before words had their own documents carry them (`words`)."""
    async with cosmos_store(tmp_path) as store:
        opened, _ = await store.open_conversation(conversation())
        projection = await store._search.read(opened.id, day(opened))
        await store._search.replace(
            {**projection, "words": ["legacy"], "note_words": ["secret"]},
            etag=projection["_etag"],
            previous=projection,
        )
        assert await found(store, words=search_words("legacy")) == [opened.id]
        assert await found(store, words=search_words("secret")) == []
        assert await found(store, words=search_words("secret"), include_notes=True) == [opened.id]


async def test_the_queue_after_the_opening_is_added_without_reading_the_projection(
    tmp_path: Path,
) -> None:
    async with cosmos_store(tmp_path) as store:
        opened, _ = await store.open_conversation(conversation())
        store.metrics.reset()
        await store.create_work_item(item(opened.id, queue="q1"))
        # The item's pointer and item creates, its locator; the projection's replace starts
        # from the copy this instance created (its ETag), with no read of it.
        assert store.metrics.snapshot().count(OperationKind.POINT_READ) == 0
        assert await found(store, queue_id="q1") == [opened.id]


async def test_another_instances_writes_are_kept_whatever_copy_this_one_has(
    tmp_path: Path,
) -> None:
    async with cosmos_store(tmp_path) as first, cosmos_store(tmp_path) as second:
        await agent(first, "a1", queues=("q1",))
        opened, _ = await first.open_conversation(conversation())
        waiting, _ = await second.create_work_item(item(opened.id, queue="q1"))
        # `first` adds the agent from its stale copy (no queue on it): refused (412), read
        # again, and both parties are kept.
        assert await first.assign(waiting.id, "a1", T0) is not None
        for store in (first, second):
            assert await found(store, queue_id="q1") == [opened.id]
            assert await found(store, agent_id="a1") == [opened.id]

        # Fields that change back and forth are never written from a stale copy: closed by
        # `second`, reopened by `first`, which wrote it open last.
        await second.close_conversation(opened.id, T0, ClosingReason.HANDLED)
        assert await found(first, status=ConversationStatus.CLOSED) == [opened.id]
        assert await first.reopen_conversation(opened.id, T0) is not None
        assert await found(second, status=ConversationStatus.OPEN) == [opened.id]
        assert await found(second, status=ConversationStatus.CLOSED) == []


async def test_candidates_queried_in_slices_come_newest_first_and_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Words narrow a day to candidate conversations, asked for a few ids at a time: the
    slices' hits merge newest first, and pages resume after the last hit."""
    monkeypatch.setattr(search_module, "IDS_PER_QUERY", 2)
    async with cosmos_store(tmp_path) as store:
        made = []
        for n in range(7):
            candidate = conversation(f"+1415555020{n}").model_copy(
                update={"opened_at": T0 + timedelta(minutes=n % 4)}
            )
            opened, _ = await store.open_conversation(candidate)
            await store.append_message(message(opened.id, "parcel" if n != 3 else "other"))
            made.append(opened)
        expected = [
            c.id
            for c in sorted(made, key=lambda c: (c.opened_at, c.id), reverse=True)
            if c.id != made[3].id
        ]
        query = ConversationQuery(
            opened_from=T0.date(), opened_to=T0.date(), words=search_words("parcel")
        )
        seen: list[str] = []
        after = None
        while True:
            hits = await store.search_conversations(query, after=after, limit=4)
            seen += [hit.conversation.id for hit in hits]
            if len(hits) < 4:
                break
            after = hits[-1].position
        assert seen == expected
