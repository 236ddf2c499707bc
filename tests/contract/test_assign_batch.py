"""What every store adapter must do for a routing cycle's batch (WorkItemStore.assign_batch):
each assignment checked as `assign` checks it, in order, counting the capacity of the ones
before it; a prefix given, stopping at the first refused; the decision of each one given
recorded with it and no other."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

from shared.domain.routing_config import AssignmentMethod, WorkDistribution
from shared.domain.work import PlannedAssignment, RoutingDecision, WorkItem, WorkItemStatus
from shared.ports import Store
from tests.contract.builders import T0, agent, used, waiting_item
from tests.contract.conftest import StoreFactory


def planned(
    item: WorkItem, agent_id: str, *, offer_seconds: int | None = None
) -> PlannedAssignment:
    return PlannedAssignment(
        item_id=item.id,
        agent_id=agent_id,
        offer_until=None if offer_seconds is None else T0 + timedelta(seconds=offer_seconds),
        decision=RoutingDecision(
            id=uuid.uuid4().hex,
            item_id=item.id,
            conversation_id=item.conversation_id,
            queue_id=item.queue_id,
            decided_at=T0,
            method=AssignmentMethod.HIGHEST_CAPACITY,
            mode=WorkDistribution.PUSH,
            chosen_agent_id=agent_id,
            reason="assigned by highest_capacity",
        ),
    )


async def chosen(store: Store, item: WorkItem) -> list[str | None]:
    return [d.chosen_agent_id for d in await store.routing_decisions(item.conversation_id)]


async def test_a_batch_gives_every_item_and_records_every_decision(store: Store) -> None:
    await agent(store, "a1", capacity=2)
    await agent(store, "a2", capacity=1)
    first, second, third = [await waiting_item(store) for _ in range(3)]
    given = await store.assign_batch(
        [planned(first, "a1"), planned(second, "a2"), planned(third, "a1", offer_seconds=30)],
        T0,
    )
    assert [(g.id, g.agent_id, g.status) for g in given] == [
        (first.id, "a1", WorkItemStatus.ACTIVE),
        (second.id, "a2", WorkItemStatus.ACTIVE),
        (third.id, "a1", WorkItemStatus.OFFERED),
    ]
    assert given[2].offer_expires_at == T0 + timedelta(seconds=30)
    for stored in given:
        assert await store.get_work_item(stored.id) == stored
    assert (await used(store, "a1"), await used(store, "a2")) == (2, 1)
    state = await store.agent_state("a1")
    assert state is not None and state.last_assigned_at == T0
    assert await store.waiting_items("q1", limit=10) == []
    assert await chosen(store, first) == ["a1"]
    assert await chosen(store, third) == ["a1"]
    assert await store.round_robin_cursor("q1") == "a1"


async def test_a_batch_stops_at_the_first_past_capacity_and_records_only_what_it_gave(
    store: Store,
) -> None:
    """The batch counts the capacity its own earlier assignments take."""
    await agent(store, "a1", capacity=2)
    await agent(store, "a2", capacity=3)
    items = [await waiting_item(store, age=n) for n in range(4)]
    given = await store.assign_batch(
        [*(planned(i, "a1") for i in items[:3]), planned(items[3], "a2")],
        T0,
    )
    assert [g.id for g in given] == [items[0].id, items[1].id]
    assert (await used(store, "a1"), await used(store, "a2")) == (2, 0)
    assert await store.get_work_item(items[2].id) == items[2]
    assert await store.get_work_item(items[3].id) == items[3]
    assert await chosen(store, items[2]) == []
    assert await chosen(store, items[3]) == []


async def test_a_batch_stops_at_an_item_no_longer_waiting(store: Store) -> None:
    await agent(store, "a1", capacity=3)
    await agent(store, "a2", capacity=3)
    taken, after = await waiting_item(store), await waiting_item(store)
    assert await store.assign(taken.id, "a2", T0) is not None
    given = await store.assign_batch([planned(taken, "a1"), planned(after, "a1")], T0)
    assert given == []
    stored = await store.get_work_item(taken.id)
    assert stored is not None and stored.agent_id == "a2"
    assert await used(store, "a1") == 0
    assert await store.get_work_item(after.id) == after


async def test_a_batch_gives_an_item_once_and_refuses_an_unknown_agent(store: Store) -> None:
    await agent(store, "a1", capacity=3)
    await agent(store, "a2", capacity=3)
    twice = await waiting_item(store)
    given = await store.assign_batch([planned(twice, "a1"), planned(twice, "a2")], T0)
    assert [(g.id, g.agent_id) for g in given] == [(twice.id, "a1")]
    assert await used(store, "a2") == 0
    other = await waiting_item(store)
    assert await store.assign_batch([planned(other, "nobody")], T0) == []
    assert await store.get_work_item(other.id) == other
    assert await store.assign_batch([], T0) == []


async def test_routers_batch_assigning_at_once_never_exceed_capacity(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    """Three routers, each with its own handle on the store, hand it batches planned from the
    same stale view (every agent empty) at once: every agent ends at most full, every item
    given at most once, and every decision recorded belongs to an item given."""
    async with (
        store_factory(tmp_path) as one,
        store_factory(tmp_path) as two,
        store_factory(tmp_path) as three,
    ):
        agent_ids = ("a1", "a2", "a3")
        for agent_id in agent_ids:
            await agent(one, agent_id, capacity=2)
        items = [await waiting_item(one, age=n) for n in range(12)]
        batches = [
            [planned(i, agent_ids[(n + shift) % 3]) for n, i in enumerate(items)]
            for shift in range(3)
        ]
        results = await asyncio.gather(
            *(
                router.assign_batch(batch, T0)
                for router, batch in zip((one, two, three), batches, strict=True)
            )
        )
        given = [g for result in results for g in result]
        assert len({g.id for g in given}) == len(given)
        for agent_id in agent_ids:
            assert await used(one, agent_id) <= 2
        for i in items:
            stored = await one.get_work_item(i.id)
            assert stored is not None
            decided = await chosen(one, i)
            if stored.status == WorkItemStatus.WAITING:
                assert decided == []
            else:
                assert decided == [stored.agent_id]
