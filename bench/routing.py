"""Routing at scale on the SQLite store: 1,000 and 10,000 agents across 100 queues with 50,000
waiting items, routed queue by queue by the real RoutingService; then 10,000 agents again with
skills and custom route-to-queue rules in play (items classified by 20 rules with conditions,
each rule requiring skills; agents with skills; queues matching skills exactly or closest).

Reports assignments per second, the decision latency (p50, p99: from the start of choosing the
agent for an item to the commit of the routing cycle's batch that assigns it and records the
decision), how many agents a decision looked at, and, as the baseline measured in the same run
on the same file, the rate of the store's bare atomic two-row update (one transaction updating
an item row and an agent row, what a one-at-a-time assignment must at least do). Prints the
ratio. The skills run also prints the rate of classifying items by the rules (done at ingest,
not by the router: shared/domain/routing.py `classify`).

How a decision avoids scanning the queue: a routing cycle reads up to CYCLE waiting items (in
order, off the `waiting_in_order` index) and the queue's members once, and builds an AgentIndex
(shared/domain/agent_index.py) of the eligible ones: a binary heap on the assignment method's
key or the rotation order (round robin), one per required-skill set the items ask for (exact
matching: only the agents with the skills; closest: tiers by skill gap). A decision pops the
best in O(log n) and walks past only agents it must skip; a planned assignment re-keys one
agent in each. The cycle's plan goes to the
store's `assign_batch`: one transaction, checked reads, executemany writes (bench/README.md).

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

from shared.adapters.sqlite.database import SqliteDatabase, recoverable_commits
from shared.adapters.sqlite.store import SqliteStore
from shared.adapters.system_clock import SystemClock
from shared.domain.channels import ChannelKind
from shared.domain.conversations import Conversation
from shared.domain.presence import Presence
from shared.domain.routing import RoutingFacts, classify
from shared.domain.routing_config import (
    Agent,
    AssignmentMethod,
    Condition,
    ConditionField,
    Operator,
    Queue,
    RoutingRule,
    Skill,
    SkillMatching,
    Workstream,
)
from shared.domain.work import WorkItem
from shared.services.notices import CustomerNotices
from shared.services.routing import CYCLE, RoutingService

QUEUES = 100
ITEMS = 50_000
QUEUES_PER_AGENT = 2
BASELINE_UPDATES = 5_000
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
METHODS = list(AssignmentMethod)


class DiscardingBus:
    async def send(self, queue_name: str, body: str, **options: Any) -> None:
        return None


class TimedRouting(RoutingService):
    """The real service, timing each decision from its planning to its batch's commit."""

    latencies: list[float]
    planning_started: dict[str, float]

    async def _plan(self, item: WorkItem, *args: Any, **kwargs: Any) -> Any:
        self.planning_started[item.id] = time.perf_counter()
        return await super()._plan(item, *args, **kwargs)

    async def _announce(self, won: WorkItem, plan: Any, now: datetime) -> None:
        # Called once the batch committed, for each item it gave.
        self.latencies.append(time.perf_counter() - self.planning_started.pop(won.id))
        await super()._announce(won, plan, now)


@dataclass(frozen=True)
class Result:
    agents: int
    skills: bool
    assignments: int
    seconds: float
    p50_ms: float
    p99_ms: float
    looked_at: float
    members_per_queue: float
    baseline_per_second: float
    classified_per_second: float | None

    @property
    def per_second(self) -> float:
        return self.assignments / self.seconds


SKILLS = [f"skill-{n}" for n in range(10)]
TOPICS = [f"topic-{n}" for n in range(QUEUES)]
KEYWORD = "order"


def rules() -> list[RoutingRule]:
    """One custom rule per queue, in order: the conversation's topic (a context variable) and
    a word in its first message; each requires one skill at a modest proficiency."""
    rng = random.Random(7)
    return [
        RoutingRule(
            id=f"rule-{n:03d}",
            workstream_id="ws",
            order=n,
            name=f"topic {n}",
            conditions=(
                Condition(
                    field=ConditionField.CONTEXT, key="topic", operator=Operator.EQUALS, value=topic
                ),
                Condition(field=ConditionField.TEXT, operator=Operator.CONTAINS, value=KEYWORD),
            ),
            queue_id=f"q{n:03d}",
            priority=n % 2,
            required_skills=(Skill(name=rng.choice(SKILLS), proficiency=rng.randint(1, 3)),),
        )
        for n, topic in enumerate(TOPICS)
    ]


