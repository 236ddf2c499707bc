"""Cost per flow on the Cosmos DB store: request units, Service Bus operations and function
executions per inbound SMS, agent reply and delivery report, and the resulting cost per 1,000
conversations.

Runs the app's own services and queue-trigger functions in process against the Cosmos DB
protocol server on loopback (`make bench-cost` starts it), with the provider sender pointed at
Twilio's API stood up on loopback, so every store operation a production flow makes is made
here and counted by the adapter's instrumentation. The local server reports a flat charge (1 a
request), so request units are the adapter's estimate from Cosmos DB's documented charges
(shared/adapters/cosmos/metrics.py: a replace or patch deletes and inserts, about twice a
create, and each indexed term adds to a write); the charges the server reported are printed
beside them. Sentiment scoring follows SENTIMENT_ENABLED (on unless set to false).

Baseline, measured in the same run: one bare write of a message document through the same
store (append_message, with an id of the shape ingest gives), the least any store must do per
inbound message.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from devserver.banner import signed_twilio_form
from devserver.seed import seed_demo
from shared.adapters.cosmos.metrics import CosmosMetrics, MetricsSnapshot
from shared.adapters.cosmos.store import CosmosStore
from shared.adapters.local_bus import LocalMessageBus
from shared.bootstrap import Container, close_container, get_container
from shared.domain.channels import SmsProvider
from shared.domain.conversations import DeliveryStatus, Direction, Message, SenderKind
from shared.domain.message_ids import new_message_id
from shared.domain.presence import Presence
from shared.domain.routing_config import Agent
from shared.ports import WebhookCall, WebhookKind
from shared.settings import get_settings
from tests.channels.twilio.test_twilio_sender import CREATED
from tests.cosmos_server import COSMOS_TEST_KEY, delete_database
from tests.loopback import Answer, LoopbackApi
from tests.support import drain, twilio_call

PUBLIC = "https://omni.example.test"
TOKEN = "bench-twilio-token"  # noqa: S105 (the demo channel's, local only)
BUSINESS = "+12025550100"

# Prices (USD, pay-as-you-go, East US list prices as published by Microsoft; see docs/cost.md
# for their date and how to check them).
COSMOS_SERVERLESS_PER_MILLION_RU = 0.25
SERVICE_BUS_STANDARD_PER_MILLION_OPS = 0.80  # beyond the 13 M included each month
FLEX_PER_MILLION_EXECUTIONS = 0.40
FLEX_PER_GB_SECOND = 0.000026
FLEX_INSTANCE_GB = 2.048  # the default instance memory, 2,048 MB

# A conversation, for the per-1,000 figure: the customer writes three times, the agent
# answers three times, and Twilio reports each answer twice (sent, delivered).
CONVERSATION = {"first_inbound": 1, "follow_up_inbound": 2, "agent_reply": 3, "delivery_report": 6}
# Service Bus operations per queue message: the send, the receive and the complete.
OPS_PER_QUEUE_MESSAGE = 3


@dataclass
class FlowCost:
    name: str
    runs: int
    metrics: MetricsSnapshot
    queue_messages: int
    executions: int
    seconds: float

    def per_run(self, value: float) -> float:
        return value / self.runs

    @property
    def request_units(self) -> float:
        return self.per_run(self.metrics.estimated_request_units)


class QueueCounter:
    """Counts sends on the local queue: each is one Service Bus message in Azure."""

    def __init__(self) -> None:
        self.sent = 0
        self._send = LocalMessageBus.send

    def install(self) -> None:
        original = self._send

        async def counted(queue: LocalMessageBus, *args: Any, **kwargs: Any) -> None:
            self.sent += 1
            await original(queue, *args, **kwargs)

        LocalMessageBus.send = counted  # type: ignore[method-assign,assignment]


async def measure(
    name: str,
    runs: int,
    services: Container,
    counter: QueueCounter,
    step: Callable[[int], Awaitable[int]],
) -> FlowCost:
    """Run `step` for each run; it returns how many HTTP requests it made (executions)."""
    metrics = metrics_of(services)
    metrics.reset()
    sent_before = counter.sent
    http_calls = handled = 0
    started = time.perf_counter()
    for run in range(runs):
        http_calls += await step(run)
        handled += await drain(services, rounds=200)
    return FlowCost(
        name=name,
        runs=runs,
        metrics=metrics.snapshot(),
        queue_messages=counter.sent - sent_before,
        executions=http_calls + handled,
        seconds=time.perf_counter() - started,
    )


def metrics_of(services: Container) -> CosmosMetrics:
    assert isinstance(services.store, CosmosStore), "the cost benchmark needs the Cosmos store"
    return services.store.metrics


def twilio_status_call(url: str, params: dict[str, str]) -> WebhookCall:
    signature = RequestValidator(TOKEN).compute_signature(url, params)
    return twilio_call(url, urlencode(params), signature, WebhookKind.STATUS)


async def run(runs: int, twilio: LoopbackApi) -> list[FlowCost]:
    services = await get_container()
    await seed_demo(services.store, twilio_auth_token=TOKEN)
    # Agents with room for every benchmark conversation, so each is assigned.
    for n in range(4):
        agent = Agent(
            id=f"bench-{n}",
            display_name=f"Bench {n}",
            queue_ids=("q-general", "q-billing"),
            max_capacity=runs,
            default_presence=Presence.AVAILABLE,
        )
        await services.store.put_agent(agent)
        await services.store.set_presence(agent.id, Presence.AVAILABLE)
    counter = QueueCounter()
    counter.install()
    customers = [f"+1415555{n:04d}" for n in range(runs)]
    inbound_url = f"{PUBLIC}/api/sms/twilio"
    status_url = f"{PUBLIC}/api/sms/twilio/status"

    def inbound(text: str) -> Callable[[int], Awaitable[int]]:
        """Each customer texts the business number once, signed as Twilio signs it."""

        async def step(n: int) -> int:
            body, signature = signed_twilio_form(
                TOKEN, inbound_url, sender=customers[n], to=BUSINESS, text=text
            )
            await services.sms_webhooks.accept(
                SmsProvider.TWILIO, twilio_call(inbound_url, body, signature)
            )
            return 1

        return step

    conversations: list[tuple[str, str]] = []  # (agent, conversation), once assigned
    replies: list[str] = []

    async def reply(n: int) -> int:
        agent_id, conversation_id = conversations[n]
        message = await services.agent_work.post_message(
            agent_id, conversation_id, "It ships today.", internal=False
        )
        replies.append(message.id)
        return 1

    async def delivery_report(n: int) -> int:
        stored = await services.store.get_message(replies[n])
        assert stored is not None and stored.provider_message_id is not None
        sid = stored.provider_message_id.removeprefix("twilio:")
        for status in ("sent", "delivered"):
            await services.sms_webhooks.accept(
                SmsProvider.TWILIO,
                twilio_status_call(
                    status_url,
                    {"MessageSid": sid, "MessageStatus": status, "From": BUSINESS, "To": "x"},
                ),
            )
        return 2

    flows = [
        await measure("first inbound SMS", runs, services, counter, inbound("Where is my order?"))
    ]
    for n in range(4):
        conversations += [
            (f"bench-{n}", view.conversation.id)
            for view in await services.agent_work.my_work(f"bench-{n}")
        ]
    assert len(conversations) == runs, f"{len(conversations)} of {runs} conversations assigned"
    flows.append(
        await measure(
            "follow-up inbound SMS", runs, services, counter, inbound("It was due yesterday.")
        )
    )
    # Twilio names each message it creates; the reports find their reply by that name.
    twilio.answer_with(*(Answer(201, CREATED | {"sid": f"SM{n:032x}"}) for n in range(runs)))
    flows.append(await measure("agent reply", runs, services, counter, reply))
    flows.append(await measure("delivery report (x2)", runs, services, counter, delivery_report))
    delivered = [await services.store.get_message(m) for m in replies]
    assert all(m is not None and m.status == DeliveryStatus.DELIVERED for m in delivered)
    flows.append(await baseline(services, runs))
    return flows


async def baseline(services: Container, runs: int) -> FlowCost:
    metrics = metrics_of(services)
    metrics.reset()
    started = time.perf_counter()
    conversation_id = uuid.uuid4().hex
    for n in range(runs):
        await services.store.append_message(
            Message(
                id=new_message_id(conversation_id),
                conversation_id=conversation_id,
                direction=Direction.INBOUND,
                sender=SenderKind.CUSTOMER,
                text="Where is my order?",
                provider_message_id=f"twilio:SMbaseline{n}",
                status=DeliveryStatus.RECEIVED,
                created_at=services.clock.now(),
            )
        )
    return FlowCost(
        "baseline: one message write", runs, metrics.snapshot(), 0, 0, time.perf_counter() - started
    )


def report(flows: list[FlowCost]) -> str:
    by_name = {f.name: f for f in flows}
    base = by_name["baseline: one message write"].request_units
    lines = [
        f"{'flow':<28}{'RU/run':>9}{'reported':>10}{'x base':>8}{'queue msgs':>11}"
        f"{'executions':>11}{'ms/run':>9}  operations per run",
    ]
    for flow in flows:
        operations = Counter(
            {str(k): round(v / flow.runs, 2) for k, v in flow.metrics.operations.items()}
        )
        lines.append(
            f"{flow.name:<28}{flow.request_units:>9.1f}"
            f"{flow.per_run(flow.metrics.reported_request_units):>10.1f}"
            f"{flow.request_units / base:>8.1f}{flow.per_run(flow.queue_messages):>11.1f}"
            f"{flow.per_run(flow.executions):>11.1f}{1000 * flow.per_run(flow.seconds):>9.0f}  "
            + ", ".join(f"{k} {v:g}" for k, v in sorted(operations.items()))
        )
    inbound = by_name["first inbound SMS"].request_units
    follow_up = by_name["follow-up inbound SMS"].request_units
    lines.append(f"\nfirst inbound SMS, ingested and routed: {inbound:.1f} RU (aim: <= 30)")
    lines.append(f"follow-up inbound SMS, ingested: {follow_up:.1f} RU (aim: <= 15)")
    lines.append(f"ratio to the baseline write ({base:.1f} RU): {inbound / base:.1f}x")

    keys = {
        "first_inbound": "first inbound SMS",
        "follow_up_inbound": "follow-up inbound SMS",
        "agent_reply": "agent reply",
        "delivery_report": "delivery report (x2)",
    }
    ru = queue_messages = executions = seconds = 0.0
    for key, count in CONVERSATION.items():
        flow = by_name[keys[key]]
        share = count / (2 if key == "delivery_report" else 1)  # that flow is two reports
        ru += share * flow.request_units
        queue_messages += share * flow.per_run(flow.queue_messages)
        executions += share * flow.per_run(flow.executions)
        seconds += share * flow.per_run(flow.seconds)
    cosmos = 1000 * ru * COSMOS_SERVERLESS_PER_MILLION_RU / 1e6
    bus = 1000 * queue_messages * OPS_PER_QUEUE_MESSAGE * SERVICE_BUS_STANDARD_PER_MILLION_OPS / 1e6
    functions = 1000 * (
        executions * FLEX_PER_MILLION_EXECUTIONS / 1e6
        + seconds * FLEX_INSTANCE_GB * FLEX_PER_GB_SECOND
    )
    lines += [
        "\nper conversation (3 inbound, 3 replies, 6 delivery reports): "
        f"{ru:.0f} RU, {queue_messages:.0f} queue messages, {executions:.0f} executions, "
        f"{seconds * 1000:.0f} ms of handler time",
        "per 1,000 conversations: "
        f"Cosmos DB serverless ${cosmos:.4f}, Service Bus Standard operations ${bus:.4f}, "
        f"Flex Consumption ${functions:.4f}, total ${cosmos + bus + functions:.4f}",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40, help="conversations per flow")
    args = parser.parse_args()
    endpoint = os.environ.get("COSMOS_TEST_ENDPOINT")
    if not endpoint:
        raise SystemExit("needs COSMOS_TEST_ENDPOINT: run `make bench-cost`")
    database = f"bench-{uuid.uuid4().hex[:8]}"
    with (
        tempfile.TemporaryDirectory() as data,
        LoopbackApi(Answer(201, CREATED)).running() as twilio,
    ):
        os.environ.update(
            {
                "LOCAL_SETTINGS_FILE": str(Path(data) / "absent.json"),
                "STORAGE_BACKEND": "cosmos",
                "COSMOS_ENDPOINT": endpoint,
                "COSMOS_KEY": COSMOS_TEST_KEY,
                "COSMOS_VERIFY_TLS": "false",
                "COSMOS_DATABASE": database,
                "SQLITE_PATH": str(Path(data) / "queue.db"),
                "DEV_AUTH_KEY_FILE": str(Path(data) / "key.pem"),
                "PUBLIC_BASE_URL": PUBLIC,
                "SMS_SENDER": "providers",
                "TWILIO_API_BASE_URL": twilio.base_url,
            }
        )
        get_settings.cache_clear()

        async def bench() -> list[FlowCost]:
            try:
                return await run(args.runs, twilio)
            finally:
                await close_container()
                await delete_database(endpoint, database)

        flows = asyncio.run(bench())
    print(f"Cost per flow, {args.runs} runs each, Cosmos DB store on the local protocol server\n")
    print(report(flows))


if __name__ == "__main__":
    main()
