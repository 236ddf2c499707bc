"""The local runtime SIGKILLed at random points while customers text in and agents work their
conversations over HTTP (accept, decline, reply, internal note, end, close, transfer, presence),
restarted after each kill; then, once the queues have drained:

- every message a customer sent is stored once, in the order sent, in one open conversation
  per number (invariants 3, 4 and 9): what the kill left unanswered the provider retries;
- every conversation has its work waiting, offered, active or in wrap-up, unless an agent
  closed it after its customer's last message: none is lost (invariant 2);
- no agent holds more than its capacity (invariant 1), as each kill left it and at the end;
- every agent action answered 2xx is durable: its reply or note stored exactly once, its item
  where the action left it; one refused (403, 404, 409) changed nothing; one unanswered
  happened at most once, and wholly: a stored reply is sent; no internal note is ever sent
  (invariant 5); no request failed otherwise (5xx).

The kill points and the agents' choices come from a seed, printed, and taken from CRASH_SEED
when set, to replay a failure (thread timing still varies). `make soak` runs it SOAK_FACTOR
times with other seeds."""

from __future__ import annotations

import itertools
import os
import random
import signal
import sqlite3
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx
import pytest

from devserver.banner import signed_twilio_form
from devserver.seed import AGENTS, SMS_NUMBER
from shared.domain.work import CAPACITY_HOLDING, WorkItemStatus
from tests.e2e.runtime import TWILIO_TOKEN, Runtime, eventually, free_port
from tests.reliability.soak import factor

pytestmark = pytest.mark.e2e

NUMBERS = [f"+1415555{n:04d}" for n in range(8100, 8108)]
KILLS = 4
"""Per test, each followed by a restart; then a last burst ends without one."""
ACKNOWLEDGED_BEFORE_KILL = (10, 60)
"""Each burst is killed once this many requests (a random number in the range) were answered."""
CUSTOMER_PAUSE = 0.08
"""Seconds between a customer's texts, on average."""
QUEUES = ("q-general", "q-billing")
OFFER_TIMEOUT_SECONDS = 300
"""Offers never lapse during a test: work is offered, and agents accept or decline it."""
CAPACITY = {agent.id: agent.max_capacity for agent in AGENTS}


class Outcome(StrEnum):
    ACKNOWLEDGED = "acknowledged"  # answered 2xx
    REFUSED = "refused"  # answered 403, 404 or 409: nothing changed
    UNANSWERED = "unanswered"  # the kill dropped it: it may or may not have happened


class Kind(StrEnum):
    ACCEPT = "accept"
    DECLINE = "decline"
    REPLY = "reply"
    NOTE = "note"
    END = "end"
    CLOSE = "close"
    TO_QUEUE = "transfer to queue"
    TO_AGENT = "transfer to agent"
    PRESENCE = "presence"


@dataclass(frozen=True)
class Action:
    order: int
    """When it was sent, across all agents: an item's actions follow one another."""
    agent: str
    kind: Kind
    conversation_id: str | None = None
    item_id: str | None = None
    argument: str | None = None
    """The reply's or note's text, the queue or agent transferred to, or the presence."""


@dataclass
class Customer:
    number: str
    sent: list[str] = field(default_factory=list)
    """Every text sent, in order; the last may be unanswered."""
    unanswered: bool = False
    """The last text got no answer: like a provider, it is sent again after the restart."""

    def next_text(self) -> str:
        # Half the customers write about refunds: the billing queue, with its priority.
        topic = "refund" if int(self.number[-1]) % 2 else "order"
        return f"{topic} {self.number[-4:]}-{len(self.sent):03d}"


