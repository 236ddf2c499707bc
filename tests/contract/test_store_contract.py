"""What every Store adapter must do: the port's documented behaviour, invariants included."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.domain.figures import DayFigures, FigureScope
from shared.domain.message_ids import new_message_id
from shared.domain.models import (
    Agent,
    AgentState,
    AssignmentMethod,
    CandidateVerdict,
    Channel,
    ChannelKind,
    Conversation,
    Customer,
    DeliveryStatus,
    Direction,
    Message,
    Offer,
    OutboundJob,
    Presence,
    Queue,
    Recipient,
    RecipientState,
    RoutingDecision,
    RoutingRule,
    SenderKind,
    SentSms,
    Template,
    Transfer,
    TwilioAccount,
    TypingParty,
    WorkDistribution,
    WorkItem,
    WorkItemStatus,
    Workstream,
)
from shared.domain.presence import CustomPresence, PresenceSettings, PresenceSpan, PresenceState
from shared.domain.sentiment import Sentiment, SentimentLabel, SentimentSettings, roll
from shared.errors import Conflict
from shared.ports import SentimentUpdate, Store
from tests.contract.conftest import StoreFactory

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)

# Cosmos DB answers 404 to a read of an absent item, which the adapter reads as "none"; the
# local server answers 500. Tests that read a record that is not there meet it.
missing_read_gap = pytest.mark.cosmos_server_gap("a read of a missing item answers 500, not 404")


def conversation(customer: str = "+14155550101", *, channel_id: str = "sms-1") -> Conversation:
    return Conversation(
        id=uuid.uuid4().hex,
        channel=ChannelKind.SMS,
        channel_id=channel_id,
        workstream_id="ws",
        customer_address=customer,
        business_address="+12025550100",
        opened_at=T0,
    )


def message(
    conversation_id: str, text: str, provider_id: str | None = None, **kw: object
) -> Message:
    fields: dict[str, object] = {
        "id": uuid.uuid4().hex,
        "conversation_id": conversation_id,
        "direction": Direction.INBOUND,
        "sender": SenderKind.CUSTOMER,
        "text": text,
        "provider_message_id": provider_id,
        "status": DeliveryStatus.RECEIVED,
        "created_at": T0,
    }
    fields.update(kw)
    return Message.model_validate(fields)


def item(
    conversation_id: str, *, queue: str = "q1", priority: int = 0, age: int = 0, units: int = 1
) -> WorkItem:
    return WorkItem(
        id=uuid.uuid4().hex,
        conversation_id=conversation_id,
        workstream_id="ws",
        queue_id=queue,
        priority=priority,
        capacity_units=units,
        enqueued_at=T0 + timedelta(seconds=age),
    )


async def agent(
    store: Store, agent_id: str = "a1", *, capacity: int = 2, queues: tuple[str, ...] = ("q1",)
) -> Agent:
    created = Agent(
        id=agent_id,
        display_name=agent_id.upper(),
        queue_ids=queues,
        max_capacity=capacity,
        default_presence=Presence.AVAILABLE,
    )
    await store.put_agent(created)
    return created


async def waiting_item(store: Store, **kw: object) -> WorkItem:
    conv, _ = await store.open_conversation(conversation(f"+1415555{uuid.uuid4().int % 10**4:04d}"))
    created, _ = await store.create_work_item(item(conv.id, **kw))  # type: ignore[arg-type]
    return created


# --- configuration ----------------------------------------------------------------------------


@missing_read_gap
async def test_configuration_records_round_trip(store: Store) -> None:
    channel = Channel(
        id="sms-1",
        kind=ChannelKind.SMS,
        addresses=("+12025550100", "+12025550101"),
        account=TwilioAccount(account_sid="AC" + "1" * 32, auth_token="secret"),
        workstream_id="ws",
    )
    workstream = Workstream(id="ws", name="SMS", channel=ChannelKind.SMS, fallback_queue_id="q1")
    queue = Queue(id="q1", name="General")
    await store.put_channel(channel)
    await store.put_workstream(workstream)
    await store.put_queue(queue)
    assert await store.get_channel("sms-1") == channel
    assert await store.find_channel(ChannelKind.SMS, "+12025550100") == channel
    assert await store.find_channel(ChannelKind.SMS, "+12025550101") == channel
    assert await store.get_workstream("ws") == workstream
    assert await store.get_queue("q1") == queue
    assert await store.find_channel(ChannelKind.CHAT, "+12025550100") is None
    assert await store.get_queue("missing") is None


@missing_read_gap
async def test_a_number_belongs_to_one_channel(store: Store) -> None:
    first = Channel(id="a", kind=ChannelKind.SMS, addresses=("+12025550100",), workstream_id="ws")
    await store.put_channel(first)
    with pytest.raises(Conflict):
        await store.put_channel(first.model_copy(update={"id": "b"}))
    moved = first.model_copy(update={"addresses": ("+12025550111",)})
    await store.put_channel(moved)
    assert await store.find_channel(ChannelKind.SMS, "+12025550111") == moved
    # Reads of what is not there come last, so a store that cannot answer them (the local
    # Cosmos server) still runs the rest.
    assert await store.get_channel("b") is None
    assert await store.find_channel(ChannelKind.SMS, "+12025550100") is None


async def test_put_replaces_the_whole_record(store: Store) -> None:
    await store.put_queue(Queue(id="q1", name="Old"))
    await store.put_queue(Queue(id="q1", name="New", priority=3))
    assert await store.get_queue("q1") == Queue(id="q1", name="New", priority=3)


async def test_rules_come_back_in_order_for_their_workstream_only(store: Store) -> None:
    for order, rule_id in ((20, "second"), (10, "first")):
        await store.put_rule(
            RoutingRule(id=rule_id, workstream_id="ws", order=order, name=rule_id, queue_id="q1")
        )
    await store.put_rule(
        RoutingRule(id="other", workstream_id="ws2", order=1, name="o", queue_id="q1")
    )
    assert [r.id for r in await store.list_rules("ws")] == ["first", "second"]


async def test_customers_are_found_by_mobile_or_account_phone(store: Store) -> None:
    await store.put_customer(Customer(id="c1", display_name="Ada", mobile_phone="+14155550101"))
    await store.put_customer(Customer(id="c2", display_name="Acme", account_phone="+14155550199"))
    assert [c.id for c in await store.find_customers_by_phone("+14155550101")] == ["c1"]
    assert [c.id for c in await store.find_customers_by_phone("+14155550199")] == ["c2"]
    assert await store.find_customers_by_phone("+14155550000") == []


async def test_agent_membership_changes_with_its_record(store: Store) -> None:
    await agent(store, "a1", queues=("q1", "q2"))
    assert [s.agent.id for s in await store.queue_agents("q2")] == ["a1"]
    await agent(store, "a1", queues=("q1",))
    assert await store.queue_agents("q2") == []
    state = await store.agent_state("a1")
    assert state is not None
    assert (state.presence, state.used_capacity) == (Presence.AVAILABLE, 0)


async def test_presence_is_kept_when_the_agent_record_is_edited(store: Store) -> None:
    await agent(store)
    await store.set_presence("a1", Presence.AWAY)
    await agent(store, capacity=5)
    state = await store.agent_state("a1")
    assert state is not None
    assert state.presence == Presence.AWAY


# --- conversations and messages ---------------------------------------------------------------


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


@missing_read_gap
async def test_delivery_status_updates_the_message(store: Store) -> None:
    conv, _ = await store.open_conversation(conversation())
    stored = await store.append_message(message(conv.id, "reply", status=DeliveryStatus.QUEUED))
    assert stored is not None
    updated = await store.set_message_delivery(stored.id, DeliveryStatus.SENT, "SBabc")
    assert updated is not None
    assert (updated.status, updated.provider_message_id) == (DeliveryStatus.SENT, "SBabc")
    assert await store.get_message(stored.id) == updated
    assert await store.set_message_delivery("missing", DeliveryStatus.SENT, None) is None


# --- work items and assignment ----------------------------------------------------------------


async def test_a_conversation_has_one_unclosed_item(store: Store) -> None:
    conv, _ = await store.open_conversation(conversation())
    first, created = await store.create_work_item(item(conv.id))
    second, created_again = await store.create_work_item(item(conv.id))
    assert created and not created_again
    assert second == first
    assert await store.open_work_item(conv.id) == first
    assert await store.get_work_item(first.id) == first


async def test_waiting_items_come_by_priority_then_age(store: Store) -> None:
    old = await waiting_item(store, age=0)
    new = await waiting_item(store, age=10)
    urgent = await waiting_item(store, age=20, priority=5)
    await waiting_item(store, queue="q2")
    listed = await store.waiting_items("q1", limit=10)
    assert [i.id for i in listed] == [urgent.id, old.id, new.id]
    assert [i.id for i in await store.waiting_items("q1", limit=2)] == [urgent.id, old.id]
    assert set(await store.queues_with_waiting_items()) == {"q1", "q2"}


async def test_assign_gives_the_item_to_the_agent(store: Store) -> None:
    await agent(store)
    waiting = await waiting_item(store)
    assigned = await store.assign(waiting.id, "a1", T0)
    assert assigned is not None
    assert (assigned.status, assigned.agent_id, assigned.assigned_at) == (
        WorkItemStatus.ACTIVE,
        "a1",
        T0,
    )
    assert await store.agent_items("a1") == [assigned]
    assert await store.waiting_items("q1", limit=10) == []
    state = await store.agent_state("a1")
    assert state is not None
    assert (state.used_capacity, state.last_assigned_at) == (1, T0)


async def test_assign_refuses_past_capacity_and_changes_nothing(store: Store) -> None:
    await agent(store, capacity=2)
    big = await waiting_item(store, units=2)
    small = await waiting_item(store, units=1)
    assert await store.assign(big.id, "a1", T0) is not None
    assert await store.assign(small.id, "a1", T0) is None
    assert await store.get_work_item(small.id) == small


async def test_an_item_is_assigned_once(store: Store) -> None:
    await agent(store, "a1")
    await agent(store, "a2")
    waiting = await waiting_item(store)
    assert await store.assign(waiting.id, "a1", T0) is not None
    assert await store.assign(waiting.id, "a2", T0) is None
    assert await store.agent_items("a2") == []


async def test_concurrent_routers_never_exceed_capacity_or_double_assign(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    """Invariants 1 and 2: three routers race to give 12 items to three agents of capacity 2."""
    async with (
        store_factory(tmp_path) as one,
        store_factory(tmp_path) as two,
        store_factory(tmp_path) as three,
    ):
        for agent_id in ("a1", "a2", "a3"):
            await agent(one, agent_id, capacity=2)
        items = [await waiting_item(one) for _ in range(12)]
        attempts = [
            router.assign(i.id, agent_id, T0)
            for i in items
            for router, agent_id in zip((one, two, three), ("a1", "a2", "a3"), strict=True)
        ]
        results = [r for r in await asyncio.gather(*attempts) if r is not None]
        assert len(results) == 6
        assert len({r.id for r in results}) == 6
        for agent_id in ("a1", "a2", "a3"):
            state = await one.agent_state(agent_id)
            assert state is not None and state.used_capacity == 2


async def test_routers_racing_one_item_to_one_agent_leave_one_hold(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    """Two routers give the same item to the same agent at once: one wins, and the loser's
    undoing must not take the winner's capacity with it."""
    async with store_factory(tmp_path) as one, store_factory(tmp_path) as two:
        await agent(one, "a1", capacity=3)
        for _ in range(5):
            item = await waiting_item(one)
            results = await asyncio.gather(
                one.assign(item.id, "a1", T0), two.assign(item.id, "a1", T0)
            )
            assert len([r for r in results if r is not None]) <= 1
            stored = await one.get_work_item(item.id)
            assert stored is not None
            if stored.agent_id == "a1":
                assert [i.id for i in await one.agent_items("a1")] == [item.id]
                await one.close_work_item(item.id, T0)
        state = await one.agent_state("a1")
        assert state is not None and state.used_capacity == 0


