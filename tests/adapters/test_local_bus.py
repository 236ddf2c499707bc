"""The embedded work queue: durability, leases, session order, duplicates, dead letters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.adapters.local_bus import LocalMessageBus
from shared.adapters.sqlite.database import SqliteDatabase
from tests.support import counter_total, spans

__all__ = ["spans"]
DESTINATION = "messaging.destination.name"


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def after(self, seconds: float) -> datetime:
        return datetime.fromtimestamp(self.now + seconds, UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[SqliteDatabase]:
    db = SqliteDatabase(tmp_path / "queue.db")
    await db.open()
    yield db
    await db.close()


@pytest.fixture
def queue(database: SqliteDatabase, clock: ManualClock) -> LocalMessageBus:
    return LocalMessageBus(database, visibility_timeout=30, max_delivery_count=3, clock=clock)


async def test_messages_survive_a_reopen_of_the_file(tmp_path: Path) -> None:
    first = SqliteDatabase(tmp_path / "q.db")
    await first.open()
    await LocalMessageBus(first).send("inbound", "hello", message_id="m1")
    await first.close()
    second = SqliteDatabase(tmp_path / "q.db")
    await second.open()
    received = await LocalMessageBus(second).receive("inbound")
    await second.close()
    assert received is not None
    assert (received.body, received.message_id, received.delivery_count) == ("hello", "m1", 1)


async def test_a_completed_message_is_gone(queue: LocalMessageBus) -> None:
    await queue.send("q", "x")
    leased = await queue.receive("q")
    assert leased is not None
    await queue.complete(leased)
    assert await queue.receive("q") is None
    assert await queue.pending_count("q") == 0


async def test_a_duplicate_message_id_is_dropped_even_after_completion(
    queue: LocalMessageBus,
) -> None:
    await queue.send("q", "first", message_id="twilio:SM1")
    await queue.send("q", "retry", message_id="twilio:SM1")
    leased = await queue.receive("q")
    assert leased is not None and leased.body == "first"
    await queue.complete(leased)
    await queue.send("q", "late retry", message_id="twilio:SM1")
    assert await queue.receive("q") is None
    await queue.send("other", "same id, other queue", message_id="twilio:SM1")
    assert await queue.pending_count("other") == 1


async def test_a_leased_message_returns_after_the_visibility_timeout(
    queue: LocalMessageBus, clock: ManualClock
) -> None:
    await queue.send("q", "x")
    assert await queue.receive("q") is not None
    assert await queue.receive("q") is None
    clock.now += 31
    again = await queue.receive("q")
    assert again is not None and again.delivery_count == 2


async def test_an_expired_lease_cannot_complete_the_redelivered_message(
    queue: LocalMessageBus, clock: ManualClock
) -> None:
    await queue.send("q", "x")
    stale = await queue.receive("q")
    clock.now += 31
    fresh = await queue.receive("q")
    assert stale is not None and fresh is not None
    await queue.complete(stale)
    assert await queue.pending_count("q") == 1
    await queue.complete(fresh)
    assert await queue.pending_count("q") == 0


async def test_a_session_is_delivered_in_order_one_at_a_time(queue: LocalMessageBus) -> None:
    for n in range(3):
        await queue.send("q", f"a{n}", session_id="A")
    await queue.send("q", "b0", session_id="B")
    first = await queue.receive("q")
    other_session = await queue.receive("q")
    assert first is not None and first.body == "a0"
    assert other_session is not None and other_session.body == "b0"
    assert await queue.receive("q") is None, "a1 must wait until a0 is done"
    await queue.complete(first)
    second = await queue.receive("q")
    assert second is not None and second.body == "a1"


async def test_an_abandoned_session_head_blocks_its_session_until_retried(
    queue: LocalMessageBus, clock: ManualClock
) -> None:
    await queue.send("q", "a0", session_id="A")
    await queue.send("q", "a1", session_id="A")
    head = await queue.receive("q")
    assert head is not None
    await queue.abandon(head, "boom")
    assert await queue.receive("q") is None
    clock.now += 1
    retried = await queue.receive("q")
    assert retried is not None and retried.body == "a0" and retried.delivery_count == 2


async def test_a_poison_message_is_dead_lettered_with_its_reason_and_the_rest_flow(
    queue: LocalMessageBus, clock: ManualClock
) -> None:
    await queue.send("q", "poison", session_id="A", message_id="bad")
    await queue.send("q", "next", session_id="A")
    for _ in range(3):
        leased = await queue.receive("q")
        assert leased is not None and leased.body == "poison"
        await queue.abandon(leased, "ValueError: cannot parse")
        clock.now += 10
    letters = await queue.dead_letters("q")
    assert [(d.message_id, d.attempts, d.reason) for d in letters] == [
        ("bad", 3, "ValueError: cannot parse")
    ]
    following = await queue.receive("q")
    assert following is not None and following.body == "next"


async def test_a_message_whose_handler_keeps_dying_is_dead_lettered(
    queue: LocalMessageBus, clock: ManualClock
) -> None:
    await queue.send("q", "crasher")
    for _ in range(3):
        assert await queue.receive("q") is not None
        clock.now += 31  # the process died holding the lease
    assert await queue.receive("q") is None
    (letter,) = await queue.dead_letters("q")
    assert "maximum delivery count" in letter.reason


async def test_released_leases_are_delivered_at_once(queue: LocalMessageBus) -> None:
    await queue.send("q", "in flight when the process died")
    assert await queue.receive("q") is not None
    assert await queue.release_all_leases() == 1
    again = await queue.receive("q")
    assert again is not None and again.delivery_count == 2


async def test_a_waiting_consumer_wakes_on_send(queue: LocalMessageBus) -> None:
    waiter = asyncio.create_task(queue.wait_for_message("q", max_wait=5))
    await asyncio.sleep(0)
    await queue.send("q", "x")
    await asyncio.wait_for(waiter, 1)


async def test_a_waiting_consumer_cancelled_as_a_message_arrives_stops(
    queue: LocalMessageBus,
) -> None:
    """Shutdown cancels consumers whatever arrives meanwhile (Python 3.11's wait_for swallowed
    the cancellation here, and `make soak` hung on a consumer polling for ever)."""
    waiting = asyncio.create_task(queue.wait_for_message("inbound", 5))
    await asyncio.sleep(0.01)
    await queue.send("inbound", "{}")  # wakes the waiter...
    waiting.cancel()  # ...in the same turn of the loop as the cancellation
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(asyncio.shield(waiting), 1)


async def test_a_scheduled_message_is_not_received_before_its_time(
    queue: LocalMessageBus, clock: ManualClock
) -> None:
    await queue.send("q", "later", message_id="m1", not_before=clock.after(20))
    assert await queue.receive("q") is None
    clock.now += 19.9
    assert await queue.receive("q") is None
    clock.now += 0.1
    due = await queue.receive("q")
    assert due is not None and (due.body, due.delivery_count) == ("later", 1)
    assert datetime.fromtimestamp(due.enqueued_at, UTC) == clock.after(0)


async def test_a_scheduled_time_already_past_is_delivered_at_once(
    queue: LocalMessageBus, clock: ManualClock
) -> None:
    await queue.send("q", "overdue", not_before=clock.after(-60))
    received = await queue.receive("q")
    assert received is not None and received.enqueued_at == clock.now


async def test_a_scheduled_message_survives_a_reopen_and_keeps_its_time(tmp_path: Path) -> None:
    clock = ManualClock()
    first = SqliteDatabase(tmp_path / "q.db")
    await first.open()
    await LocalMessageBus(first, clock=clock).send("q", "x", not_before=clock.after(30))
    await first.close()
    second = SqliteDatabase(tmp_path / "q.db")
    await second.open()
    reopened = LocalMessageBus(second, clock=clock)
    assert await reopened.receive("q") is None
    clock.now += 30
    assert await reopened.receive("q") is not None
    await second.close()


async def test_a_scheduled_message_id_is_taken_at_send_time(
    queue: LocalMessageBus, clock: ManualClock
) -> None:
    await queue.send("q", "retry 1", message_id="outbound:m:retry:1", not_before=clock.after(10))
    await queue.send("q", "again", message_id="outbound:m:retry:1", not_before=clock.after(10))
    await queue.send("q", "again, now", message_id="outbound:m:retry:1")
    assert await queue.pending_count("q") == 1
    clock.now += 10
    received = await queue.receive("q")
    assert received is not None and received.body == "retry 1"


async def test_a_scheduled_message_does_not_hold_back_its_session(
    queue: LocalMessageBus, clock: ManualClock
) -> None:
    await queue.send("q", "retry of a0", session_id="A", not_before=clock.after(10))
    await queue.send("q", "a1", session_id="A")
    first = await queue.receive("q")
    assert first is not None and first.body == "a1"
    await queue.complete(first)
    clock.now += 10
    retried = await queue.receive("q")
    assert retried is not None and retried.body == "retry of a0"


async def test_a_scheduled_message_coming_due_waits_for_its_sessions_message_in_hand(
    queue: LocalMessageBus, clock: ManualClock
) -> None:
    await queue.send("q", "retry of a0", session_id="A", not_before=clock.after(10))
    await queue.send("q", "a1", session_id="A")
    in_hand = await queue.receive("q")
    assert in_hand is not None and in_hand.body == "a1"
    clock.now += 10
    assert await queue.receive("q") is None, "one message of a session at a time"
    await queue.complete(in_hand)
    due = await queue.receive("q")
    assert due is not None and due.body == "retry of a0"


async def test_once_due_a_scheduled_message_goes_before_later_ones_of_its_session(
    queue: LocalMessageBus, clock: ManualClock
) -> None:
    await queue.send("q", "retry of a0", session_id="A", not_before=clock.after(10))
    clock.now += 10
    await queue.send("q", "a1", session_id="A")
    first = await queue.receive("q")
    assert first is not None and first.body == "retry of a0"


async def test_a_naive_scheduled_time_is_refused(queue: LocalMessageBus) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await queue.send("q", "x", not_before=datetime(2026, 11, 1))
    assert await queue.pending_count("q") == 0


async def test_a_scheduled_send_does_not_wake_idle_consumers(
    queue: LocalMessageBus, clock: ManualClock
) -> None:
    waiter = asyncio.create_task(queue.wait_for_message("q", max_wait=5))
    await asyncio.sleep(0)
    await queue.send("q", "x", not_before=clock.after(60))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    await queue.send("q", "y")
    await asyncio.wait_for(waiter, 1)


async def test_a_message_keeps_its_senders_trace_context_through_to_its_dead_letter(
    queue: LocalMessageBus, clock: ManualClock, spans: InMemorySpanExporter
) -> None:
    """As Service Bus keeps application properties: the consumer gets the sender's
    traceparent (its producer span's), and so does whoever reads the dead letter."""
    dead_before = counter_total("omnichannel.bus.dead_lettered", **{DESTINATION: "inbound"})
    await queue.send("inbound", "poison", message_id="bad")
    (producer,) = spans.get_finished_spans()
    assert producer.name == "send inbound" and producer.context is not None
    sent = producer.context
    traceparent = f"00-{sent.trace_id:032x}-{sent.span_id:016x}-{int(sent.trace_flags):02x}"
    for _ in range(3):
        leased = await queue.receive("inbound")
        assert leased is not None
        assert leased.application_properties == {
            "traceparent": traceparent,
            "body_type": "InboundMessage",
        }
        await queue.abandon(leased, "ValueError: cannot parse")
        clock.now += 10
    (letter,) = await queue.dead_letters("inbound")
    assert letter.application_properties["traceparent"] == traceparent
    assert counter_total("omnichannel.bus.dead_lettered", **{DESTINATION: "inbound"}) == (
        dead_before + 1
    )
