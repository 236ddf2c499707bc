"""What every store adapter must do as a ConversationStore: one open conversation per customer,
messages stored once, delivery, sentiment, typing."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from shared.domain.conversations import (
    ClosingReason,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    SenderKind,
    TypingParty,
)
from shared.domain.message_ids import new_message_id
from shared.domain.search import ConversationQuery
from shared.domain.sentiment import Sentiment, SentimentLabel, roll
from shared.ports import SentimentUpdate, Store
from tests.contract.builders import T0, agent, conversation, item, message
from tests.contract.conftest import StoreFactory


async def test_one_open_conversation_per_channel_and_customer(store: Store) -> None:
    first, created = await store.open_conversation(conversation())
    again, created_again = await store.open_conversation(conversation())
    other_channel, other_created = await store.open_conversation(conversation(channel_id="sms-2"))
    assert created and not created_again and other_created
    assert again.id == first.id
    assert other_channel.id != first.id
    assert await store.get_conversation(first.id) == first


async def test_racing_openers_share_one_conversation(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    """Invariant 9, with separate connections as separate processes would have."""
    async with store_factory(tmp_path) as one, store_factory(tmp_path) as two:
        results = await asyncio.gather(
            *(s.open_conversation(conversation()) for s in (one, two) * 10)
        )
    assert len({c.id for c, _ in results}) == 1
    assert sum(created for _, created in results) == 1


async def test_messages_are_numbered_in_append_order(store: Store) -> None:
    conv, _ = await store.open_conversation(conversation())
    for text in ("one", "two", "three"):
        await store.append_message(message(conv.id, text))
    listed = await store.list_messages(conv.id, include_internal=True)
    assert [(m.sequence, m.text) for m in listed] == [(1, "one"), (2, "two"), (3, "three")]
    later = await store.list_messages(conv.id, after_sequence=1, include_internal=True)
    assert [m.text for m in later] == ["two", "three"]


async def test_a_provider_message_is_stored_once(store: Store) -> None:
    conv, _ = await store.open_conversation(conversation())
    first = await store.append_message(message(conv.id, "hi", "twilio:SM1"))
    retry = await store.append_message(message(conv.id, "hi", "twilio:SM1"))
    assert first is not None and first.sequence == 1
    assert retry is None
    assert len(await store.list_messages(conv.id, include_internal=True)) == 1


async def test_concurrent_retries_of_one_provider_message_store_one(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    """Invariant 3 at the store: five deliveries at once, one stored message."""
    async with store_factory(tmp_path) as one, store_factory(tmp_path) as two:
        conv, _ = await one.open_conversation(conversation())
        results = await asyncio.gather(
            *(
                s.append_message(message(conv.id, "hi", "twilio:SMX"))
                for s in (one, two, one, two, one)
            )
        )
        assert sum(r is not None for r in results) == 1
        assert len(await one.list_messages(conv.id, include_internal=True)) == 1


async def test_internal_notes_are_left_out_on_request(store: Store) -> None:
    conv, _ = await store.open_conversation(conversation())
    await store.append_message(message(conv.id, "customer"))
    await store.append_message(
        message(
            conv.id,
            "note",
            direction=Direction.OUTBOUND,
            sender=SenderKind.AGENT,
            internal=True,
            status=None,
        )
    )
    visible = await store.list_messages(conv.id, include_internal=False)
    assert [m.text for m in visible] == ["customer"]
    assert len(await store.list_messages(conv.id, include_internal=True)) == 2


async def test_delivery_status_updates_the_message(store: Store) -> None:
    conv, _ = await store.open_conversation(conversation())
    stored = await store.append_message(message(conv.id, "reply", status=DeliveryStatus.QUEUED))
    assert stored is not None
    updated = await store.set_message_delivery(stored.id, DeliveryStatus.SENT, "SBabc")
    assert updated is not None
    assert (updated.status, updated.provider_message_id) == (DeliveryStatus.SENT, "SBabc")
    assert await store.get_message(stored.id) == updated
    assert await store.set_message_delivery("missing", DeliveryStatus.SENT, None) is None


async def test_a_message_id_is_stored_once(store: Store) -> None:
    conv, _ = await store.open_conversation(conversation())
    first = message(conv.id, "bulk")
    assert await store.append_message(first) is not None
    assert await store.append_message(first) is None
    assert len(await store.list_messages(conv.id, include_internal=True)) == 1


async def test_a_message_id_naming_its_conversation_is_stored_once(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    """Ids of the shape new_message_id makes carry no claim on Cosmos DB: their uniqueness is
    the id's within the conversation's partition. Four writers at once store it once; a later
    message with that id and another provider id is not stored either."""
    async with store_factory(tmp_path) as one, store_factory(tmp_path) as two:
        conv, _ = await one.open_conversation(conversation())
        reply = message(conv.id, "reply", id=new_message_id(conv.id), status=DeliveryStatus.QUEUED)
        results = await asyncio.gather(*(s.append_message(reply) for s in (one, two, one, two)))
        stored = [r for r in results if r is not None]
        assert len(stored) == 1 and stored[0].sequence == 1
        assert await two.get_message(reply.id) == stored[0]
        again = message(conv.id, "again", "twilio:SMsame-id", id=reply.id)
        assert await one.append_message(again) is None
        assert await one.list_messages(conv.id, include_internal=True) == stored
        # The provider id of the message not stored stays free for the message that has it.
        other = message(conv.id, "other", "twilio:SMsame-id", id=new_message_id(conv.id))
        assert await two.append_message(other) is not None
        delivered = await one.set_message_delivery(reply.id, DeliveryStatus.SENT, "twilio:SMr")
        assert delivered is not None and delivered.status == DeliveryStatus.SENT
        assert await two.get_message(reply.id) == delivered


async def test_messages_are_found_by_provider_id_and_keep_the_failure_reason(store: Store) -> None:
    conv, _ = await store.open_conversation(conversation())
    stored = await store.append_message(message(conv.id, "reply", status=DeliveryStatus.QUEUED))
    assert stored is not None
    await store.set_message_delivery(stored.id, DeliveryStatus.SENT, "twilio:SM9")
    found = await store.find_message_by_provider_id("twilio:SM9")
    assert found is not None and found.id == stored.id
    failed = await store.set_message_delivery(
        stored.id, DeliveryStatus.FAILED, None, "30003: Unreachable"
    )
    assert failed is not None
    assert (failed.status, failed.provider_message_id, failed.error) == (
        DeliveryStatus.FAILED,
        "twilio:SM9",
        "30003: Unreachable",
    )
    assert await store.find_message_by_provider_id("twilio:nope") is None


async def test_ongoing_conversations_list_by_cursor_with_their_open_work(store: Store) -> None:
    convs = sorted(
        [(await store.open_conversation(conversation(f"+1415555020{n}")))[0] for n in range(3)],
        key=lambda c: c.id,
    )
    await agent(store)
    held, _ = await store.create_work_item(item(convs[0].id))
    assigned = await store.assign(held.id, "a1", T0)
    done, _ = await store.create_work_item(item(convs[2].id))
    await store.close_work_item(done.id, T0 + timedelta(minutes=1))
    first = await store.list_ongoing_conversations(after=None, limit=2)
    rest = await store.list_ongoing_conversations(after=first[-1].conversation.id, limit=2)
    assert [(s.conversation, s.item) for s in [*first, *rest]] == [
        (convs[0], assigned),
        (convs[1], None),
        (convs[2], None),
    ]


async def test_a_customers_conversations_open_and_closed_list_by_cursor(store: Store) -> None:
    """History by customer: every conversation identified as theirs, whatever its status."""
    ada = [
        (
            await store.open_conversation(
                conversation(f"+1415555030{n}").model_copy(update={"customer_id": "cust-ada"})
            )
        )[0]
        for n in range(3)
    ]
    await store.open_conversation(
        conversation("+14155550309").model_copy(update={"customer_id": "cust-bob"})
    )
    closed = await store.close_conversation(ada[1].id, T0, ClosingReason.HANDLED)
    assert closed is not None
    first = await store.customer_conversations("cust-ada", after=None, limit=2)
    rest = await store.customer_conversations("cust-ada", after=first[-1].id, limit=2)
    expected = sorted([ada[0], closed, ada[2]], key=lambda c: c.id)
    assert [*first, *rest] == expected
    assert await store.customer_conversations("cust-nobody", after=None, limit=5) == []


async def test_an_agent_identifies_the_customer_among_the_candidates(store: Store) -> None:
    """The conversation becomes the chosen customer's: in its history, candidates cleared."""
    conv, _ = await store.open_conversation(
        conversation("+14155550310").model_copy(
            update={"customer_candidates": ("cust-ada", "cust-ann")}
        )
    )
    identified = await store.identify_customer(conv.id, "cust-ann")
    assert identified is not None
    assert (identified.customer_id, identified.customer_candidates) == ("cust-ann", ())
    assert await store.get_conversation(conv.id) == identified
    assert await store.customer_conversations("cust-ann", after=None, limit=5) == [identified]
    # Searches by customer find it under the chosen one (the stores' search projections).
    query = ConversationQuery(customer_id="cust-ann", opened_from=T0.date(), opened_to=T0.date())
    found = await store.search_conversations(query, after=None, limit=5)
    assert [hit.conversation.id for hit in found] == [conv.id]
    assert await store.identify_customer("no-such-conversation", "cust-ann") is None