# --- sandbox outbox ---------------------------------------------------------------------------


async def test_sent_sms_are_recorded_once_newest_first(store: Store) -> None:
    for n in range(3):
        sms = SentSms(
            provider_message_id=f"SB{n}",
            message_id=f"m{n}",
            to="+1415",
            from_="+1202",
            text=str(n),
            sent_at=T0 + timedelta(seconds=n),
        )
        await store.record_sent_sms(sms)
        await store.record_sent_sms(sms)
    assert [s.provider_message_id for s in await store.list_sent_sms(limit=2)] == ["SB2", "SB1"]


# --- admin listings, templates, consent, outbound jobs ---------------------------------------


@missing_read_gap
async def test_channels_list_by_cursor_and_delete(store: Store) -> None:
    for n in range(5):
        await store.put_channel(
            Channel(
                id=f"ch{n}",
                kind=ChannelKind.SMS,
                addresses=(f"+1202555010{n}",),
                workstream_id="ws",
            )
        )
    first = await store.list_channels(after=None, limit=2)
    rest = await store.list_channels(after=first[-1].id, limit=10)
    assert [c.id for c in first] == ["ch0", "ch1"]
    assert [c.id for c in rest] == ["ch2", "ch3", "ch4"]
    assert await store.delete_channel("ch2")
    assert not await store.delete_channel("ch2")
    assert await store.find_channel(ChannelKind.SMS, "+12025550102") is None
    await store.put_channel(
        Channel(id="new", kind=ChannelKind.SMS, addresses=("+12025550102",), workstream_id="ws")
    )