@dataclass
class Ledger:
    """What the customers and agents sent and how each request ended, shared by their threads."""

    actions: dict[Action, Outcome] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    answered: int = 0
    _orders: Iterator[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def next_order(self) -> int:
        with self._lock:
            return next(self._orders)

    def record(self, action: Action, outcome: Outcome) -> None:
        with self._lock:
            self.actions[action] = outcome
            self.answered += outcome is not Outcome.UNANSWERED

    def customer_answered(self) -> None:
        with self._lock:
            self.answered += 1

    def fail(self, what: str, response: httpx.Response) -> None:
        with self._lock:
            self.failures.append(f"{what}: {response.status_code} {response.text[:300]}")

    def of(self, *kinds: Kind) -> list[tuple[Action, Outcome]]:
        return sorted(
            ((a, o) for a, o in self.actions.items() if a.kind in kinds), key=lambda p: p[0].order
        )


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    started = Runtime(tmp_path / "data", free_port())
    yield started
    if started.process is not None and started.process.poll() is None:
        started.stop(signal.SIGKILL)


# --- the customers --------------------------------------------------------------------------


def text_in(
    runtime: Runtime,
    customer: Customer,
    ledger: Ledger,
    rng: random.Random,
    stop: threading.Event,
) -> None:
    """Text the business number until stopped or cut off, as Twilio posts each SMS."""
    url = f"{runtime.base}/api/sms/twilio"
    with httpx.Client(timeout=10) as http:
        while not stop.is_set():
            if not customer.unanswered:
                time.sleep(rng.uniform(0, 2 * CUSTOMER_PAUSE))  # people type: agents keep up
                customer.sent.append(customer.next_text())
            body, signature = signed_twilio_form(
                TWILIO_TOKEN,
                url,
                sender=customer.number,
                to=SMS_NUMBER,
                text=customer.sent[-1],
                sid=f"SM{customer.number[-4:]}{len(customer.sent):04d}",
            )
            customer.unanswered = True
            try:
                response = http.post(
                    url,
                    content=body,
                    headers={
                        "X-Twilio-Signature": signature,
                        "Content-Type": "application/x-www-form-urlencoded",
                    },
                )
            except httpx.TransportError:
                return
            if response.status_code != 200:
                ledger.fail(f"SMS from {customer.number}", response)
                return
            customer.unanswered = False
            ledger.customer_answered()


# --- the agents -----------------------------------------------------------------------------

REFUSALS = {403, 404, 409}


def act(http: httpx.Client, ledger: Ledger, action: Action) -> Outcome:
    """Send one agent action and record how it ended."""
    path = f"/api/conversations/{action.conversation_id}"
    method, url, body = {
        Kind.ACCEPT: ("POST", f"{path}/accept", None),
        Kind.DECLINE: ("POST", f"{path}/decline", None),
        Kind.REPLY: ("POST", f"{path}/messages", {"text": action.argument}),
        Kind.NOTE: ("POST", f"{path}/messages", {"text": action.argument, "internal": True}),
        Kind.END: ("POST", f"{path}/end", None),
        Kind.CLOSE: ("POST", f"{path}/close", None),
        Kind.TO_QUEUE: ("POST", f"{path}/transfer", {"queue_id": action.argument}),
        Kind.TO_AGENT: ("POST", f"{path}/transfer", {"agent_id": action.argument}),
        Kind.PRESENCE: ("PUT", "/api/agents/me/presence", {"presence": action.argument}),
    }[action.kind]
    try:
        response = http.request(method, url, json=body)
    except httpx.TransportError:
        outcome = Outcome.UNANSWERED
    else:
        if response.is_success:
            outcome = Outcome.ACKNOWLEDGED
        elif response.status_code in REFUSALS:
            outcome = Outcome.REFUSED
        else:
            ledger.fail(f"{action.agent} {action.kind}", response)
            outcome = Outcome.REFUSED
    ledger.record(action, outcome)
    return outcome


CHOICES: dict[str, dict[Kind, int]] = {
    WorkItemStatus.OFFERED: {Kind.ACCEPT: 9, Kind.DECLINE: 1},
    WorkItemStatus.ACTIVE: {
        Kind.REPLY: 7,
        Kind.NOTE: 3,
        Kind.END: 3,
        Kind.CLOSE: 3,
        Kind.TO_QUEUE: 2,
        Kind.TO_AGENT: 2,
    },
    WorkItemStatus.WRAP_UP: {Kind.CLOSE: 1},
}
"""What an agent does with an item in each status, and how often."""


def choose(agent: str, view: dict[str, Any], rng: random.Random, order: int) -> Action:
    """What the agent does next with one of its items."""
    item = view["item"]
    kinds = CHOICES[item["status"]]
    kind = rng.choices(list(kinds), weights=list(kinds.values()))[0]
    argument = {
        Kind.REPLY: f"reply {agent}-{order}",
        Kind.NOTE: f"note {agent}-{order}",
        Kind.TO_QUEUE: rng.choice(QUEUES),
        Kind.TO_AGENT: rng.choice([a for a in CAPACITY if a != agent]),
    }.get(kind)
    return Action(order, agent, kind, view["conversation"]["id"], item["id"], argument)


def work(
    runtime: Runtime, agent: str, ledger: Ledger, rng: random.Random, stop: threading.Event
) -> None:
    """Work the agent's conversations until stopped or cut off: one action at a time, now
    and then a short absence."""
    with httpx.Client(base_url=runtime.base, headers=runtime.auth(agent), timeout=10) as http:
        while not stop.is_set():
            if rng.random() < 0.05:
                for presence in ("away", "available"):
                    change = Action(ledger.next_order(), agent, Kind.PRESENCE, argument=presence)
                    if act(http, ledger, change) is Outcome.UNANSWERED:
                        return
                continue
            try:
                response = http.get("/api/agents/me/work")
            except httpx.TransportError:
                return
            if response.status_code != 200:
                ledger.fail(f"{agent}'s work", response)
                return
            views = [view for view in response.json() if view["role"] == "primary"]
            if not views:
                time.sleep(0.02)
                continue
            action = choose(agent, rng.choice(views), rng, ledger.next_order())
            if act(http, ledger, action) is Outcome.UNANSWERED:
                return


# --- a burst, killed or not ---------------------------------------------------------------------


def start(runtime: Runtime) -> None:
    """Start the runtime with work offered (the demo seed, re-applied on each start, assigns
    it outright) and every agent back and available."""
    runtime.start()
    admin = runtime.auth("admin")
    url = f"{runtime.base}/api/admin/workstreams/ws-sms"
    workstream = httpx.get(url, headers=admin).json()
    workstream["offer_timeout_seconds"] = OFFER_TIMEOUT_SECONDS
    httpx.put(url, json=workstream, headers=admin).raise_for_status()
    for agent in CAPACITY:
        httpx.put(
            f"{runtime.base}/api/agents/me/presence",
            json={"presence": "available"},
            headers=runtime.auth(agent),
        ).raise_for_status()


def burst(
    runtime: Runtime,
    customers: list[Customer],
    ledger: Ledger,
    rng: random.Random,
    *,
    kill: bool,
) -> None:
    """Customers text and agents work until a random number of requests were answered; then
    the runtime is SIGKILLed (kill) or they finish what they are sending."""
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=text_in, args=(runtime, customer, ledger, random.Random(rng.random()), stop)
        )
        for customer in customers
    ] + [
        threading.Thread(
            target=work, args=(runtime, agent, ledger, random.Random(rng.random()), stop)
        )
        for agent in CAPACITY
    ]
    for thread in threads:
        thread.start()
    target = ledger.answered + rng.randint(*ACKNOWLEDGED_BEFORE_KILL)
    eventually(lambda: ledger.answered >= target or ledger.failures, "the burst under way")
    time.sleep(rng.uniform(0, 0.05))  # anywhere within the requests then in flight
    if kill:
        assert runtime.stop(signal.SIGKILL) == -signal.SIGKILL
    stop.set()
    for thread in threads:
        thread.join()
    assert not ledger.failures, ledger.failures


