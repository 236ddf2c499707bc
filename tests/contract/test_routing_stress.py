"""Invariants 1 and 2 under load: routers in several processes against one store (the SQLite
file; the Cosmos protocol server), while agents change presence, accept, decline and close
work at random. Every process checks after each step that no agent is over capacity; at the
end every item is waiting, or held by exactly one agent, or closed, and none was assigned more
often than it was given back.

Bounded by rounds, not time. Queues use highest capacity, least active and most idle: round
robin reads its cursor, which on a fresh queue is a read of a missing document (the local Cosmos
server answers 500); it is covered by the contract and flow tests."""

from __future__ import annotations

import asyncio
import multiprocessing
import random
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared.adapters.system_clock import SystemClock
from shared.domain.channels import ChannelKind
from shared.domain.presence import Presence
from shared.domain.routing_config import Agent, AssignmentMethod, Queue, Workstream
from shared.domain.work import CAPACITY_HOLDING, WorkItem, WorkItemStatus
from shared.ports import Store
from shared.services.notices import CustomerNotices
from shared.services.routing import RoutingService
from tests.contract.builders import conversation
from tests.contract.conftest import STORE_FACTORIES, StoreFactory
from tests.support import RecordingBus

PROCESSES = 3
ROUNDS = 30
ITEMS = 60
QUEUES = {
    "q-capacity": AssignmentMethod.HIGHEST_CAPACITY,
    "q-active": AssignmentMethod.LEAST_ACTIVE,
    "q-idle": AssignmentMethod.MOST_IDLE,
}
AGENTS = [f"agent-{n}" for n in range(8)]
T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


@dataclass
class RouterLog:
    assigned: list[str] = field(default_factory=list)
    returned: list[str] = field(default_factory=list)
    closed: int = 0
    over_capacity: list[str] = field(default_factory=list)


def run_router(factory_name: str, folder: str, seed: int) -> RouterLog:
    """One router process: its own store handle on the shared data."""
    return asyncio.run(_route_at_random(STORE_FACTORIES[factory_name], Path(folder), seed))


async def _route_at_random(factory: StoreFactory, folder: Path, seed: int) -> RouterLog:
    rng = random.Random(seed)
    log = RouterLog()
    async with factory(folder) as store:
        bus, clock = RecordingBus(), SystemClock()
        routing = RoutingService(store, bus, clock, CustomerNotices(store, bus, clock))
        for _ in range(ROUNDS):
            for item in await routing.route_queue(rng.choice(list(QUEUES))):
                log.assigned.append(item.id)
            await store.set_presence(rng.choice(AGENTS), rng.choice(list(Presence)))
            agent_id = rng.choice(AGENTS)
            for item in await store.agent_items(agent_id):
                roll = rng.random()
                if item.status == WorkItemStatus.OFFERED and roll < 0.5:
                    await store.accept_offer(item.id, agent_id, T0)
                elif item.status == WorkItemStatus.OFFERED:
                    if await routing.return_offer(item, agent_id, why="declined") is not None:
                        log.returned.append(item.id)
                elif roll < 0.5 and await store.close_work_item(item.id, T0) is not None:
                    log.closed += 1
            for checked in AGENTS:
                state = await store.agent_state(checked)
                if state is not None and state.used_capacity > state.agent.max_capacity:
                    log.over_capacity.append(f"{checked}: {state.used_capacity}")
    return log


async def _seed(store: Store) -> list[str]:
    rng = random.Random(7)
    for queue_id, method in QUEUES.items():
        await store.put_queue(Queue(id=queue_id, name=queue_id, assignment_method=method))
    for workstream_id, offers in (("ws-direct", None), ("ws-offers", 60)):
        await store.put_workstream(
            Workstream(
                id=workstream_id,
                name=workstream_id,
                channel=ChannelKind.SMS,
                fallback_queue_id="q-capacity",
                offer_timeout_seconds=offers,
            )
        )
    for agent_id in AGENTS:
        await store.put_agent(
            Agent(
                id=agent_id,
                display_name=agent_id,
                queue_ids=tuple(rng.sample(list(QUEUES), k=rng.randint(1, 2))),
                max_capacity=rng.randint(1, 3),
                default_presence=Presence.AVAILABLE,
            )
        )
    item_ids = []
    for n in range(ITEMS):
        conv, _ = await store.open_conversation(conversation(f"+1415555{n:04d}"))
        created, _ = await store.create_work_item(
            WorkItem(
                id=f"item-{n:03d}",
                conversation_id=conv.id,
                workstream_id=rng.choice(["ws-direct", "ws-offers"]),
                queue_id=rng.choice(list(QUEUES)),
                priority=rng.randint(0, 2),
                capacity_units=rng.randint(1, 2),
                enqueued_at=T0 + timedelta(seconds=n),
            )
        )
        item_ids.append(created.id)
    return item_ids


async def test_routers_in_several_processes_keep_capacity_and_assign_each_item_once(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    name = next(key for key, factory in STORE_FACTORIES.items() if factory is store_factory)
    async with store_factory(tmp_path) as store:  # opened first: it owns the data
        item_ids = await _seed(store)
        loop = asyncio.get_running_loop()
        with ProcessPoolExecutor(
            PROCESSES, mp_context=multiprocessing.get_context("spawn")
        ) as pool:
            logs = await asyncio.gather(
                *(
                    loop.run_in_executor(pool, run_router, name, str(tmp_path), seed)
                    for seed in range(PROCESSES)
                )
            )

        assert [v for log in logs for v in log.over_capacity] == []
        held_by: dict[str, str] = {}
        for agent_id in AGENTS:
            state = await store.agent_state(agent_id)
            assert state is not None
            holding = [i for i in await store.agent_items(agent_id) if i.status in CAPACITY_HOLDING]
            assert state.used_capacity == sum(i.capacity_units for i in holding)
            assert state.used_capacity <= state.agent.max_capacity
            for held in holding:
                assert held.id not in held_by, f"{held.id} held by {held_by[held.id]} too"
                held_by[held.id] = agent_id
        assigned = Counter(i for log in logs for i in log.assigned)
        returned = Counter(i for log in logs for i in log.returned)
        for item_id in item_ids:
            item = await store.get_work_item(item_id)
            assert item is not None, f"{item_id} was lost"
            if item.status == WorkItemStatus.WAITING:
                assert item.agent_id is None
            elif item.status in CAPACITY_HOLDING:
                assert held_by.get(item.id) == item.agent_id
            # Given to an agent at most once more than it was given back.
            assert assigned[item_id] <= returned[item_id] + 1, item_id
        # The run did exercise the paths it claims to.
        assert sum(assigned.values()) >= ITEMS // 3
        assert sum(log.closed for log in logs) > 0
        print(
            f"\n{name}: {PROCESSES} router processes x {ROUNDS} rounds: "
            f"{sum(assigned.values())} assignments, {sum(returned.values())} offers returned, "
            f"{sum(log.closed for log in logs)} closed, {len(held_by)} held at the end"
        )