@missing_read_gap
async def test_templates_round_trip(store: Store) -> None:
    for n in range(3):
        await store.put_template(Template(id=f"t{n}", name=f"T{n}", body="Hi {first_name}"))
    assert await store.get_template("t1") == Template(id="t1", name="T1", body="Hi {first_name}")
    assert [t.id for t in await store.list_templates(after="t0", limit=5)] == ["t1", "t2"]
    assert await store.delete_template("t1")
    assert await store.get_template("t1") is None


@missing_read_gap
async def test_customers_are_read_by_id(store: Store) -> None:
    customer = Customer(id="c1", display_name="Ada", mobile_phone="+14155550101")
    await store.put_customer(customer)
    assert await store.get_customer("c1") == customer
    assert await store.get_customer("c2") is None


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


@missing_read_gap
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


@missing_read_gap
async def test_consent_belongs_to_the_number(store: Store) -> None:
    await store.set_sms_consent("+14155550101", opted_out=True, at=T0)
    assert await store.is_opted_out("+14155550101")
    await store.set_sms_consent("+14155550101", opted_out=False, at=T0 + timedelta(hours=1))
    assert not await store.is_opted_out("+14155550101")
    assert not await store.is_opted_out("+14155550102")  # never seen: read last (see above)


@missing_read_gap
async def test_outbound_jobs_are_created_once_and_track_recipients(store: Store) -> None:
    job = OutboundJob(
        id="job1",
        template_id="t1",
        channel_id="ch",
        recipients=(Recipient(customer_id="c1"), Recipient(customer_id="c2")),
        created_at=T0,
    )
    assert await store.create_outbound_job(job) == (job, True)
    assert await store.create_outbound_job(job.model_copy(update={"template_id": "other"})) == (
        job,
        False,
    )
    done = Recipient(customer_id="c2", state=RecipientState.QUEUED, message_id="m2")
    updated = await store.set_recipient("job1", done)
    assert updated is not None
    assert updated.recipients == (Recipient(customer_id="c1"), done)
    assert await store.get_outbound_job("job1") == updated
    assert await store.set_recipient("missing", done) is None