async def test_conversations_are_read_by_the_list_in_the_order_asked(store: Store) -> None:
    convs = [(await store.open_conversation(conversation(f"+1415555040{n}")))[0] for n in range(3)]
    asked = [convs[2].id, "missing", convs[0].id, convs[2].id]
    assert await store.get_conversations(asked) == [convs[2], convs[0]]
    assert await store.get_conversations([]) == []


async def test_a_conversations_rolling_sentiment_changes_atomically(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    async with store_factory(tmp_path) as one, store_factory(tmp_path) as two:
        conv, _ = await one.open_conversation(conversation())
        await one.create_work_item(item(conv.id))

        def fold(sequence: int) -> SentimentUpdate:
            return lambda previous: roll(
                previous, sequence, Sentiment(score=0.5, label=SentimentLabel.POSITIVE)
            )

        # Two writers folding different messages at once: both count, neither is lost.
        await asyncio.gather(
            one.change_conversation_sentiment(conv.id, fold(1)),
            two.change_conversation_sentiment(conv.id, fold(2)),
        )
        stored = await one.get_conversation(conv.id)
        assert stored is not None and stored.sentiment is not None
        assert stored.sentiment.messages in (1, 2)  # the older one may come second: skipped
        assert stored.sentiment.last_sequence == 2
        # A change that returns None leaves everything as it is, work pointer included.
        unchanged = await one.change_conversation_sentiment(conv.id, lambda previous: None)
        assert unchanged == stored
        assert (await one.open_work_item(conv.id)) is not None
        listed = await one.list_ongoing_conversations(after=None, limit=10)
        assert [s.conversation.sentiment for s in listed] == [stored.sentiment]


async def test_sentiment_of_an_unknown_conversation_is_none(store: Store) -> None:
    assert await store.change_conversation_sentiment("nope", lambda previous: None) is None


async def test_typing_shows_until_it_expires_or_stops(store: Store) -> None:
    conv, _ = await store.open_conversation(conversation())
    assert await store.typing(conv.id, T0) == frozenset()
    await store.set_typing(conv.id, TypingParty.CUSTOMER, T0 + timedelta(seconds=6))
    await store.set_typing(conv.id, TypingParty.AGENT, T0 + timedelta(seconds=3))
    both = frozenset({TypingParty.CUSTOMER, TypingParty.AGENT})
    assert await store.typing(conv.id, T0 + timedelta(seconds=1)) == both
    assert await store.typing(conv.id, T0 + timedelta(seconds=3)) == {TypingParty.CUSTOMER}
    assert await store.typing(conv.id, T0 + timedelta(seconds=6)) == frozenset()
    # Typing again extends it; stopping (an instant past) ends it at once.
    await store.set_typing(conv.id, TypingParty.AGENT, T0 + timedelta(seconds=9))
    assert await store.typing(conv.id, T0 + timedelta(seconds=8)) == {TypingParty.AGENT}
    await store.set_typing(conv.id, TypingParty.AGENT, T0 + timedelta(seconds=2))
    assert await store.typing(conv.id, T0 + timedelta(seconds=2)) == {TypingParty.CUSTOMER}
    other, _ = await store.open_conversation(conversation("+14155550177"))
    assert await store.typing(other.id, T0) == frozenset()  # a conversation's own


# --- the lifecycle (issue 15): close, reopen within the window, else a new conversation -------


async def test_a_closed_conversation_stores_when_and_why_and_leaves_the_ongoing_list(
    store: Store,
) -> None:
    conv, _ = await store.open_conversation(conversation())
    closed = await store.close_conversation(
        conv.id, T0 + timedelta(minutes=5), ClosingReason.HANDLED
    )
    assert closed is not None
    assert closed.status == ConversationStatus.CLOSED
    assert closed.closed_at == T0 + timedelta(minutes=5)
    assert closed.closing_reason == ClosingReason.HANDLED
    assert await store.get_conversation(conv.id) == closed
    assert await store.list_ongoing_conversations(after=None, limit=10) == []


async def test_closing_twice_or_an_unknown_conversation_changes_nothing(store: Store) -> None:
    conv, _ = await store.open_conversation(conversation())
    first = await store.close_conversation(conv.id, T0, ClosingReason.ABANDONED)
    again = await store.close_conversation(conv.id, T0 + timedelta(hours=1), ClosingReason.HANDLED)
    assert first is not None and again is None
    assert await store.get_conversation(conv.id) == first
    assert await store.close_conversation("nope", T0, ClosingReason.HANDLED) is None


async def test_after_a_close_the_customer_opens_a_new_conversation(store: Store) -> None:
    conv, _ = await store.open_conversation(conversation())
    await store.close_conversation(conv.id, T0, ClosingReason.HANDLED)
    without_window, created = await store.open_conversation(conversation())
    assert created and without_window.id != conv.id
    old = await store.get_conversation(conv.id)
    assert old is not None and old.status == ConversationStatus.CLOSED


async def test_within_the_reopen_window_the_same_conversation_reopens(store: Store) -> None:
    conv, _ = await store.open_conversation(conversation())
    closed_at = T0 + timedelta(minutes=10)
    await store.close_conversation(conv.id, closed_at, ClosingReason.HANDLED)
    back = conversation().model_copy(update={"opened_at": closed_at + timedelta(minutes=2)})
    reopened, created = await store.open_conversation(
        back, reopen_closed_since=back.opened_at - timedelta(minutes=5)
    )
    assert not created and reopened.id == conv.id
    assert reopened.status == ConversationStatus.OPEN
    assert reopened.closed_at is None and reopened.closing_reason is None
    assert reopened.reopened_at == back.opened_at
    assert await store.get_conversation(conv.id) == reopened
    listed = await store.list_ongoing_conversations(after=None, limit=10)
    assert [state.conversation.id for state in listed] == [conv.id]


async def test_past_the_reopen_window_a_new_conversation_opens(store: Store) -> None:
    conv, _ = await store.open_conversation(conversation())
    await store.close_conversation(conv.id, T0, ClosingReason.HANDLED)
    late = conversation().model_copy(update={"opened_at": T0 + timedelta(minutes=6)})
    fresh, created = await store.open_conversation(
        late, reopen_closed_since=late.opened_at - timedelta(minutes=5)
    )
    assert created and fresh.id == late.id


async def test_racing_openers_after_a_close_reopen_one_conversation(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    """Invariant 9 through a reopen: every racer gets the one reopened conversation."""
    async with store_factory(tmp_path) as one, store_factory(tmp_path) as two:
        conv, _ = await one.open_conversation(conversation())
        await one.close_conversation(conv.id, T0, ClosingReason.HANDLED)
        results = await asyncio.gather(
            *(
                s.open_conversation(conversation(), reopen_closed_since=T0 - timedelta(minutes=5))
                for s in (one, two) * 5
            )
        )
    assert {c.id for c, _ in results} == {conv.id}
    assert not any(created for _, created in results)


async def test_an_agent_reopens_a_closed_conversation_unless_the_customer_has_another(
    store: Store,
) -> None:
    conv, _ = await store.open_conversation(conversation())
    assert await store.reopen_conversation(conv.id, T0) is None  # open: nothing to reopen
    await store.close_conversation(conv.id, T0, ClosingReason.HANDLED)
    reopened = await store.reopen_conversation(conv.id, T0 + timedelta(minutes=1))
    assert reopened is not None and reopened.status == ConversationStatus.OPEN
    assert reopened.reopened_at == T0 + timedelta(minutes=1)
    again, created = await store.open_conversation(conversation())
    assert not created and again.id == conv.id

    await store.close_conversation(conv.id, T0 + timedelta(minutes=2), ClosingReason.HANDLED)
    newer, created = await store.open_conversation(conversation())
    assert created and newer.id != conv.id
    assert await store.reopen_conversation(conv.id, T0 + timedelta(minutes=3)) is None
    assert (await store.get_conversation(conv.id)).status == ConversationStatus.CLOSED  # type: ignore[union-attr]
    assert await store.reopen_conversation("nope", T0) is None


async def test_closing_keeps_the_rolling_sentiment(store: Store) -> None:
    conv, _ = await store.open_conversation(conversation())
    scored = Sentiment(label=SentimentLabel.NEGATIVE, score=-0.6)
    await store.change_conversation_sentiment(conv.id, lambda previous: roll(previous, 1, scored))
    await store.close_conversation(conv.id, T0, ClosingReason.AUTO_CLOSED)
    stored = await store.get_conversation(conv.id)
    assert stored is not None and stored.sentiment is not None
    assert stored.closing_reason == ClosingReason.AUTO_CLOSED