async def seed(database: SqliteDatabase, store: SqliteStore, agents: int, skills: bool) -> float:
    """Configuration through the store's API; agents and items in one transaction each through
    the adapter's own row writers (60,000 separate fsyncs would measure the disk). With skills,
    items are classified by the custom rules; returns the rate of that classification."""
    rng = random.Random(agents)
    queue_ids = [f"q{n:03d}" for n in range(QUEUES)]
    for n, queue_id in enumerate(queue_ids):
        matching = SkillMatching.EXACT if n % 2 == 0 else SkillMatching.CLOSEST
        await store.put_queue(
            Queue(
                id=queue_id,
                name=queue_id,
                assignment_method=METHODS[n % 4],
                skill_matching=matching,
            )
        )
    workstream = Workstream(id="ws", name="SMS", channel=ChannelKind.SMS, fallback_queue_id="q000")
    await store.put_workstream(workstream)
    routing_rules = rules() if skills else []
    for rule in routing_rules:
        await store.put_rule(rule)
    roster = [
        Agent(
            id=f"agent-{n:05d}",
            display_name=f"Agent {n}",
            queue_ids=tuple(rng.sample(queue_ids, QUEUES_PER_AGENT)),
            skills=tuple(
                Skill(name=name, proficiency=rng.randint(1, 10)) for name in rng.sample(SKILLS, 4)
            )
            if skills
            else (),
            max_capacity=rng.randint(1, 3),
            default_presence=rng.choice([Presence.AVAILABLE] * 4 + [Presence.AWAY]),
        )
        for n in range(agents)
    ]
    items = []
    classifying = 0.0
    for n in range(ITEMS):
        queue_id, priority = rng.choice(queue_ids), rng.choice([0, 0, 0, 1])
        required: tuple[Skill, ...] = ()
        if skills:
            facts = RoutingFacts(
                channel="sms",
                business_address="+12025550100",
                text=f"about my {KEYWORD} {n}" if rng.random() < 0.95 else "hello",
                context={"topic": rng.choice(TOPICS)},
            )
            started = time.perf_counter()
            route = classify(workstream, routing_rules, facts)
            classifying += time.perf_counter() - started
            queue_id, priority, required = route.queue_id, route.priority, route.required_skills
        items.append(
            WorkItem(
                id=f"item-{n:05d}",
                conversation_id=f"conv-{n:05d}",
                workstream_id="ws",
                queue_id=queue_id,
                priority=priority,
                required_skills=required,
                enqueued_at=T0 + timedelta(milliseconds=n),
            )
        )

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
    return ITEMS / classifying if classifying else 0.0


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


async def measure(agents: int, folder: Path, *, skills: bool) -> Result:
    database = SqliteDatabase(folder / f"routing-{agents}-{'skills' if skills else 'plain'}.db")
    await database.open()
    store = SqliteStore(database)
    try:
        classified = await seed(database, store, agents, skills)
        bus, clock = DiscardingBus(), SystemClock()
        routing = TimedRouting(store, bus, clock, CustomerNotices(store, bus, clock))
        routing.latencies, routing.planning_started = [], {}
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
            skills=skills,
            assignments=assigned,
            seconds=seconds,
            p50_ms=1000 * statistics.median(latencies),
            p99_ms=1000 * latencies[int(0.99 * (len(latencies) - 1))],
            looked_at=statistics.mean(candidates),
            members_per_queue=agents * QUEUES_PER_AGENT / QUEUES,
            baseline_per_second=rate,
            classified_per_second=classified if skills else None,
        )
    finally:
        await store.close()


def report(result: Result) -> str:
    what = "skills + rules" if result.skills else "plain"
    classified = (
        ""
        if result.classified_per_second is None
        else f"; items classified by {QUEUES} rules {result.classified_per_second:,.0f}/s"
    )
    return (
        f"{result.agents:>6} agents, {what} ({result.members_per_queue:.0f} members/queue): "
        f"{result.assignments} assignments in {result.seconds:.2f} s = "
        f"{result.per_second:,.0f}/s; decision p50 {result.p50_ms:.2f} ms, "
        f"p99 {result.p99_ms:.2f} ms; agents looked at per decision {result.looked_at:.2f}; "
        f"baseline two-row update {result.baseline_per_second:,.0f}/s; "
        f"ratio {result.per_second / result.baseline_per_second:.2f}{classified}"
    )


async def main(sizes: list[int], skills_sizes: list[int]) -> None:
    print(
        f"routing bench, SQLite (WAL; commits as the routing consumer makes them, "
        f"synchronous=NORMAL): {QUEUES} queues, {ITEMS:,} waiting "
        f"items, each agent in {QUEUES_PER_AGENT} queues, methods "
        f"{', '.join(METHODS)} in turn, 1 in 5 agents away; {CYCLE} items per routing cycle"
    )
    # Routing runs in the routing queue's consumer, whose commits need survive only a process
    # crash (a lost one is redone by the redelivery): measured so, the baseline too.
    with tempfile.TemporaryDirectory() as folder, recoverable_commits():
        for agents in sizes:
            print(report(await measure(agents, Path(folder), skills=False)), flush=True)
        for agents in skills_sizes:
            print(report(await measure(agents, Path(folder), skills=True)), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument(
        "--skills-agents",
        type=int,
        nargs="*",
        default=[10_000],
        help="sizes run again with skills and custom route-to-queue rules",
    )
    arguments = parser.parse_args()
    asyncio.run(main(arguments.agents, arguments.skills_agents))
