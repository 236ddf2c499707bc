"""What the app records for operators, on the OpenTelemetry API only: spans, the trace context
that crosses the work queues, and the metrics a platform team alerts on.

Nothing here exports anything: with no SDK configured every call is a no-op. Exporters are set
up once at start-up (shared/telemetry_setup.py): Application Insights in Azure, the console or
an OTLP collector locally when OTEL_* settings ask.

Span attributes are identifiers only (conversation, channel, queue, work item, message,
provider), set through `identify` and the helpers below, which take nothing else: never a
message's text, a phone number, an e-mail address or a name. docs/architecture.md (Tracing)
lists the spans, how a conversation keeps one trace, and the metrics.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta

from opentelemetry import context as context_api
from opentelemetry import metrics, propagate, trace
from opentelemetry.trace import Link, Span, SpanKind

from shared.domain.work import WorkItem

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
TRACE_PROPERTIES = (TRACEPARENT, TRACESTATE)
"""The W3C trace-context fields a queue message carries in its application properties."""

MESSAGING_SYSTEM = "servicebus"
"""Locally too: the embedded bus plays Service Bus, and one name keeps one dashboard."""

# The identifiers a span may carry. Keys of `identify`; nothing else of ours is set.
CONVERSATION_ID = "omnichannel.conversation.id"
CHANNEL_ID = "omnichannel.channel.id"
QUEUE_ID = "omnichannel.queue.id"
WORK_ITEM_ID = "omnichannel.work_item.id"
MESSAGE_ID = "omnichannel.message.id"
PROVIDER = "omnichannel.provider"

_tracer = trace.get_tracer("omnichannel")
_meter = metrics.get_meter("omnichannel")

# --- metrics -----------------------------------------------------------------------------------

queue_depth = _meter.create_gauge(
    "omnichannel.queue.depth",
    unit="{item}",
    description="Work items waiting in a routing queue (recorded by the routing sweep)",
)
queue_oldest_wait = _meter.create_gauge(
    "omnichannel.queue.oldest_wait",
    unit="s",
    description="How long the oldest waiting work item of a routing queue has waited",
)
assignment_latency = _meter.create_histogram(
    "omnichannel.routing.assignment_latency",
    unit="s",
    description="From a work item entering its queue to its offer (or assignment) to an agent",
)
SMS_SENT = "omnichannel.sms.sent"
SMS_SEND_FAILURES = "omnichannel.sms.send_failures"
"""Read by the provider-failure alert (infra/core/monitor/alerts.bicep) by these names."""
sms_sent = _meter.create_counter(
    SMS_SENT,
    unit="{message}",
    description="SMS a provider accepted",
)
sms_send_failures = _meter.create_counter(
    SMS_SEND_FAILURES,
    unit="{attempt}",
    description="SMS sends a provider refused or failed, by provider and error code",
)
dead_lettered = _meter.create_counter(
    "omnichannel.bus.dead_lettered",
    unit="{message}",
    description="Queue messages given up on (the embedded bus; in Azure, Service Bus's "
    "DeadletteredMessages metric)",
)


def record_backlog(queue_id: str, waiting: int, oldest_wait: timedelta) -> None:
    attributes = {QUEUE_ID: queue_id}
    queue_depth.set(waiting, attributes)
    queue_oldest_wait.set(max(oldest_wait.total_seconds(), 0.0), attributes)


def record_assignment(queue_id: str, waited: timedelta, *, offered: bool) -> None:
    assignment_latency.record(
        max(waited.total_seconds(), 0.0),
        {QUEUE_ID: queue_id, "omnichannel.routing.mode": "offer" if offered else "assign"},
    )


def work_given(item: WorkItem, at: datetime, *, offered: bool) -> None:
    """Routing gave `item` to an agent at `at`: the assignment latency, and a span in the
    item's own trace (a routing pass serves every waiting item, each from its own message)."""
    record_assignment(item.queue_id, at - item.enqueued_at, offered=offered)
    with continuing("routing.offer" if offered else "routing.assign", item.trace_context) as given:
        identify(
            given,
            conversation_id=item.conversation_id,
            work_item_id=item.id,
            queue_id=item.queue_id,
        )


def record_send(provider: str, *, error_code: str | None = None, permanent: bool = False) -> None:
    """One send attempt: accepted (no `error_code`), or failed with the provider's code."""
    if error_code is None:
        sms_sent.add(1, {PROVIDER: provider})
        return
    sms_send_failures.add(
        1, {PROVIDER: provider, "error.type": error_code, "omnichannel.sms.permanent": permanent}
    )


def record_dead_letter(queue_name: str) -> None:
    dead_lettered.add(1, {"messaging.destination.name": queue_name})


# --- spans -------------------------------------------------------------------------------------


