"""Routing at scale on the SQLite store: 1,000 and 10,000 agents across 100 queues with 10,000
waiting items, routed queue by queue by the real RoutingService.

Reports assignments per second, the decision latency (p50, p99: choosing the agent, the
store's atomic assignment and recording the decision), how many agents a decision looked at,
and, as the baseline measured in the same run on the same file, the rate of the store's bare
atomic two-row update (one transaction updating an item row and an agent row, what an
assignment must at least do). Prints the ratio.

How a decision avoids scanning the queue: a routing pass reads the queue's members once (one
indexed query) and builds an AgentIndex (shared/domain/agent_index.py) of the eligible ones
(allowed presence, capacity left): a binary heap on the assignment method's key (highest
capacity, least active, most idle) or the rotation order (round robin). A decision pops the
best in O(log n) and walks past only agents it must skip; an assignment re-keys one agent.
The pass re-reads members every 50 items so other routers' changes are seen.

The Cosmos DB protocol server is not used: it answers ~1,000 operations/s from an in-memory
scan, so 10,000 agents would measure the stand-in, not the design (docs/cosmos.md).

Run: `make bench-routing` (or `python -m bench.routing --agents 1000 10000`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shared.adapters.sqlite.database import SqliteDatabase
from shared.adapters.sqlite.store import SqliteStore
from shared.adapters.system_clock import SystemClock
from shared.domain.channels import ChannelKind
from shared.domain.conversations import Conversation
from shared.domain.presence import Presence
from shared.domain.routing_config import Agent, AssignmentMethod, Queue, Workstream
from shared.domain.work import WorkItem
from shared.services.notices import CustomerNotices
from shared.services.routing import RoutingService

QUEUES = 100
ITEMS = 10_000
QUEUES_PER_AGENT = 2
BASELINE_UPDATES = 5_000
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
METHODS = list(AssignmentMethod)


class DiscardingBus:
    async def send(self, queue_name: str, body: str, **options: Any) -> None:
        return None


class TimedRouting(RoutingService):
    """The real service, timing each decision."""

    latencies: list[float]

    async def _assign_best(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        won = await super()._assign_best(*args, **kwargs)
        if won is not None:
            self.latencies.append(time.perf_counter() - started)
        return won


@dataclass(frozen=True)
class Result:
    agents: int
    assignments: int
    seconds: float
    p50_ms: float
    p99_ms: float
    looked_at: float
    members_per_queue: float
    baseline_per_second: float

    @property
    def per_second(self) -> float:
        return self.assignments / self.seconds


async def seed(database: SqliteDatabase, store: SqliteStore, agents: int) -> None:
    """Configuration through the store's API; agents and items in one transaction each through
    the adapter's own row writers (30,000 separate fsyncs would measure the disk)."""
    rng = random.Random(agents)
    queue_ids = [f"q{n:03d}" for n in range(QUEUES)]
    for n, queue_id in enumerate(queue_ids):
        await store.put_queue(Queue(id=queue_id, name=queue_id, assignment_method=METHODS[n % 4]))
    await store.put_workstream(
        Workstream(id="ws", name="SMS", channel=ChannelKind.SMS, fallback_queue_id="q000")
    )
    roster = [
        Agent(
            id=f"agent-{n:05d}",
            display_name=f"Agent {n}",
            queue_ids=tuple(rng.sample(queue_ids, QUEUES_PER_AGENT)),
            max_capacity=rng.randint(1, 3),
            default_presence=rng.choice([Presence.AVAILABLE] * 4 + [Presence.AWAY]),
        )
        for n in range(agents)
    ]
    items = [
        WorkItem(
            id=f"item-{n:05d}",
            conversation_id=f"conv-{n:05d}",
            workstream_id="ws",
            queue_id=rng.choice(queue_ids),
            priority=rng.choice([0, 0, 0, 1]),
            enqueued_at=T0 + timedelta(milliseconds=n),
        )
        for n in range(ITEMS)
    ]

    def write(db: Any) -> None:
        for agent in roster:
            db.execute(
                "INSERT INTO agents (id, doc) VALUES (?, ?)", (agent.id, agent.model_dump_json())
            )
            db.executemany(
                "INSERT INTO agent_queues (agent_id, queue_id) VALUES (?, ?)",
                [(agent.id, q) for q in agent.queue_ids],
            )
            db.execute(
                "INSERT INTO agent_presence (agent_id, presence) VALUES (?, ?)",
                (agent.id, agent.default_presence),
            )
        for item in items:
            conversation = Conversation(
                id=item.conversation_id,
                channel=ChannelKind.SMS,
                channel_id="sms",
                workstream_id="ws",
                customer_address=f"+1415{item.id[-5:]}",
                business_address="+12025550100",
                opened_at=T0,
            )
            db.execute(
                "INSERT INTO conversations (id, channel_id, customer_address, status, doc) "
                "VALUES (?, ?, ?, 'open', ?)",
                (
                    conversation.id,
                    "sms",
                    conversation.customer_address,
                    conversation.model_dump_json(),
                ),
            )
            SqliteStore._write_item(db, item)

    await database.atomic(write)


