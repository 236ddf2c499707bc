"""What only the Cosmos store has: the hot path's shape (no query spans partitions), its
request-unit accounting, and healing a crash between the two writes of an assignment."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from devserver.seed import SMS_NUMBER, seed_demo
from shared.adapters.cosmos.layout import AGENTS_PARTITION
from shared.adapters.cosmos.metrics import OperationKind
from shared.domain.channels import ChannelKind, SmsProvider
from shared.domain.conversations import InboundMessage
from shared.domain.message_ids import new_message_id
from shared.domain.work import WorkItemStatus
from shared.services.ingest import IngestService
from shared.services.notices import CustomerNotices
from shared.services.routing import RoutingService
from tests.contract.builders import (
    T0,
    agent,
    conversation,
    message,
    waiting_item,
)
from tests.contract.conftest import cosmos_store
from tests.support import RecordingBus


class FixedClock:
    def now(self) -> datetime:
        return T0


def inbound(text: str, sid: str) -> InboundMessage:
    return InboundMessage(
        provider=SmsProvider.TWILIO,
        provider_message_id=sid,
        channel=ChannelKind.SMS,
        customer_address="+14155550101",
        business_address=SMS_NUMBER,
        text=text,
        received_at=T0,
    )


async def test_ingest_route_and_assign_use_no_cross_partition_query(tmp_path: Path) -> None:
    async with cosmos_store(tmp_path) as store:
        await seed_demo(store, twilio_auth_token="demo-token")
        bus, clock = RecordingBus(), FixedClock()
        notices = CustomerNotices(store, bus, clock)
        routing = RoutingService(store, bus, clock, notices)
        ingest = IngestService(store, routing, clock, notices=notices)
        store.metrics.reset()

        first = await ingest.ingest(inbound("Where is my order?", "SM0001"))
        again = await ingest.ingest(inbound("Where is my order?", "SM0001"))  # provider retry
        second = await ingest.ingest(inbound("It was due Monday", "SM0002"))
        assigned = await routing.route_queue(first.work_item.queue_id)

        hot_path = store.metrics.snapshot()
        print(f"\ningest x3, route, assign on Cosmos: {hot_path.model_dump_json(indent=1)}")
        assert again.message is None
        assert second.conversation.id == first.conversation.id
        assert [item.id for item in assigned] == [first.work_item.id]
        assert assigned[0].status == WorkItemStatus.ACTIVE
        assert hot_path.count(OperationKind.QUERY_CROSS_PARTITION) == 0
        assert hot_path.count(OperationKind.POINT_READ) > 0
        assert hot_path.count(OperationKind.QUERY_SINGLE_PARTITION) > 0

        # The instrument does see queries that span partitions: the sweep timer's (offers
        # that may have lapsed, queues with a backlog).
        store.metrics.reset()
        await routing.sweep()
        assert store.metrics.snapshot().count(OperationKind.QUERY_CROSS_PARTITION) == 2


class ProcessDied(BaseException):
    """The process stops here: no except clause of the adapter runs, as in a real crash."""


async def test_reconcile_heals_a_crash_between_the_two_writes_of_an_assignment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with cosmos_store(tmp_path) as store:
        await agent(store, "a1", capacity=1)
        waiting = await waiting_item(store)

        async def process_dies(*args: object) -> None:
            raise ProcessDied

        with monkeypatch.context() as crash:
            crash.setattr(store, "_take_item", process_dies)
            with pytest.raises(ProcessDied):
                await store.assign(waiting.id, "a1", T0)

        # The agent's capacity was written, the item's assignment never was.
        leaked = await store.agent_state("a1")
        assert leaked is not None and leaked.used_capacity == 1
        assert await store.get_work_item(waiting.id) == waiting
        assert await store.agent_items("a1") == []

        # Within the grace period the hold may be an assignment in flight: it stays.
        assert await store.reconcile_capacity() == 0

        # Past it (a second process whose grace has run out), the hold is released.
        async with cosmos_store(tmp_path, hold_grace=timedelta(0)) as later:
            assert await later.reconcile_capacity() == 1
            healed = await later.agent_state("a1")
            assert healed is not None and healed.used_capacity == 0
            assigned = await later.assign(waiting.id, "a1", T0)
            assert assigned is not None and assigned.agent_id == "a1"
            assert await later.agent_items("a1") == [assigned]
            assert await later.reconcile_capacity() == 0


async def test_reconcile_gives_back_the_hold_of_an_assigned_item(tmp_path: Path) -> None:
    """The other direction: an item assigned to an agent whose hold is missing (the agent's
    document was restored from an older copy, say) counts against its capacity again."""
    async with cosmos_store(tmp_path) as store:
        await agent(store, "a1", capacity=2)
        assigned = await store.assign((await waiting_item(store)).id, "a1", T0)
        assert assigned is not None
        await store._work.patch(
            "a1", AGENTS_PARTITION, [{"op": "set", "path": "/holds", "value": {}}]
        )
        assert (await store.agent_state("a1")).used_capacity == 0  # type: ignore[union-attr]

        assert await store.reconcile_capacity() == 1
        state = await store.agent_state("a1")
        assert state is not None and state.used_capacity == 1
        assert await store.agent_items("a1") == [assigned]


async def test_a_message_id_naming_its_conversation_needs_no_claim(tmp_path: Path) -> None:
    """Such a message is written without a `message:` claim and found with one point read;
    an id naming another conversation is refused, as it could be stored twice."""
    async with cosmos_store(tmp_path) as store:
        conv, _ = await store.open_conversation(conversation())
        reply = message(conv.id, "reply", id=new_message_id(conv.id))
        store.metrics.reset()
        stored = await store.append_message(reply)
        written = store.metrics.snapshot()
        assert stored is not None
        # The message and its words for search (search_index.py); no claim, no rewrite.
        assert written.count(OperationKind.CREATE) == 2
        assert written.count(OperationKind.REPLACE) == 0
        store.metrics.reset()
        assert await store.get_message(reply.id) == stored
        assert store.metrics.snapshot().operations == {OperationKind.POINT_READ: 1}
        elsewhere, _ = await store.open_conversation(conversation("+14155550199"))
        with pytest.raises(ValueError, match="names another conversation"):
            await store.append_message(message(elsewhere.id, "x", id=reply.id))


async def test_the_cursor_is_written_only_for_round_robin(tmp_path: Path) -> None:
    async with cosmos_store(tmp_path) as store:
        await agent(store, "a1", capacity=3)
        store.metrics.reset()
        assert await store.assign((await waiting_item(store)).id, "a1", T0, round_robin=False)
        assert store.metrics.snapshot().count(OperationKind.UPSERT) == 0
        assert await store.assign((await waiting_item(store)).id, "a1", T0, round_robin=True)
        assert await store.round_robin_cursor("q1") == "a1"


async def test_ingest_reads_the_channel_the_webhook_found_by_its_id(tmp_path: Path) -> None:
    async with cosmos_store(tmp_path) as store:
        await seed_demo(store, twilio_auth_token="demo-token")
        bus, clock = RecordingBus(), FixedClock()
        notices = CustomerNotices(store, bus, clock)
        ingest = IngestService(
            store, RoutingService(store, bus, clock, notices), clock, notices=notices
        )
        channel = await store.find_channel(ChannelKind.SMS, SMS_NUMBER)
        assert channel is not None
        carried = inbound("Hi", "SM0001").model_copy(update={"channel_id": channel.id})
        outcome = await ingest.ingest(carried)
        assert outcome.conversation.channel_id == channel.id
        # A channel id that no longer serves the number (it moved): found by the number again.
        others = [c for c in await store.list_channels(after=None, limit=10) if c.id != channel.id]
        moved = inbound("Again", "SM0002").model_copy(update={"channel_id": others[0].id})
        assert (await ingest.ingest(moved)).conversation.id == outcome.conversation.id
