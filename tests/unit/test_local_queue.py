"""The embedded work queue: durability, leases, session order, duplicates, dead letters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.adapters.local_queue import LocalWorkQueue
from shared.adapters.sqlite_db import SqliteDatabase


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


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
def queue(database: SqliteDatabase, clock: ManualClock) -> LocalWorkQueue:
    return LocalWorkQueue(database, visibility_timeout=30, max_delivery_count=3, clock=clock)


async def test_messages_survive_a_reopen_of_the_file(tmp_path: Path) -> None:
    first = SqliteDatabase(tmp_path / "q.db")
    await first.open()
    await LocalWorkQueue(first).send("inbound", "hello", message_id="m1")
    await first.close()
    second = SqliteDatabase(tmp_path / "q.db")
    await second.open()
    received = await LocalWorkQueue(second).receive("inbound")
    await second.close()
    assert received is not None
    assert (received.body, received.message_id, received.delivery_count) == ("hello", "m1", 1)


async def test_a_completed_message_is_gone(queue: LocalWorkQueue) -> None:
    await queue.send("q", "x")
    leased = await queue.receive("q")
    assert leased is not None
    await queue.complete(leased)
    assert await queue.receive("q") is None
    assert await queue.pending_count("q") == 0


async def test_a_duplicate_message_id_is_dropped_even_after_completion(
    queue: LocalWorkQueue,
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
    queue: LocalWorkQueue, clock: ManualClock
) -> None:
    await queue.send("q", "x")
    assert await queue.receive("q") is not None
    assert await queue.receive("q") is None
    clock.now += 31
    again = await queue.receive("q")
    assert again is not None and again.delivery_count == 2


async def test_an_expired_lease_cannot_complete_the_redelivered_message(
    queue: LocalWorkQueue, clock: ManualClock
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


async def test_a_session_is_delivered_in_order_one_at_a_time(queue: LocalWorkQueue) -> None:
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
    queue: LocalWorkQueue, clock: ManualClock
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
    queue: LocalWorkQueue, clock: ManualClock
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
    queue: LocalWorkQueue, clock: ManualClock
) -> None:
    await queue.send("q", "crasher")
    for _ in range(3):
        assert await queue.receive("q") is not None
        clock.now += 31  # the process died holding the lease
    assert await queue.receive("q") is None
    (letter,) = await queue.dead_letters("q")
    assert "maximum delivery count" in letter.reason


async def test_released_leases_are_delivered_at_once(queue: LocalWorkQueue) -> None:
    await queue.send("q", "in flight when the process died")
    assert await queue.receive("q") is not None
    assert await queue.release_all_leases() == 1
    again = await queue.receive("q")
    assert again is not None and again.delivery_count == 2


async def test_a_waiting_consumer_wakes_on_send(queue: LocalWorkQueue) -> None:
    waiter = asyncio.create_task(queue.wait_for_message("q", max_wait=5))
    await asyncio.sleep(0)
    await queue.send("q", "x")
    await asyncio.wait_for(waiter, 1)