async def baseline(database: SqliteDatabase) -> float:
    """The store's bare atomic two-row update: an item row and an agent row in one
    transaction, as many times as it takes to time it."""

    def two_rows(n: int) -> Any:
        def update(db: Any) -> None:
            db.execute(
                "UPDATE work_items SET agent_id = agent_id WHERE id = ?", (f"item-{n % ITEMS:05d}",)
            )
            db.execute(
                "UPDATE agent_presence SET last_assigned_at = ? WHERE agent_id = ?",
                (T0.isoformat(), "agent-00000"),
            )

        return update

    started = time.perf_counter()
    for n in range(BASELINE_UPDATES):
        await database.atomic(two_rows(n))
    return BASELINE_UPDATES / (time.perf_counter() - started)


async def measure(agents: int, folder: Path) -> Result:
    database = SqliteDatabase(folder / f"routing-{agents}.db")
    await database.open()
    store = SqliteStore(database)
    try:
        await seed(database, store, agents)
        bus, clock = DiscardingBus(), SystemClock()
        routing = TimedRouting(store, bus, clock, CustomerNotices(store, bus, clock))
        routing.latencies = []
        started = time.perf_counter()
        assigned = 0
        for n in range(QUEUES):
            assigned += len(await routing.route_queue(f"q{n:03d}"))
        seconds = time.perf_counter() - started

        def looked_at(db: Any) -> list[int]:
            rows = db.execute(
                'SELECT doc FROM routing_decisions WHERE doc LIKE \'%"chosen_agent_id":"%\''
            ).fetchall()
            return [len(json.loads(row[0])["candidates"]) for row in rows]

        candidates = await database.atomic(looked_at)
        rate = await baseline(database)
        latencies = sorted(routing.latencies)
        return Result(
            agents=agents,
            assignments=assigned,
            seconds=seconds,
            p50_ms=1000 * statistics.median(latencies),
            p99_ms=1000 * latencies[int(0.99 * (len(latencies) - 1))],
            looked_at=statistics.mean(candidates),
            members_per_queue=agents * QUEUES_PER_AGENT / QUEUES,
            baseline_per_second=rate,
        )
    finally:
        await store.close()


def report(result: Result) -> str:
    return (
        f"{result.agents:>6} agents ({result.members_per_queue:.0f} members/queue): "
        f"{result.assignments} assignments in {result.seconds:.2f} s = "
        f"{result.per_second:,.0f}/s; decision p50 {result.p50_ms:.2f} ms, "
        f"p99 {result.p99_ms:.2f} ms; agents looked at per decision {result.looked_at:.2f}; "
        f"baseline two-row update {result.baseline_per_second:,.0f}/s; "
        f"ratio {result.per_second / result.baseline_per_second:.2f}"
    )


async def main(sizes: list[int]) -> None:
    print(
        f"routing bench, SQLite (WAL, synchronous=FULL): {QUEUES} queues, {ITEMS:,} waiting "
        f"items, each agent in {QUEUES_PER_AGENT} queues, methods "
        f"{', '.join(METHODS)} in turn, 1 in 5 agents away"
    )
    with tempfile.TemporaryDirectory() as folder:
        for agents in sizes:
            print(report(await measure(agents, Path(folder))), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[1_000, 10_000])
    asyncio.run(main(parser.parse_args().agents))
