"""What every store adapter must do as a WorkItemStore: queues, offers and assignment within
capacity, wrap-up, close, bots."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from shared.domain.work import WorkItem, WorkItemStatus
from shared.ports import Store
from tests.contract.builders import T0, active_item, agent, conversation, item, used, waiting_item
from tests.contract.conftest import StoreFactory
from tests.support import unique_number


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


async def bot_item(store: Store) -> WorkItem:
    conv, _ = await store.open_conversation(conversation(unique_number("+1415556")))
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