# --- what the database holds ----------------------------------------------------------------


def query(runtime: Runtime, sql: str, *parameters: object) -> list[sqlite3.Row]:
    with sqlite3.connect(runtime.data_dir / "omnichannel.db", timeout=10) as db:
        db.row_factory = sqlite3.Row
        return db.execute(sql, parameters).fetchall()


def drained(runtime: Runtime, customers: list[Customer]) -> bool:
    """Nothing left to handle now (an offer's lapse, scheduled for later, is not yet), and
    every customer's texts stored."""
    (pending,) = query(
        runtime, "SELECT COUNT(*) FROM queue_messages WHERE enqueued_at <= ?", time.time()
    )[0]
    stored = Counter(
        row[0]
        for row in query(
            runtime,
            "SELECT c.customer_address FROM messages m "
            "JOIN conversations c ON c.id = m.conversation_id "
            "WHERE json_extract(m.doc, '$.sender') = 'customer'",
        )
    )
    return pending == 0 and all(stored[c.number] >= len(c.sent) for c in customers)


def check_customer_messages(runtime: Runtime, customers: list[Customer]) -> None:
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in query(
        runtime,
        "SELECT c.customer_address, c.id, json_extract(m.doc, '$.text') AS text "
        "FROM messages m JOIN conversations c ON c.id = m.conversation_id "
        "WHERE json_extract(m.doc, '$.sender') = 'customer' "
        "ORDER BY c.customer_address, m.sequence",
    ):
        found[row["customer_address"]].append((row["id"], row["text"]))
    for customer in customers:
        messages = found[customer.number]
        assert len({conversation for conversation, _ in messages}) == 1, customer.number  # 9
        assert [text for _, text in messages] == customer.sent, customer.number  # 3 and 4


