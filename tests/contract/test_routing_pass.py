"""A routing pass over the real store: in order, within capacity, and it stops reading once
no agent has capacity left for the work that waits."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.adapters.system_clock import SystemClock
from shared.domain.channels import ChannelKind
from shared.domain.routing_config import Queue, Workstream
from shared.domain.work import WorkItem, WorkItemStatus
from shared.ports import Store
from shared.services import routing as routing_module
from shared.services.notices import CustomerNotices
from shared.services.routing import RoutingService
from tests.contract.builders import agent, used, waiting_item
from tests.support import RecordingBus


async def arranged(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> tuple[RoutingService, list[WorkItem], list[str]]:
    """Cycles of 3, two agents with 3 units of capacity between them, 8 waiting items; the
    members reads counted."""
    monkeypatch.setattr(routing_module, "CYCLE", 3)
    await store.put_workstream(
        Workstream(id="ws", name="SMS", channel=ChannelKind.SMS, fallback_queue_id="q1")
    )
    await store.put_queue(Queue(id="q1", name="Q1"))
    await agent(store, "a1", capacity=2)
    await agent(store, "a2", capacity=1)
    items = [await waiting_item(store, age=n) for n in range(8)]
    reads: list[str] = []
    read_members = store.queue_agents

    async def counted(queue_id: str) -> object:
        reads.append(queue_id)
        return await read_members(queue_id)

    monkeypatch.setattr(store, "queue_agents", counted)
    bus, clock = RecordingBus(), SystemClock()
    return RoutingService(store, bus, clock, CustomerNotices(store, bus, clock)), items, reads


async def test_a_pass_that_fills_every_agent_stops_without_reading_the_members_again(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    routing, items, reads = await arranged(store, monkeypatch)

    given = await routing.route_queue("q1")
    # The first cycle gives the three oldest and leaves no capacity: the next cycle reads the
    # waiting items, all of a workstream no agent can take more of, and stops there.
    assert [g.id for g in given] == [i.id for i in items[:3]]
    assert reads == ["q1"]
    assert (await used(store, "a1"), await used(store, "a2")) == (2, 1)
    waiting = await store.waiting_items("q1", limit=10)
    assert [w.id for w in waiting] == [i.id for i in items[3:]]

    # Capacity freed: the next pass reads the members again and gives the oldest waiting.
    assert await store.close_work_item(given[0].id, SystemClock().now()) is not None
    again = await routing.route_queue("q1")
    assert [g.id for g in again] == [items[3].id]
    assert again[0].status == WorkItemStatus.ACTIVE
    assert reads == ["q1", "q1"]


async def test_a_pass_reads_on_for_an_item_it_was_asked_to_explain(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    routing, items, reads = await arranged(store, monkeypatch)

    given = await routing.route_queue("q1", explain_item_id=items[4].id)
    assert [g.id for g in given] == [i.id for i in items[:3]]
    # The second cycle explains on the members the first read, as that cycle left them.
    assert reads == ["q1"]
    decisions = await store.routing_decisions(items[4].conversation_id)
    assert [d.chosen_agent_id for d in decisions] == [None]
    assert decisions[0].reason.startswith("no eligible agent among 2 members")


async def test_cycles_plan_on_the_members_they_read_counting_what_they_gave(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five units for eight items in cycles of three: the second cycle gives the last two on
    the first cycle's members (had it not counted the first three, the store would refuse it
    and the pass read the members again)."""
    routing, items, reads = await arranged(store, monkeypatch)
    await agent(store, "a3", capacity=2)

    given = await routing.route_queue("q1")
    assert [g.id for g in given] == [i.id for i in items[:5]]
    assert reads == ["q1"]
    assert [await used(store, a) for a in ("a1", "a2", "a3")] == [2, 1, 2]


async def test_members_are_read_again_once_older_than_their_freshness(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    routing, items, reads = await arranged(store, monkeypatch)
    await agent(store, "a3", capacity=2)
    monkeypatch.setattr(routing_module, "MEMBERS_FRESH_FOR", timedelta(0))

    given = await routing.route_queue("q1")
    assert [g.id for g in given] == [i.id for i in items[:5]]
    assert reads == ["q1", "q1"]
