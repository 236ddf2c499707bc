"""One customer message and its answer are one trace: from Twilio's signed webhook through
`inbound`, ingest, `route`, the offer, the agent's accept and reply, `outbound` and the send,
to Twilio's delivery report, on the local runtime's bus and triggers, with spans exported in
memory. The requests that continue the trace (the agent's, Twilio's callback) keep their own
trace, linked; no span carries a number, an address or a text; the metrics are recorded."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import httpx
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from shared import telemetry
from shared.bootstrap import Container
from shared.domain.identity import Role
from tests.api.test_routing_flow import configure_workstream
from tests.channels.twilio.test_twilio import post_status
from tests.support import (
    assert_no_personal_data,
    bearer,
    counter_total,
    drain,
    gauge_value,
    histogram_count,
    post_twilio_sms,
    unique_number,
)

CUSTOMER_TEXT = "My parcel to 12 Elm Street never came"
REPLY_TEXT = "Sorry about that, Ada: a new one leaves today"
BUSINESS = "+12025550100"

# The conversation's trace, in the order the work happens (the "received" notice ingest sends
# adds its own send spans to the same trace).
CHAIN = (
    "POST /api/sms/twilio",
    "send inbound",
    "process inbound",
    "ingest",
    "send route",
    "process route",
    "routing.offer",
    "work.accept",
    "conversation.reply",
    "send outbound",
    "process outbound",
    "sms.send",
    "delivery.report",
)


def by_trace(spans: tuple[ReadableSpan, ...]) -> dict[int, list[ReadableSpan]]:
    traces: dict[int, list[ReadableSpan]] = defaultdict(list)
    for span in spans:
        assert span.context is not None
        traces[span.context.trace_id].append(span)
    return traces


def one(spans: Iterable[ReadableSpan], name: str) -> ReadableSpan:
    (found,) = [s for s in spans if s.name == name]
    return found


async def test_a_message_and_its_answer_are_one_trace_without_personal_data(
    client: httpx.AsyncClient, services: Container, spans: InMemorySpanExporter
) -> None:
    await configure_workstream(services, offer_timeout_seconds=60)
    customer = unique_number()
    sent_before = counter_total("omnichannel.sms.sent", **{telemetry.PROVIDER: "twilio"})
    offers_before = histogram_count(
        "omnichannel.routing.assignment_latency", **{telemetry.QUEUE_ID: "q-general"}
    )

    webhook = await post_twilio_sms(client, sender=customer, text=CUSTOMER_TEXT, sid="SMtrace1")
    assert webhook.status_code == 200, webhook.text
    await drain(services)
    alice = bearer(services, "alice", Role.AGENT)
    (offer,) = (await client.get("/api/agents/me/work", headers=alice)).json()
    assert offer["item"]["status"] == "offered"
    conversation_id = offer["conversation"]["id"]
    accepted = await client.post(f"/api/conversations/{conversation_id}/accept", headers=alice)
    assert accepted.status_code == 200, accepted.text
    replied = await client.post(
        f"/api/conversations/{conversation_id}/messages", json={"text": REPLY_TEXT}, headers=alice
    )
    assert replied.status_code == 201, replied.text
    await drain(services)
    reply = await services.store.get_message(replied.json()["id"])
    assert reply is not None and reply.provider_message_id is not None
    sid = reply.provider_message_id.removeprefix("twilio:")
    assert (await post_status(client, "status_delivered", sid)).status_code == 204
    await drain(services)
    delivered = await services.store.get_message(reply.id)
    assert delivered is not None and delivered.status == "delivered"

    finished = spans.get_finished_spans()
    traces = by_trace(finished)
    root = one([s for s in finished if s.parent is None], "POST /api/sms/twilio")
    assert root.kind is SpanKind.SERVER and root.context is not None
    conversation = traces[root.context.trace_id]

    # Every step of the chain is in the webhook's trace...
    names = {s.name for s in conversation}
    assert [name for name in CHAIN if name not in names] == []
    for span in finished:
        if (span.attributes or {}).get(telemetry.CONVERSATION_ID) == conversation_id:
            assert span.context is not None
            assert span.context.trace_id == root.context.trace_id, span.name
    # ... as one tree under the webhook's span: each span's parent is in the trace.
    span_ids = {s.context.span_id for s in conversation if s.context is not None}
    for span in conversation:
        if span is not root:
            assert span.parent is not None and span.parent.span_id in span_ids, span.name
    # A queue hop is a consumer span under its producer span.
    for queue in ("inbound", "route", "outbound"):
        produced = {s.context.span_id for s in conversation if s.name == f"send {queue}"}
        for consumed in (s for s in conversation if s.name == f"process {queue}"):
            assert consumed.kind is SpanKind.CONSUMER
            assert consumed.parent is not None and consumed.parent.span_id in produced

    # The requests that continued it have their own traces, linked from the conversation's.
    continued = {
        "work.accept": "POST /api/conversations/{conversation_id}/accept",
        "conversation.reply": "POST /api/conversations/{conversation_id}/messages",
        "delivery.report": "process delivery",
    }
    for name, cause_name in continued.items():
        span = one(conversation, name)
        cause = one(finished, cause_name)
        assert cause.context is not None and cause.context.trace_id != root.context.trace_id
        assert [link.context.span_id for link in span.links] == [cause.context.span_id]
    status_webhook = one(finished, "POST /api/sms/twilio/status")
    assert status_webhook.context is not None
    delivery_consumer = one(finished, "process delivery").context
    assert delivery_consumer is not None
    assert delivery_consumer.trace_id == status_webhook.context.trace_id

    # The spans name what they concern, by identifier.
    ingest = one(conversation, "ingest").attributes or {}
    assert ingest[telemetry.CONVERSATION_ID] == conversation_id
    assert ingest[telemetry.QUEUE_ID] == "q-general"
    assert ingest[telemetry.WORK_ITEM_ID] == offer["item"]["id"]
    assert ingest[telemetry.PROVIDER] == "twilio"
    assert ingest[telemetry.CHANNEL_ID] == offer["conversation"]["channel_id"]
    routed = one(conversation, "process route").attributes or {}
    assert routed[telemetry.QUEUE_ID] == "q-general"
    sends = [s for s in conversation if s.name == "sms.send"]
    assert any((s.attributes or {}).get(telemetry.MESSAGE_ID) == reply.id for s in sends)

    assert_no_personal_data(
        finished,
        secrets=(
            CUSTOMER_TEXT,
            REPLY_TEXT,
            customer,
            customer.removeprefix("+"),
            BUSINESS.removeprefix("+"),
            "Ada",
            "12 Elm Street",
        ),
    )
    # What the platform team alerts on was recorded along the way.
    assert counter_total("omnichannel.sms.sent", **{telemetry.PROVIDER: "twilio"}) > sent_before
    assert (
        histogram_count(
            "omnichannel.routing.assignment_latency", **{telemetry.QUEUE_ID: "q-general"}
        )
        == offers_before + 1
    )


async def test_the_routing_sweep_records_each_queues_backlog(services: Container) -> None:
    await services.queue_metrics.record_backlogs()
    assert gauge_value("omnichannel.queue.depth", **{telemetry.QUEUE_ID: "q-general"}) == 0
    assert gauge_value("omnichannel.queue.oldest_wait", **{telemetry.QUEUE_ID: "q-general"}) == 0