def check_agent_messages(runtime: Runtime, ledger: Ledger) -> None:
    stored: dict[str, list[sqlite3.Row]] = defaultdict(list)
    for row in query(
        runtime,
        "SELECT m.id, m.conversation_id, m.internal, json_extract(m.doc, '$.text') AS text, "
        "json_extract(m.doc, '$.status') AS status, "
        "(SELECT COUNT(*) FROM sent_sms s WHERE json_extract(s.doc, '$.message_id') = m.id) "
        "AS sent FROM messages m WHERE json_extract(m.doc, '$.sender') = 'agent'",
    ):
        stored[row["text"]].append(row)
    for action, outcome in ledger.of(Kind.REPLY, Kind.NOTE):
        copies = stored.pop(action.argument or "", [])
        if outcome is Outcome.UNANSWERED:
            assert len(copies) <= 1, (action, outcome, len(copies))
        else:
            assert len(copies) == (outcome is Outcome.ACKNOWLEDGED), (action, outcome, len(copies))
        for copy in copies:
            assert copy["conversation_id"] == action.conversation_id, action
            assert copy["internal"] == (action.kind is Kind.NOTE), action
            # Stored means sent: a reply is never left behind (flow 4); a note never goes (5).
            assert copy["sent"] == (action.kind is Kind.REPLY), (action, outcome, dict(copy))
            assert copy["status"] == ("sent" if action.kind is Kind.REPLY else None), action
    assert not stored, f"agent messages no agent wrote: {list(stored)}"


ROUTED = {"waiting", "offered", "active"}
"""Where routing may put work back in a queue: offered, or assigned outright in the moment
after a restart before `start` configures offers again."""


def outcomes(action: Action) -> Callable[[sqlite3.Row], bool]:
    """Where the action leaves its item, routing's part included."""
    if action.kind is Kind.ACCEPT:
        return lambda item: (item["status"], item["agent_id"]) == ("active", action.agent)
    if action.kind is Kind.DECLINE:  # the decliner is passed over for it a while
        return lambda item: item["status"] in ROUTED and item["agent_id"] != action.agent
    if action.kind is Kind.END:
        return lambda item: (item["status"], item["agent_id"]) == ("wrap_up", action.agent)
    if action.kind is Kind.CLOSE:
        return lambda item: item["status"] == "closed"
    if action.kind is Kind.TO_QUEUE:
        return lambda item: item["status"] in ROUTED and item["queue_id"] == action.argument
    assert action.kind is Kind.TO_AGENT
    return lambda item: (item["status"], item["agent_id"]) == ("active", action.argument)


def check_capacity(runtime: Runtime) -> Counter[str]:
    """Invariant 1: no agent holds more units than its capacity. Returns what each holds."""
    held: Counter[str] = Counter()
    for row in query(runtime, "SELECT agent_id, status, capacity_units FROM work_items"):
        if row["status"] in CAPACITY_HOLDING:
            held[row["agent_id"]] += row["capacity_units"]
    for agent, units in held.items():
        assert units <= CAPACITY[agent], (agent, units)
    return held