# --- unified routing (issue 5) ---------------------------------------------------------------


async def test_routing_configuration_lists_by_cursor_and_deletes(store: Store) -> None:
    for n in range(3):
        await store.put_workstream(
            Workstream(id=f"ws{n}", name="W", channel=ChannelKind.SMS, fallback_queue_id="q0")
        )
        await store.put_queue(Queue(id=f"q{n}", name="Q"))
        await store.put_rule(
            RoutingRule(id=f"r{n}", workstream_id=f"ws{n}", order=n, name="R", queue_id="q0")
        )
        await agent(store, f"a{n}", queues=("q0",))
    listings = (
        store.list_workstreams,
        store.list_queues,
        store.list_all_rules,
        store.list_agents,
    )
    for listing in listings:
        first = await listing(after=None, limit=2)
        rest = await listing(after=first[-1].id, limit=2)
        assert [r.id[-1] for r in (*first, *rest)] == ["0", "1", "2"]
    assert await store.get_rule("r1") == (await store.list_all_rules(after="r0", limit=1))[0]
    deletions = (
        (store.delete_workstream, store.list_workstreams, "ws1"),
        (store.delete_queue, store.list_queues, "q1"),
        (store.delete_rule, store.list_all_rules, "r1"),
        (store.delete_agent, store.list_agents, "a1"),
    )
    for delete, listing, record_id in deletions:
        assert await delete(record_id)
        assert not await delete(record_id)
        assert record_id not in [r.id for r in await listing(after=None, limit=10)]
    assert [s.agent.id for s in await store.queue_agents("q0")] == ["a0", "a2"]


async def test_an_offer_holds_capacity_until_accepted(store: Store) -> None:
    await agent(store, "a1", capacity=1)
    waiting = await waiting_item(store)
    deadline = T0 + timedelta(seconds=30)
    offered = await store.assign(waiting.id, "a1", T0, offer_until=deadline)
    assert offered is not None
    assert (offered.status, offered.agent_id, offered.offer_expires_at) == (
        WorkItemStatus.OFFERED,
        "a1",
        deadline,
    )
    assert (await store.agent_state("a1")).used_capacity == 1  # type: ignore[union-attr]
    assert await store.assign((await waiting_item(store)).id, "a1", T0) is None
    assert await store.offered_items() == [offered]
    assert await store.accept_offer(waiting.id, "a2", T0) is None
    accepted = await store.accept_offer(waiting.id, "a1", T0)
    assert accepted is not None
    assert (accepted.status, accepted.offer_expires_at) == (WorkItemStatus.ACTIVE, None)
    assert await store.accept_offer(waiting.id, "a1", T0) is None
    assert await store.offered_items() == []
    assert await store.agent_items("a1") == [accepted]


async def test_a_returned_offer_waits_again_skipping_that_agent(store: Store) -> None:
    await agent(store, "a1", capacity=1)
    older = await waiting_item(store, age=0)
    await waiting_item(store, age=10)
    assert await store.assign(older.id, "a1", T0, offer_until=T0) is not None
    skip_until = T0 + timedelta(minutes=5)
    returned = await store.return_to_queue(older.id, "a1", skip_until)
    assert returned is not None
    assert (returned.status, returned.agent_id, returned.skipped_agents) == (
        WorkItemStatus.WAITING,
        None,
        {"a1": skip_until},
    )
    assert await store.return_to_queue(older.id, "a1", skip_until) is None
    # Back at its old place, the head of the queue; the agent's capacity is free again.
    assert (await store.waiting_items("q1", limit=1))[0] == returned
    state = await store.agent_state("a1")
    assert state is not None and (state.used_capacity, state.last_assigned_at) == (0, T0)


async def test_closing_work_releases_capacity_and_the_agent_is_idle_from_then(
    store: Store,
) -> None:
    await agent(store, "a1", capacity=2)
    first = await waiting_item(store)
    second = await waiting_item(store)
    for waiting in (first, second):
        assert await store.assign(waiting.id, "a1", T0) is not None
    later = T0 + timedelta(minutes=3)
    closed = await store.close_work_item(first.id, later)
    assert closed is not None and closed.status == WorkItemStatus.CLOSED
    assert await store.close_work_item(first.id, later) is None
    busy = await store.agent_state("a1")
    assert busy is not None and (busy.used_capacity, busy.idle_since) == (1, None)
    await store.close_work_item(second.id, later + timedelta(minutes=1))
    idle = await store.agent_state("a1")
    assert idle is not None
    assert (idle.used_capacity, idle.idle_since, idle.last_assigned_at) == (
        0,
        later + timedelta(minutes=1),
        T0,
    )
    assert await store.agent_items("a1") == []
    # The conversation may get new work now.
    assert await store.open_work_item(first.conversation_id) is None
    _, created = await store.create_work_item(item(first.conversation_id))
    assert created


async def test_an_agent_that_never_worked_is_the_most_idle(store: Store) -> None:
    await agent(store, "a1")
    state = await store.agent_state("a1")
    assert state is not None and state.idle_since == datetime(1970, 1, 1, tzinfo=UTC)


