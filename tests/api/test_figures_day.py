"""A scripted day of traffic through the API (seeded random: arrivals, routing, transfers to
queues and to agents, closes, presence choices, a sign-out), then the aggregates timer: its
figures must equal numbers the test works out on its own, from its ledger of what it did and
saw and from the routing decisions recorded (a record the figures are not folded from).

Time is the test's: it notes every agent's presence after each action and only then lets a
second pass, so what it notes holds until its next note, and no two actions share an instant."""

from __future__ import annotations

import random
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from shared.bootstrap import Container
from shared.bus_messages import INBOUND
from shared.domain.figures import DayFigures, FigureScope, presence_field
from shared.domain.identity import Role
from shared.domain.presence import Presence, PresencePolicy, PresenceSettings
from shared.domain.work import RoutingDecision, WorkItem
from tests.support import ManualClock, bearer, drain, twilio_inbound

AGENTS = ("alice", "bob", "carol")
QUEUES = ("q-general", "q-billing")
DAY_START = datetime(2026, 11, 2, 8, tzinfo=UTC)
STEP = timedelta(minutes=5)
STEPS = 120  # 08:00 to 18:00, a step every five minutes
END_OF_DAY = datetime(2026, 11, 2, 23, 59, tzinfo=UTC)
THRESHOLD = 60.0  # seconds: the default service-level threshold


@dataclass
class Ledger:
    """What the script did and saw, keyed as the figures are."""

    incoming: Counter[str] = field(default_factory=Counter)
    transfers: Counter[str] = field(default_factory=Counter)  # queue ids and agent ids
    handled: Counter[str] = field(default_factory=Counter)
    handle_seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    entered_queue_at: dict[str, datetime] = field(default_factory=dict)  # item id
    presence: dict[str, list[tuple[datetime, Presence]]] = field(
        default_factory=lambda: defaultdict(list)
    )


async def test_a_scripted_day_gives_the_figures_worked_out_independently(
    client: httpx.AsyncClient, clocked: Container, clock: ManualClock
) -> None:
    rng = random.Random(8)
    ledger = Ledger()
    clock.instant = DAY_START
    # No silence rule while the script sends no heartbeats: presence moves only as it acts.
    await clocked.presence.put_settings(
        PresenceSettings(
            policy=PresencePolicy(
                inactivity_timeout=timedelta(days=1), disconnect_grace=timedelta(days=1)
            )
        )
    )
    token = {a: bearer(clocked, a, Role.AGENT) for a in AGENTS}
    supervisor = bearer(clocked, "sue", Role.SUPERVISOR)
    for agent in AGENTS:
        assert (await client.post("/api/agents/me/sign-in", headers=token[agent])).is_success

    async def moment_passes() -> None:
        """Routing catches up, the test notes every agent's presence, and a second passes: no
        two of the script's actions share an instant, so records order without ties."""
        await drain(clocked)
        seen = (await client.get("/api/supervisor/agents", headers=supervisor)).json()["items"]
        for monitored in seen:
            noted = (clock.now(), Presence(monitored["presence"]))
            ledger.presence[monitored["agent_id"]].append(noted)
        clock.advance(timedelta(seconds=1))

    for agent in AGENTS:
        assert (await client.post("/api/agents/me/sign-in", headers=token[agent])).is_success
    await moment_passes()
    for step in range(STEPS):
        clock.instant = DAY_START + step * STEP
        for n in range(rng.choice((0, 1, 2, 3))):
            billing = rng.random() < 0.3
            message = twilio_inbound(
                f"SM{step:03d}{n}",
                at=clock.now(),
                text="about my bill" if billing else "hello",
                sender=f"+1415555{step:03d}{n}",
            )
            await clocked.bus.send(
                INBOUND, message.model_dump_json(), session_id=message.session_key
            )
            ledger.incoming["q-billing" if billing else "q-general"] += 1
        await moment_passes()
        for agent in AGENTS:
            await act(client, rng, ledger, agent, token, clock, moment_passes)
        if step == 48:  # 12:00: bob signs out; carol steps away
            await client.post("/api/agents/me/sign-out", headers=token["bob"])
            await client.put(
                "/api/agents/me/presence", json={"presence": "away"}, headers=token["carol"]
            )
            await moment_passes()
        if step == 60:  # 13:00: both are back
            await client.post("/api/agents/me/sign-in", headers=token["bob"])
            await client.put(
                "/api/agents/me/presence", json={"presence": "available"}, headers=token["carol"]
            )
            await moment_passes()

    clock.instant = END_OF_DAY
    assert await clocked.figures.aggregate() == [DAY_START.date()]
    queues = {
        f.key: f for f in await clocked.store.day_figures(DAY_START.date(), FigureScope.QUEUE)
    }
    agents = {
        f.key: f for f in await clocked.store.day_figures(DAY_START.date(), FigureScope.AGENT)
    }
    decisions = await routing_choices(clocked)
    routed = last_choices(decisions)
    # A real day: work handled and transferred, and some waiting past the threshold.
    assert sum(ledger.handled.values()) > 100 and sum(ledger.transfers.values()) > 20
    assert 0 < sum(q.answered_within_threshold for q in queues.values()) < len(routed)

    for queue in QUEUES:
        figures = queues[queue]
        offers = [d for d in decisions if d.queue == queue]
        waits = [d.wait for d in routed if d.queue == queue]
        assert (figures.incoming, figures.offered) == (ledger.incoming[queue], len(offers))
        assert (figures.assigned, figures.wait_seconds) == (len(waits), sum(waits))
        assert figures.longest_wait_seconds == max(waits, default=0)
        assert figures.answered_within_threshold == sum(w <= THRESHOLD for w in waits)
        assert (figures.handled, figures.transfers) == (
            ledger.handled[queue],
            ledger.transfers[queue],
        )
        assert figures.handle_seconds == ledger.handle_seconds[queue]
        assert figures.abandoned == 0
    for agent in AGENTS:
        figures = agents[agent]
        offers = [d for d in decisions if d.agent == agent]
        assert figures.offered == len(offers)
        assert figures.assigned == sum(d.agent == agent for d in routed)
        assert (figures.handled, figures.transfers) == (
            ledger.handled[agent],
            ledger.transfers[agent],
        )
        assert figures.handle_seconds == ledger.handle_seconds[agent]
        assert presence_seconds(figures) == time_per_presence(ledger.presence[agent])
    # Every second from the first sign-in at 08:00 to the timer's run is accounted for.
    assert all(sum(presence_seconds(agents[a]).values()) == 16 * 3600 - 60 for a in AGENTS)