def identify(
    span: Span | None = None,
    *,
    conversation_id: str | None = None,
    channel_id: str | None = None,
    queue_id: str | None = None,
    work_item_id: str | None = None,
    message_id: str | None = None,
    provider: str | None = None,
) -> None:
    """Put these identifiers on `span` (the current one by default); None ones are left out."""
    target = span or trace.get_current_span()
    for key, value in (
        (CONVERSATION_ID, conversation_id),
        (CHANNEL_ID, channel_id),
        (QUEUE_ID, queue_id),
        (WORK_ITEM_ID, work_item_id),
        (MESSAGE_ID, message_id),
        (PROVIDER, provider),
    ):
        if value is not None:
            target.set_attribute(key, str(value))


@contextmanager
def span(name: str) -> Iterator[Span]:
    """A span of the current trace (for work that is part of what is being handled)."""
    with _tracer.start_as_current_span(name) as current:
        yield current


def current_traceparent() -> str | None:
    """The current span's W3C traceparent, to store beside work that other requests continue
    (a work item, an agent's reply); None when nothing is traced."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get(TRACEPARENT)


@contextmanager
def continuing(name: str, traceparent: str | None) -> Iterator[Span]:
    """A span continuing the trace `traceparent` names (stored with the work it concerns), so
    the work of one customer message stays one trace across agents' requests and provider
    callbacks. The span that caused it (an HTTP request, another queue message's trace) is
    linked, not lost. Without a stored trace it is a child of the current span."""
    parent = _extract({TRACEPARENT: traceparent} if traceparent else {})
    stored = trace.get_current_span(parent).get_span_context()
    current = trace.get_current_span().get_span_context()
    if not stored.is_valid or stored.trace_id == current.trace_id:
        with _tracer.start_as_current_span(name) as child:
            yield child
        return
    links = [Link(current)] if current.is_valid else []
    with _tracer.start_as_current_span(name, context=parent, links=links) as continued:
        yield continued


# --- across the queues ---------------------------------------------------------------------------


@contextmanager
def publishing(queue_name: str, *, message_id: str | None) -> Iterator[dict[str, str]]:
    """A producer span for one message sent to `queue_name`; yields the application properties
    that carry its trace context (W3C traceparent, tracestate) to the consumer."""
    with _tracer.start_as_current_span(
        f"send {queue_name}",
        kind=SpanKind.PRODUCER,
        attributes=_messaging_attributes(queue_name, "send", message_id),
    ):
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        yield {key: carrier[key] for key in TRACE_PROPERTIES if key in carrier}


@contextmanager
def consuming(
    queue_name: str,
    properties: Mapping[str, object] | None,
    *,
    message_id: str | None,
    delivery_count: int | None,
) -> Iterator[Span]:
    """The consumer span of one delivery: a child of the span that sent the message (from the
    traceparent in its application properties), so a queue hop stays in its trace. The
    current context (a trigger's host invocation, if any) is replaced: the message says whose
    work this is."""
    carrier = {
        key: str(value)
        for key, value in (properties or {}).items()
        if key in TRACE_PROPERTIES and value is not None
    }
    attributes = _messaging_attributes(queue_name, "process", message_id)
    if delivery_count is not None:
        attributes["messaging.servicebus.message.delivery_count"] = delivery_count
    with _tracer.start_as_current_span(
        f"process {queue_name}",
        context=_extract(carrier),
        kind=SpanKind.CONSUMER,
        attributes=attributes,
    ) as current:
        yield current


@contextmanager
def serving(
    method: str, headers: Mapping[str, str], *, attributes: Mapping[str, str]
) -> Iterator[Span]:
    """The server span of one HTTP request, a child of the caller's trace when its headers
    carry one. Named by the method; `route` names it by its route template once known."""
    with _tracer.start_as_current_span(
        method,
        context=_extract({k: v for k, v in headers.items() if k in TRACE_PROPERTIES}),
        kind=SpanKind.SERVER,
        attributes=dict(attributes),
    ) as current:
        yield current


def _extract(carrier: Mapping[str, str]) -> context_api.Context:
    # A fresh context, not the current one: a carrier without a trace starts a new trace
    # instead of joining whatever the caller happened to be inside.
    return propagate.extract(dict(carrier), context=context_api.Context())


def _messaging_attributes(
    queue_name: str, operation: str, message_id: str | None
) -> dict[str, str | int | bool]:
    attributes: dict[str, str | int | bool] = {
        "messaging.system": MESSAGING_SYSTEM,
        "messaging.operation.name": operation,
        "messaging.destination.name": queue_name,
    }
    if message_id is not None:
        # Ours or a provider's message id: never a session id, which for `inbound` is the
        # customer's number.
        attributes["messaging.message.id"] = message_id
    return attributes