async def test_the_round_robin_cursor_follows_assignments(store: Store) -> None:
    await store.put_queue(Queue(id="q1", name="Q", assignment_method=AssignmentMethod.ROUND_ROBIN))
    await agent(store, "a1")
    await agent(store, "a2")
    for agent_id in ("a2", "a1"):
        assert await store.assign((await waiting_item(store)).id, agent_id, T0) is not None
        assert await store.round_robin_cursor("q1") == agent_id


async def test_a_waiting_item_moves_to_another_queue_keeping_its_age(store: Store) -> None:
    await agent(store, "a1", queues=("q2",))
    waiting = await waiting_item(store, age=5)
    moved = await store.move_waiting_item(waiting.id, "q2")
    assert moved == waiting.model_copy(update={"queue_id": "q2"})
    assert await store.waiting_items("q1", limit=10) == []
    assert await store.waiting_items("q2", limit=10) == [moved]
    assert await store.get_work_item(waiting.id) == moved
    assert await store.open_work_item(waiting.conversation_id) == moved
    assigned = await store.assign(waiting.id, "a1", T0)
    assert assigned is not None and assigned.queue_id == "q2"
    assert await store.move_waiting_item(waiting.id, "q1") is None
    assert await store.agent_items("a1") == [assigned]


async def test_a_queue_backlog_counts_waiting_items_and_the_oldest_arrival(
    store: Store,
) -> None:
    await agent(store, "a1")
    assert await store.queue_backlog("q1") == (0, None)
    taken = await waiting_item(store, age=0)
    await waiting_item(store, age=30)
    await waiting_item(store, age=10, priority=9)
    await waiting_item(store, queue="q2", age=-50)
    assert await store.assign(taken.id, "a1", T0) is not None
    assert await store.queue_backlog("q1") == (2, T0 + timedelta(seconds=10))


async def test_routing_decisions_are_kept_per_conversation_oldest_first(store: Store) -> None:
    def decision(n: int, conversation_id: str) -> RoutingDecision:
        return RoutingDecision(
            id=f"d{n}",
            item_id="i1",
            conversation_id=conversation_id,
            queue_id="q1",
            decided_at=T0 + timedelta(seconds=10 - n),
            method=AssignmentMethod.ROUND_ROBIN,
            mode=WorkDistribution.PUSH,
            candidates=(CandidateVerdict(agent_id="a1", skipped="away"),),
            reason="no eligible agent",
        )

    for n in range(3):
        await store.record_routing_decision(decision(n, "c1"))
    await store.record_routing_decision(decision(0, "c1"))  # recorded once
    await store.record_routing_decision(decision(9, "c2"))
    assert [d.id for d in await store.routing_decisions("c1")] == ["d2", "d1", "d0"]
    assert (await store.routing_decisions("c1"))[0] == decision(2, "c1")


