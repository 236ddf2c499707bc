"""What every store adapter must do as a ConversationSearchStore: conversations found by
customer, number, whole words of their messages (notes only when asked), channel, queue, agent,
opening days and status, newest first and paged; a customer's conversations moved to another."""

from __future__ import annotations

from datetime import date, timedelta

from shared.domain.channels import ChannelKind
from shared.domain.conversations import ClosingReason, Conversation, ConversationStatus
from shared.domain.search import (
    ConversationQuery,
    SearchPosition,
    agent_party,
    queue_party,
    search_words,
)
from shared.domain.work import WorkItem
from shared.ports import Store
from tests.contract.builders import T0, agent, conversation, item, message

FIRST = T0.date() - timedelta(days=10)
LAST = T0.date() + timedelta(days=10)


def query(**criteria: object) -> ConversationQuery:
    fields: dict[str, object] = {"opened_from": FIRST, "opened_to": LAST}
    fields.update(criteria)
    return ConversationQuery.model_validate(fields)


async def found(store: Store, limit: int = 50, **criteria: object) -> list[str]:
    hits = await store.search_conversations(query(**criteria), after=None, limit=limit)
    return [hit.conversation.id for hit in hits]


async def opened(
    store: Store, number: str, *, days: int, customer: str | None = None, **kw: object
) -> Conversation:
    candidate = conversation(number).model_copy(
        update={"opened_at": T0 + timedelta(days=days), "customer_id": customer, **kw}
    )
    stored, created = await store.open_conversation(candidate)
    assert created
    return stored


async def test_words_of_messages_find_their_conversation_whole_word_and_accents_aside(
    store: Store,
) -> None:
    order = await opened(store, "+14155550101", days=0)
    refund = await opened(store, "+14155550102", days=1)
    await store.append_message(message(order.id, "Where is my order? It's late."))
    await store.append_message(message(order.id, "Le café est arrivé froid"))
    await store.append_message(message(refund.id, "I want a refund for the ORDERS"))
    assert await found(store, words=search_words("order")) == [order.id]
    assert await found(store, words=search_words("orders")) == [refund.id]
    assert await found(store, words=search_words("CAFE arrive")) == [order.id]
    # Every word in some message of the conversation, not necessarily the same one.
    assert await found(store, words=search_words("late froid")) == [order.id]
    assert await found(store, words=search_words("late refund")) == []
    assert await found(store, words=search_words("ord")) == []  # whole words only


async def test_internal_notes_are_searched_only_when_asked(store: Store) -> None:
    noted = await opened(store, "+14155550101", days=0)
    await store.append_message(message(noted.id, "Hello there"))
    await store.append_message(
        message(noted.id, "VIP customer, escalate", internal=True, status=None)
    )
    assert await found(store, words=search_words("escalate")) == []
    assert await found(store, words=search_words("escalate"), include_notes=True) == [noted.id]
    assert await found(store, words=search_words("hello"), include_notes=True) == [noted.id]


async def test_criteria_combine_and_results_come_newest_first(store: Store) -> None:
    old = await opened(store, "+14155550101", days=-2, customer="ada")
    new = await opened(store, "+14155550101", days=0, customer="ada", channel_id="sms-2")
    chat = await opened(
        store, "visitor:abc", days=1, customer="grace", channel=ChannelKind.CHAT, channel_id="c"
    )
    await store.close_conversation(old.id, T0, ClosingReason.HANDLED)
    assert await found(store) == [chat.id, new.id, old.id]
    assert await found(store, customer_id="ada") == [new.id, old.id]
    assert await found(store, number="+14155550101") == [new.id, old.id]
    assert await found(store, channel=ChannelKind.CHAT) == [chat.id]
    assert await found(store, status=ConversationStatus.CLOSED) == [old.id]
    assert await found(store, status=ConversationStatus.OPEN, customer_id="ada") == [new.id]
    days = T0.date()
    assert await found(store, opened_from=days, opened_to=days) == [new.id]
    assert await found(store, opened_from=days - timedelta(days=5), opened_to=days) == [
        new.id,
        old.id,
    ]


async def test_pages_resume_after_the_last_hit(store: Store) -> None:
    made = [await opened(store, f"+1415555010{n}", days=n % 3) for n in range(7)]
    expected = [c.id for c in sorted(made, key=lambda c: (c.opened_at, c.id), reverse=True)]
    seen: list[str] = []
    after: SearchPosition | None = None
    while True:
        hits = await store.search_conversations(query(), after=after, limit=3)
        seen += [hit.conversation.id for hit in hits]
        if len(hits) < 3:
            break
        after = hits[-1].position
    assert seen == expected


async def held(store: Store, conversation_id: str, queue: str, agent_id: str) -> WorkItem:
    created, _ = await store.create_work_item(item(conversation_id, queue=queue))
    assigned = await store.assign(created.id, agent_id, T0)
    assert assigned is not None
    return assigned


async def test_queues_and_agents_are_every_one_its_work_had(store: Store) -> None:
    await agent(store, "a1", queues=("q1",))
    await agent(store, "a2", queues=("q2",))
    first = await opened(store, "+14155550101", days=0)
    second = await opened(store, "+14155550102", days=1)
    waiting = await opened(store, "+14155550103", days=2)
    one = await held(store, first.id, "q1", "a1")
    await store.transfer_to_agent(one.id, "a1", "a2", T0)
    two = await held(store, second.id, "q1", "a1")
    await store.transfer_to_queue(two.id, "a1", "q2", T0)
    await store.create_work_item(item(waiting.id, queue="q2"))
    offered, _ = await store.create_work_item(item((await opened(store, "+1415555", days=3)).id))
    await store.assign(offered.id, "a2", T0, offer_until=T0 + timedelta(minutes=1))

    assert await found(store, agent_id="a1") == [second.id, first.id]
    assert await found(store, agent_id="a2") == [first.id]  # an offer is not holding it
    assert await found(store, queue_id="q2") == [waiting.id, second.id]
    assert await found(store, visible_to=(agent_party("a2"),)) == [first.id]
    assert await found(store, visible_to=(agent_party("a2"), queue_party("q2"))) == [
        waiting.id,
        second.id,
        first.id,
    ]
    assert await found(store, visible_to=()) == []


async def test_a_customers_conversations_move_to_another(store: Store) -> None:
    mine = await opened(store, "+14155550101", days=0, customer="old")
    other = await opened(store, "+14155550102", days=1, customer="someone")
    assert await store.reassign_conversations("old", "new") == 1
    assert await store.reassign_conversations("old", "new") == 0
    moved = await store.get_conversation(mine.id)
    assert moved is not None and moved.customer_id == "new"
    assert await found(store, customer_id="new") == [mine.id]
    assert await found(store, customer_id="old") == []
    assert await store.reassign_conversations("new", None) == 1
    assert await found(store, customer_id="new") == []
    assert await found(store) == [other.id, mine.id]


def test_the_range_is_read_newest_day_first() -> None:
    ranged = query(opened_from=date(2026, 11, 1), opened_to=date(2026, 11, 3))
    assert ranged.days_newest_first() == [date(2026, 11, 3), date(2026, 11, 2), date(2026, 11, 1)]