def check_work(runtime: Runtime, ledger: Ledger) -> None:
    items = {
        row["id"]: row
        for row in query(
            runtime,
            "SELECT id, conversation_id, status, agent_id, queue_id, "
            "json_extract(doc, '$.enqueued_at') AS enqueued_at, "
            "json_extract(doc, '$.closed_at') AS closed_at FROM work_items",
        )
    }
    for item in items.values():
        assert (item["agent_id"] is None) == (item["status"] == "waiting"), dict(item)  # 2

    # Each item is where the last action sent to it left it; after an unanswered one, where
    # that or an earlier one since the last acknowledged did.
    by_item: dict[str, list[tuple[Action, Outcome]]] = defaultdict(list)
    for action, outcome in ledger.of(*(set(Kind) - {Kind.REPLY, Kind.NOTE, Kind.PRESENCE})):
        if outcome is not Outcome.REFUSED:
            by_item[action.item_id or ""].append((action, outcome))
    for item_id, actions in by_item.items():
        possible = []
        for action, outcome in reversed(actions):
            possible.append(outcomes(action))
            if outcome is Outcome.ACKNOWLEDGED:
                break
        else:
            continue  # none acknowledged: it may be where routing put it
        assert any(could(items[item_id]) for could in possible), (dict(items[item_id]), actions)

    # None lost: a conversation's last item is open, or an agent closed it after the
    # customer's last message (a later one would have opened new work).
    last_customer_message: dict[str, datetime] = {}
    for row in query(
        runtime,
        "SELECT conversation_id, json_extract(doc, '$.created_at') FROM messages "
        "WHERE json_extract(doc, '$.sender') = 'customer'",
    ):
        at = datetime.fromisoformat(row[1])
        last_customer_message[row[0]] = max(at, last_customer_message.get(row[0], at))
    closers = {a.conversation_id for a, _ in ledger.of(Kind.CLOSE)}
    last_items: dict[str, sqlite3.Row] = {}
    for item in sorted(items.values(), key=lambda i: (i["status"] != "closed", i["enqueued_at"])):
        last_items[item["conversation_id"]] = item
    assert set(last_items) == set(last_customer_message)
    closed_conversations = {
        row[0] for row in query(runtime, "SELECT id FROM conversations WHERE status = 'closed'")
    }
    for conversation_id, item in last_items.items():
        # A conversation closes with its last item, never while it has work (issue 15).
        if conversation_id in closed_conversations:
            assert item["status"] == "closed", dict(item)
        if item["status"] == "closed":
            assert conversation_id in closers, dict(item)
            closed_at = datetime.fromisoformat(item["closed_at"])
            assert closed_at >= last_customer_message[conversation_id], dict(item)


@pytest.mark.parametrize("round_", range(factor()))  # once; SOAK_FACTOR times in `make soak`
def test_acknowledged_messages_and_agent_actions_survive_sigkills(
    runtime: Runtime, round_: int
) -> None:
    seed = int(os.environ.get("CRASH_SEED") or random.randrange(2**32)) + round_
    print(f"CRASH_SEED={seed}")  # pytest shows it when the test fails
    rng = random.Random(seed)
    customers = [Customer(number) for number in NUMBERS]
    ledger = Ledger()
    for kill in [True] * KILLS + [False]:
        start(runtime)
        burst(runtime, customers, ledger, rng, kill=kill)
        check_capacity(runtime)  # as the kill left it too
    eventually(lambda: drained(runtime, customers), "the queues drained after the last burst")
    assert runtime.stop() == 0
    assert not query(runtime, "SELECT queue, reason FROM dead_letters")

    print("agent actions:", Counter(f"{a.kind} {o}" for a, o in ledger.actions.items()))
    assert Outcome.ACKNOWLEDGED in ledger.actions.values()
    check_customer_messages(runtime, customers)
    check_agent_messages(runtime, ledger)
    assert check_capacity(runtime), "some work was held"
    check_work(runtime, ledger)