async def test_racing_accept_and_return_of_one_offer_settle_once(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    """An agent accepting as the sweep takes the lapsed offer back: exactly one wins."""
    async with store_factory(tmp_path) as one, store_factory(tmp_path) as two:
        await agent(one, "a1", capacity=1)
        waiting = await waiting_item(one)
        assert await one.assign(waiting.id, "a1", T0, offer_until=T0) is not None
        accepted, returned = await asyncio.gather(
            one.accept_offer(waiting.id, "a1", T0), two.return_to_queue(waiting.id, "a1", T0)
        )
        assert (accepted is None) != (returned is None)
        state = await one.agent_state("a1")
        assert state is not None and state.used_capacity == (1 if accepted else 0)


# --- chat (issue 7) ---------------------------------------------------------------------------


async def test_wrap_up_keeps_the_item_and_its_capacity_with_the_agent(store: Store) -> None:
    await agent(store, capacity=2)
    waiting = await waiting_item(store, units=2)
    assert await store.wrap_up_work_item(waiting.id) is None  # not active: nothing changes
    assert await store.get_work_item(waiting.id) == waiting
    assigned = await store.assign(waiting.id, "a1", T0)
    assert assigned is not None
    wrapped = await store.wrap_up_work_item(assigned.id)
    assert wrapped == assigned.model_copy(update={"status": WorkItemStatus.WRAP_UP})
    assert await store.get_work_item(assigned.id) == wrapped
    assert await store.open_work_item(assigned.conversation_id) == wrapped
    assert await store.agent_items("a1") == [wrapped]
    state = await store.agent_state("a1")
    assert state is not None and state.used_capacity == 2
    assert await store.wrap_up_work_item(assigned.id) is None  # once
    assert await store.waiting_items("q1", limit=10) == []


# --- bots (issue 5) ---------------------------------------------------------------------------


async def bot_item(store: Store) -> WorkItem:
    conv, _ = await store.open_conversation(conversation(f"+1415556{uuid.uuid4().int % 10**4:04d}"))
    with_bot = item(conv.id).model_copy(update={"status": WorkItemStatus.BOT})
    created, fresh = await store.create_work_item(with_bot)
    assert fresh and created == with_bot
    return created


async def test_an_item_with_the_bot_is_no_agents_until_escalated(store: Store) -> None:
    await agent(store, capacity=1)
    with_bot = await bot_item(store)
    assert await store.waiting_items("q1", limit=10) == []
    assert await store.queue_backlog("q1") == (0, None)
    assert await store.assign(with_bot.id, "a1", T0) is None  # routing cannot take it
    assert await store.open_work_item(with_bot.conversation_id) == with_bot

    later = T0 + timedelta(minutes=2)
    escalated = await store.escalate_bot_item(with_bot.id, later)
    assert escalated == with_bot.model_copy(
        update={"status": WorkItemStatus.WAITING, "enqueued_at": later}
    )
    assert await store.escalate_bot_item(with_bot.id, later) is None  # once
    assert await store.waiting_items("q1", limit=10) == [escalated]
    assert await store.open_work_item(with_bot.conversation_id) == escalated
    assert await store.assign(with_bot.id, "a1", later) is not None


async def test_closed_work_is_not_escalated(store: Store) -> None:
    with_bot = await bot_item(store)
    closed = await store.close_work_item(with_bot.id, T0)
    assert closed is not None and closed.status == WorkItemStatus.CLOSED
    assert await store.escalate_bot_item(with_bot.id, T0) is None
    assert await store.get_work_item(with_bot.id) == closed


async def test_racing_escalations_of_one_item_settle_once(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    """The bot's answer and its retry (or a close) racing: one escalation wins."""
    async with store_factory(tmp_path) as one, store_factory(tmp_path) as two:
        with_bot = await bot_item(one)
        results = await asyncio.gather(
            one.escalate_bot_item(with_bot.id, T0), two.escalate_bot_item(with_bot.id, T0)
        )
        assert sum(r is not None for r in results) == 1
        assert [i.id for i in await one.waiting_items("q1", limit=10)] == [with_bot.id]


# --- supervision and figures (issue 8) ------------------------------------------------------------


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


async def test_agent_states_list_by_cursor(store: Store) -> None:
    for agent_id in ("a3", "a1", "a2"):
        await agent(store, agent_id, capacity=2)
    waiting = await waiting_item(store, units=2)
    await store.assign(waiting.id, "a2", T0)
    first = await store.list_agent_states(after=None, limit=2)
    rest = await store.list_agent_states(after="a2", limit=2)
    assert [(s.agent.id, s.used_capacity) for s in [*first, *rest]] == [
        ("a1", 0),
        ("a2", 2),
        ("a3", 0),
    ]


async def test_items_alive_in_a_window_are_the_ones_a_day_counts(store: Store) -> None:
    """Enqueued before the end, and unclosed or closed at or after the start."""
    await agent(store, capacity=10)
    start, end = T0, T0 + timedelta(days=1)
    before = await waiting_item(store, age=-3600)  # arrived before, closed within
    await store.close_work_item(before.id, T0 + timedelta(hours=1))
    gone = await waiting_item(store, age=-7200)  # arrived and closed before
    await store.close_work_item(gone.id, T0 - timedelta(minutes=1))
    still = await waiting_item(store, age=-86400)  # arrived days ago, still waiting
    within = await waiting_item(store, age=600)
    await store.assign(within.id, "a1", T0 + timedelta(minutes=20))
    await waiting_item(store, age=86400)  # arrives after the end
    await waiting_item(store, queue="q2", age=60)  # another queue
    alive = await store.items_alive("q1", start, end)
    assert sorted(i.id for i in alive) == sorted([before.id, still.id, within.id])
    closed = next(i for i in alive if i.id == before.id)
    assert closed.closed_at == T0 + timedelta(hours=1)


async def test_day_figures_are_stored_per_day_scope_and_key(store: Store) -> None:
    day = T0.date()
    queue_q2 = DayFigures(day=day, scope=FigureScope.QUEUE, key="q2", incoming=3)
    queue_q1 = DayFigures(day=day, scope=FigureScope.QUEUE, key="q1", incoming=5, handled=2)
    agent_a1 = DayFigures(day=day, scope=FigureScope.AGENT, key="a1", handled=2)
    other_day = queue_q1.model_copy(update={"day": day - timedelta(days=1)})
    assert await store.figures_watermark() is None
    await store.put_day_figures([queue_q2, queue_q1, agent_a1, other_day])
    recomputed = queue_q1.model_copy(update={"incoming": 6})
    await store.put_day_figures([recomputed])  # a later run replaces the record
    assert await store.day_figures(day, FigureScope.QUEUE) == [recomputed, queue_q2]
    assert await store.day_figures(day, FigureScope.AGENT) == [agent_a1]
    assert await store.day_figures(other_day.day, FigureScope.QUEUE) == [other_day]
    assert await store.day_figures(day + timedelta(days=1), FigureScope.QUEUE) == []
    await store.set_figures_watermark(day)
    await store.set_figures_watermark(day + timedelta(days=1))
    assert await store.figures_watermark() == day + timedelta(days=1)


# --- presence and the agent's work (issue 6) ---------------------------------------------------


def signed_in(presence: Presence) -> PresenceState:
    return PresenceState(presence=presence, signed_in=True, last_heartbeat_at=T0)


async def active_item(store: Store, agent_id: str, **kw: object) -> WorkItem:
    waiting = await waiting_item(store, **kw)
    assigned = await store.assign(waiting.id, agent_id, T0)
    assert assigned is not None
    return assigned


async def used(store: Store, agent_id: str) -> int:
    state = await store.agent_state(agent_id)
    assert state is not None
    return state.used_capacity


async def test_presence_state_and_routing_presence_change_together(store: Store) -> None:
    await agent(store, "a1", capacity=1)
    seen: list[tuple[PresenceState | None, int]] = []

    def sign_in(state: PresenceState | None, live: AgentState) -> PresenceState:
        seen.append((state, live.used_capacity))
        return signed_in(Presence.AWAY)

    change = await store.change_presence("a1", sign_in)
    assert change is not None
    assert (change.before, change.after, change.state) == (
        Presence.AVAILABLE,
        Presence.AWAY,
        signed_in(Presence.AWAY),
    )
    assert seen[-1] == (None, 0)  # never managed before
    state = await store.agent_state("a1")
    assert state is not None and state.presence == Presence.AWAY
    left = await store.change_presence("a1", lambda state, live: None)
    assert left is not None and not left.changed and left.state == signed_in(Presence.AWAY)
    # Editing the agent's record keeps its presence.
    await agent(store, "a1", capacity=2)
    again = await store.agent_state("a1")
    assert again is not None and again.presence == Presence.AWAY


async def test_the_agent_state_says_since_when_its_presence_holds(store: Store) -> None:
    await agent(store, "a1")
    state = await store.agent_state("a1")
    assert state is not None and state.presence_since is None  # never signed in
    since = T0 + timedelta(minutes=3)
    await store.change_presence(
        "a1", lambda state, live: signed_in(Presence.AWAY).model_copy(update={"since": since})
    )
    (listed,) = await store.list_agent_states(after=None, limit=5)
    assert listed.presence_since == since
    assert [s.presence_since for s in await store.queue_agents("q1")] == [since]


async def test_the_sentiment_switch_round_trips(store: Store) -> None:
    assert await store.get_sentiment_settings() is None  # the deployment's default then
    for enabled in (False, True):
        await store.put_sentiment_settings(SentimentSettings(enabled=enabled))
        assert await store.get_sentiment_settings() == SentimentSettings(enabled=enabled)


async def test_presence_spans_are_kept_per_day_once_each(store: Store) -> None:
    day = T0.date()
    away = PresenceSpan(
        agent_id="a1", presence=Presence.AWAY, started_at=T0, ended_at=T0 + timedelta(hours=1)
    )
    busy = away.model_copy(
        update={"agent_id": "a2", "presence": Presence.BUSY, "custom_presence_id": "calls"}
    )
    for piece in (away, busy, away):  # a retried update stores its span again
        await store.put_presence_span(day, piece)
    assert await store.presence_spans(day) == [away, busy]
    assert await store.presence_spans(day + timedelta(days=1)) == []


@missing_read_gap
async def test_an_unknown_agent_has_no_presence_to_change(store: Store) -> None:
    assert (
        await store.change_presence("ghost", lambda state, live: signed_in(Presence.AWAY)) is None
    )


async def test_presence_settings_round_trip(store: Store) -> None:
    assert await store.get_presence_settings() == PresenceSettings()
    settings = PresenceSettings(
        custom=(CustomPresence(id="training", name="In training", base=Presence.AWAY),)
    )
    await store.put_presence_settings(settings)
    assert await store.get_presence_settings() == settings


async def test_transfer_to_agent_moves_capacity(store: Store) -> None:
    await agent(store, "a1", capacity=1)
    await agent(store, "a2", capacity=1)
    first = await active_item(store, "a1")
    assert first.offers == (Offer(at=T0, queue_id="q1", agent_id="a1"),)  # for the figures
    moved = await store.transfer_to_agent(first.id, "a1", "a2", T0 + timedelta(minutes=1))
    assert moved is not None and moved.agent_id == "a2" and moved.status == WorkItemStatus.ACTIVE
    assert moved.transfers == (
        Transfer(
            at=T0 + timedelta(minutes=1), from_queue_id="q1", from_agent_id="a1", to_agent_id="a2"
        ),
    )
    assert (await used(store, "a1"), await used(store, "a2")) == (0, 1)
    assert await store.agent_items("a2") == [moved]
    # The receiver is full now: a second transfer changes nothing (invariant 1).
    second = await active_item(store, "a1")
    assert await store.transfer_to_agent(second.id, "a1", "a2", T0) is None
    assert await store.get_work_item(second.id) == second
    assert (await used(store, "a1"), await used(store, "a2")) == (1, 1)
    # Only the primary agent's active work moves.
    assert await store.transfer_to_agent(moved.id, "a1", "a2", T0) is None


async def test_transfer_to_queue_keeps_priority_and_arrival(store: Store) -> None:
    await agent(store, "a1", capacity=1, queues=("q1", "q2"))
    held = await active_item(store, "a1", priority=3, age=5)
    waiting = await store.transfer_to_queue(held.id, "a1", "q2", T0)
    assert waiting is not None
    assert (waiting.status, waiting.queue_id, waiting.agent_id) == (
        WorkItemStatus.WAITING,
        "q2",
        None,
    )
    # The transfer is on record for the figures: from whom and which queue, to where, when.
    assert waiting.transfers == (
        Transfer(at=T0, from_queue_id=held.queue_id, from_agent_id="a1", to_queue_id="q2"),
    )
    assert (waiting.priority, waiting.enqueued_at) == (3, held.enqueued_at)
    assert await store.waiting_items("q2", limit=5) == [waiting]
    assert await store.open_work_item(held.conversation_id) == waiting
    assert await used(store, "a1") == 0
    assert await store.transfer_to_queue(held.id, "a1", "q1", T0) is None  # not hers any more


async def test_consultants_join_and_leave(store: Store) -> None:
    await agent(store, "a1")
    await agent(store, "a2")
    held = await active_item(store, "a1")
    assert await store.add_consultant(held.id, "a2", "a1") is None  # only with its primary
    joined = await store.add_consultant(held.id, "a1", "a2")
    assert joined is not None and joined.consultants == ("a2",)
    assert await store.add_consultant(held.id, "a1", "a2") == joined  # idempotent
    assert await store.consulted_items("a2") == [joined]
    assert await used(store, "a2") == 0  # a consult takes no capacity
    left = await store.remove_consultant(held.id, "a2")
    assert left is not None and left.consultants == ()
    assert await store.consulted_items("a2") == []
    assert await store.remove_consultant(held.id, "a2") is None


async def test_end_close_and_last_item_follow_the_agent(store: Store) -> None:
    await agent(store, "a1")
    await agent(store, "a2")
    held = await active_item(store, "a1")
    wrap_at = T0 + timedelta(minutes=3)
    assert await store.wrap_up_work_item(held.id, wrap_at, agent_id="a2") is None
    ended = await store.wrap_up_work_item(held.id, wrap_at, agent_id="a1")
    assert ended is not None and ended.wrap_up_at == wrap_at
    assert await used(store, "a1") == 1  # wrap-up still holds capacity
    assert await store.close_work_item(held.id, wrap_at, agent_id="a2") is None
    closed = await store.close_work_item(held.id, wrap_at, agent_id="a1")
    assert closed is not None and await used(store, "a1") == 0
    assert await store.last_work_item(held.conversation_id) == closed
    again, created = await store.create_work_item(
        item(held.conversation_id).model_copy(update={"enqueued_at": wrap_at})
    )
    assert created and await store.last_work_item(held.conversation_id) == again


async def test_a_transfer_racing_a_close_leaves_one_outcome(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    """Invariants 1 and 2 under a race: the sender closes while it transfers to a colleague.
    Either the close wins (closed, nobody holds capacity) or the transfer does (the receiver
    holds it; the sender's stale close changes nothing)."""
    async with store_factory(tmp_path) as one, store_factory(tmp_path) as two:
        await agent(one, "a1", capacity=1)
        await agent(one, "a2", capacity=1)
        for _ in range(4):
            held = await active_item(one, "a1")
            moved, closed = await asyncio.gather(
                one.transfer_to_agent(held.id, "a1", "a2", T0),
                two.close_work_item(held.id, T0, agent_id="a1"),
            )
            assert (moved is None) != (closed is None)
            final = await one.get_work_item(held.id)
            assert final is not None
            if moved is not None:
                assert (final.status, final.agent_id) == (WorkItemStatus.ACTIVE, "a2")
                assert (await used(one, "a1"), await used(one, "a2")) == (0, 1)
                assert await one.close_work_item(held.id, T0, agent_id="a2") is not None
            else:
                assert final.status == WorkItemStatus.CLOSED
            assert (await used(one, "a1"), await used(one, "a2")) == (0, 0)


async def test_transfers_racing_for_one_receiver_never_exceed_its_capacity(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    async with store_factory(tmp_path) as one, store_factory(tmp_path) as two:
        await agent(one, "a1", capacity=1)
        await agent(one, "a2", capacity=1)
        await agent(one, "r", capacity=1)
        first, second = await active_item(one, "a1"), await active_item(one, "a2")
        results = await asyncio.gather(
            one.transfer_to_agent(first.id, "a1", "r", T0),
            two.transfer_to_agent(second.id, "a2", "r", T0),
        )
        assert sum(r is not None for r in results) == 1
        assert await used(one, "r") == 1
        assert await used(one, "a1") + await used(one, "a2") == 1


# --- sentiment (issue 8), typing and identification by email (issue 7) ---------------------------


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


@missing_read_gap
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


async def test_customers_are_found_by_email_case_insensitively(store: Store) -> None:
    ada = Customer(id="c1", display_name="Ada", email="Ada@Example.org")
    await store.put_customer(ada)
    await store.put_customer(Customer(id="c2", display_name="Ada's twin", email="ada@example.ORG"))
    await store.put_customer(Customer(id="c3", display_name="Grace", email="grace@example.org"))
    found = await store.find_customers_by_email("ADA@example.org")
    assert [c.id for c in found] == ["c1", "c2"]
    assert found[0] == ada  # the record as written
    assert await store.find_customers_by_email("nobody@example.org") == []
    # A changed email is found under the new one only; a removed one under none.
    await store.put_customer(ada.model_copy(update={"email": "lovelace@example.org"}))
    assert [c.id for c in await store.find_customers_by_email("ada@example.org")] == ["c2"]
    assert [c.id for c in await store.find_customers_by_email("lovelace@example.org")] == ["c1"]
    await store.put_customer(Customer(id="c3", display_name="Grace", mobile_phone="+14155550102"))
    assert await store.find_customers_by_email("grace@example.org") == []
    assert [c.id for c in await store.find_customers_by_phone("+14155550102")] == ["c3"]