async def act(
    client: httpx.AsyncClient,
    rng: random.Random,
    ledger: Ledger,
    agent: str,
    token: dict[str, dict[str, str]],
    clock: ManualClock,
    moment_passes: Callable[[], Awaitable[None]],
) -> None:
    """The agent's turn: each active item of theirs may be closed or transferred."""
    work = (await client.get("/api/agents/me/work", headers=token[agent])).json()
    for view in work:
        item = WorkItem.model_validate(view["item"])
        if view["role"] != "primary" or item.status != "active":
            continue
        conversation = f"/api/conversations/{item.conversation_id}"
        roll = rng.random()
        if roll < 0.3:
            assert (await client.post(f"{conversation}/end", headers=token[agent])).is_success
            assert (await client.post(f"{conversation}/close", headers=token[agent])).is_success
            assert item.assigned_at is not None
            for key in (item.queue_id, agent):
                ledger.handled[key] += 1
                ledger.handle_seconds[key] += (clock.now() - item.assigned_at).total_seconds()
        elif roll < 0.4:
            other = next(q for q in QUEUES if q != item.queue_id)
            moved = await client.post(
                f"{conversation}/transfer", json={"queue_id": other}, headers=token[agent]
            )
            assert moved.is_success
            ledger.incoming[other] += 1
            ledger.transfers.update((item.queue_id, agent))
        elif roll < 0.45:
            receiver = rng.choice([a for a in AGENTS if a != agent])
            moved = await client.post(
                f"{conversation}/transfer", json={"agent_id": receiver}, headers=token[agent]
            )
            if moved.is_success:  # the receiver may have no room, or be away: 409
                ledger.transfers.update((item.queue_id, agent))
            else:
                assert moved.status_code == 409
        else:
            continue
        await moment_passes()


@dataclass(frozen=True)
class Choice:
    item: str
    queue: str
    agent: str
    at: datetime
    wait: float


async def routing_choices(services: Container) -> list[Choice]:
    """Routing's assignments as its decision log recorded them, each with its wait: since the
    item arrived, or since the transfer that put it back in a queue."""
    choices = []
    with sqlite3.connect(services.settings.sqlite_path) as db:
        conversation_ids = [row[0] for row in db.execute("SELECT id FROM conversations")]
    for conversation_id in conversation_ids:
        entered: dict[str, datetime] = {}
        # A transfer to a queue and routing there share an instant; the transfer came first.
        for decision in sorted(
            await services.store.routing_decisions(conversation_id),
            key=lambda d: (d.decided_at, not is_transfer_to_queue(d)),
        ):
            if is_transfer_to_queue(decision):
                entered[decision.item_id] = decision.decided_at
            if decision.method is None or decision.chosen_agent_id is None:
                continue
            item = await services.store.get_work_item(decision.item_id)
            assert item is not None
            since = entered.get(decision.item_id, item.enqueued_at)
            choices.append(
                Choice(
                    item=decision.item_id,
                    queue=decision.queue_id,
                    agent=decision.chosen_agent_id,
                    at=decision.decided_at,
                    wait=(decision.decided_at - since).total_seconds(),
                )
            )
    return choices


def is_transfer_to_queue(decision: RoutingDecision) -> bool:
    return decision.reason.startswith("transferred by") and " to queue " in decision.reason


def last_choices(choices: list[Choice]) -> list[Choice]:
    """Per item, routing's last choice: its assignment (work transferred to a queue is routed
    again there; the figures count it assigned in the queue it was last routed in)."""
    last: dict[str, Choice] = {}
    for choice in sorted(choices, key=lambda c: c.at):
        last[choice.item] = choice
    return list(last.values())


def presence_seconds(figures: DayFigures) -> dict[Presence, float]:
    return {p: s for p in Presence if (s := getattr(figures, presence_field(p)))}


def time_per_presence(seen: list[tuple[datetime, Presence]]) -> dict[Presence, float]:
    """What was observed after each step held until the next observation, the last until the
    timer ran."""
    totals: defaultdict[Presence, float] = defaultdict(float)
    for (at, presence), (until, _) in zip(
        seen, [*seen[1:], (END_OF_DAY, Presence.OFFLINE)], strict=True
    ):
        totals[presence] += (until - at).total_seconds()
    return {p: s for p, s in totals.items() if s}
