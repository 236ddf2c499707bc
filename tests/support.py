"""Shared test wiring: the real composition root on a temporary folder, and a queue drainer
that runs the app's own queue-trigger functions as the Functions host would."""

from __future__ import annotations

import importlib
import itertools
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    HistogramDataPoint,
    InMemoryMetricReader,
    NumberDataPoint,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from devserver.banner import signed_twilio_form
from devserver.runtime import FunctionCatalog, as_service_bus_message, discover
from devserver.seed import seed_demo
from functions.api import create_api
from shared.bootstrap import (
    Container,
    build_container,
    close_container,
    get_container,
    replace_container,
)
from shared.domain.channels import ChannelKind, SmsProvider
from shared.domain.conversations import InboundMessage, Message
from shared.domain.customers import ConsentAction
from shared.domain.identity import Role
from shared.ports import WebhookCall, WebhookKind
from shared.settings import get_settings

PUBLIC_BASE_URL = "https://omni.example.test"
TWILIO_TOKEN = "test-twilio-auth-token"

_catalog: FunctionCatalog | None = None


def catalog() -> FunctionCatalog:
    """The app's functions; get_functions() may be called once per app object."""
    global _catalog
    if _catalog is None:
        _catalog = discover(importlib.import_module("function_app").app)
    return _catalog


@pytest.fixture
def extra_settings() -> dict[str, str]:
    """Settings a test module adds to the defaults: override this fixture in the module."""
    return {}


@pytest.fixture
async def services(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra_settings: dict[str, str]
) -> AsyncIterator[Container]:
    monkeypatch.setenv("LOCAL_SETTINGS_FILE", str(tmp_path / "absent.json"))
    monkeypatch.setenv("SQLITE_PATH", str(tmp_path / "omnichannel.db"))
    monkeypatch.setenv("DEV_AUTH_KEY_FILE", str(tmp_path / "key.pem"))
    monkeypatch.setenv("CHAT_TOKEN_KEY_FILE", str(tmp_path / "chat-token.key"))
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TWILIO_TOKEN)
    monkeypatch.setenv("PUBLIC_BASE_URL", PUBLIC_BASE_URL)
    for name, value in extra_settings.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    container = await get_container()
    await seed_demo(container.store, twilio_auth_token=TWILIO_TOKEN)
    yield container
    await close_container()
    get_settings.cache_clear()


class ManualClock:
    """Time driven by hand: one instant for the services (a datetime) and, through
    build_container, for the embedded queue's schedule."""

    def __init__(self) -> None:
        self.instant = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)

    def now(self) -> datetime:
        return self.instant

    def __call__(self) -> float:
        """Epoch seconds: the embedded queue's clock."""
        return self.instant.timestamp()

    def advance(self, delta: timedelta) -> None:
        self.instant += delta


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def clocked(services: Container, clock: ManualClock) -> AsyncIterator[Container]:
    """The `services` app on the same data, with time driven by `clock`: its queue triggers
    (drain) run on it too. For backoffs and timeouts without waiting for them."""
    container = await build_container(services.settings, clock=clock)
    previous = replace_container(container)
    yield container
    replace_container(previous)
    await container.close()


@pytest.fixture
async def client(services: Container) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_api())
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_BASE_URL) as http:
        yield http


def bearer(services: Container, subject: str, *roles: Role) -> dict[str, str]:
    assert services.dev_issuer is not None
    return {"Authorization": "Bearer " + services.dev_issuer.issue(subject, list(roles))}


async def drain(services: Container, *, rounds: int = 50) -> int:
    """Deliver every queued message to its trigger function until all queues are empty;
    returns how many were handled. A failing handler fails the test."""
    queue = services.local_bus
    assert queue is not None
    handled = 0
    for _ in range(rounds):
        progressed = False
        for function in catalog().queue_functions:
            leased = await queue.receive(function.queue_name)
            if leased is None:
                continue
            await function.handler(**{function.arg_name: as_service_bus_message(leased)})
            await queue.complete(leased)
            handled += 1
            progressed = True
        if not progressed:
            return handled
    raise AssertionError("queues did not drain")


def assert_problem(response: httpx.Response, status: int, detail: str | None = None) -> None:
    """An error as the API gives every error: problem+json with the status (and, when given,
    these words in its detail)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    if detail is not None:
        assert detail in problem["detail"]


REPLY = "We are on it"


async def alice_replies(client: httpx.AsyncClient, services: Container) -> Message:
    """Alice answers the one conversation she holds, and the reply goes out: the stored
    reply, once the queues have drained."""
    await drain(services)
    alice = bearer(services, "alice", Role.AGENT)
    (work,) = (await client.get("/api/agents/me/work", headers=alice)).json()
    sent = await client.post(
        f"/api/conversations/{work['conversation']['id']}/messages",
        json={"text": REPLY},
        headers=alice,
    )
    assert sent.status_code == 201
    await drain(services)
    reply = await services.store.get_message(sent.json()["id"])
    assert reply is not None and reply.provider_message_id is not None
    return reply


class RecordingBus:
    """The MessageBus port, faked for tests that call the services a queue would trigger
    themselves: it records what was sent and delivers nothing."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.scheduled: list[datetime | None] = []
        """Each sent message's `not_before`, in the order of `sent`."""

    async def send(
        self,
        queue_name: str,
        body: str,
        *,
        session_id: str | None = None,
        message_id: str | None = None,
        not_before: datetime | None = None,
    ) -> None:
        self.sent.append((queue_name, body))
        self.scheduled.append(not_before)


def twilio_inbound(
    sid: str,
    *,
    at: datetime,
    text: str = "hello",
    sender: str = "+14155550101",
    consent: ConsentAction | None = None,
) -> InboundMessage:
    """An inbound SMS to the demo business number, as the Twilio webhook normalizes it."""
    return InboundMessage(
        provider=SmsProvider.TWILIO,
        provider_message_id=sid,
        channel=ChannelKind.SMS,
        customer_address=sender,
        business_address="+12025550100",
        text=text,
        received_at=at,
        consent=consent,
    )


async def post_twilio_sms(
    client: httpx.AsyncClient, *, sender: str, text: str, sid: str, to: str = "+12025550100"
) -> httpx.Response:
    """A customer's SMS as Twilio posts it to the app: form body signed for the public URL."""
    url = f"{PUBLIC_BASE_URL}/api/sms/twilio"
    body, signature = signed_twilio_form(
        TWILIO_TOKEN, url, sender=sender, to=to, text=text, sid=sid
    )
    return await client.post(
        "/api/sms/twilio",
        content=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    )


def twilio_call(
    url: str, body: str, signature: str, kind: WebhookKind = WebhookKind.MESSAGES
) -> WebhookCall:
    """A Twilio webhook call as the HTTP route hands it to the service."""
    return WebhookCall(
        kind=kind, url=url, body=body.encode(), headers={"x-twilio-signature": signature}, query={}
    )


_metric_reader: InMemoryMetricReader | None = None


def _metric_points(name: str, attributes: dict[str, object]) -> Iterator[object]:
    """The data points of the app's metric `name` with these attributes. The first call
    installs an in-memory meter provider; the app's instruments report to it from then on
    (OpenTelemetry's global provider is set once per process)."""
    global _metric_reader
    if _metric_reader is None:
        _metric_reader = InMemoryMetricReader()
        metrics.set_meter_provider(MeterProvider(metric_readers=[_metric_reader]))
    data = _metric_reader.get_metrics_data()
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    for point in metric.data.data_points:
                        labels = point.attributes or {}
                        if all(labels.get(k) == v for k, v in attributes.items()):
                            yield point


def counter_total(name: str, **attributes: object) -> int:
    """What a counter the app records has added up to in this process, for these attributes."""
    return sum(
        int(point.value)
        for point in _metric_points(name, attributes)
        if isinstance(point, NumberDataPoint)
    )


def gauge_value(name: str, **attributes: object) -> float | None:
    """The last value a gauge recorded for these attributes (None: never recorded)."""
    values = [
        float(point.value)
        for point in _metric_points(name, attributes)
        if isinstance(point, NumberDataPoint)
    ]
    assert len(values) <= 1, f"{name}: {len(values)} series match {attributes}"
    return values[0] if values else None


def histogram_count(name: str, **attributes: object) -> int:
    """How many values a histogram has recorded for these attributes."""
    return sum(
        int(point.count)
        for point in _metric_points(name, attributes)
        if isinstance(point, HistogramDataPoint)
    )


class _TracingSwitch(trace.TracerProvider):
    """The process's global tracer provider in tests (OpenTelemetry's can be set only once):
    while a test holds the `spans` fixture, tracers hand out that test's SDK spans; otherwise
    they are no-ops, exactly as in an app with no exporter configured, so no trace context
    leaks into another test's messages."""

    def __init__(self) -> None:
        self.current: TracerProvider | None = None

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Any = None,
    ) -> trace.Tracer:
        return _SwitchedTracer(self, instrumenting_module_name)


class _SwitchedTracer(trace.Tracer):
    def __init__(self, switch: _TracingSwitch, name: str) -> None:
        self._switch = switch
        self._name = name

    def _now(self) -> trace.Tracer:
        current = self._switch.current
        return trace.NoOpTracer() if current is None else current.get_tracer(self._name)

    def start_span(self, *args: Any, **kwargs: Any) -> trace.Span:
        return self._now().start_span(*args, **kwargs)

    def start_as_current_span(  # type: ignore[override]
        self, *args: Any, **kwargs: Any
    ) -> AbstractContextManager[trace.Span]:
        return self._now().start_as_current_span(*args, **kwargs)


_tracing_switch: _TracingSwitch | None = None


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """The spans the app ends during the test, in memory, from a tracer provider of its own
    that is switched off (and shut down) when the test ends."""
    global _tracing_switch
    if _tracing_switch is None:
        _tracing_switch = _TracingSwitch()
        trace.set_tracer_provider(_tracing_switch)
    assert trace.get_tracer_provider() is _tracing_switch, (
        "a tracer provider was configured before the tests' own: unset OTEL_TRACES_EXPORTER "
        "and APPLICATIONINSIGHTS_CONNECTION_STRING for the tests"
    )
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    _tracing_switch.current = provider
    yield exporter
    _tracing_switch.current = None
    provider.shutdown()


# A number in E.164 (what the app stores and providers send) and an e-mail address: neither
# may appear in a span, whatever the test.
E164 = re.compile(r"\+\d{7,15}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")


def assert_no_personal_data(spans: Iterable[ReadableSpan], *, secrets: Iterable[str]) -> None:
    """No span's name, attribute, event or link attribute, or status holds a phone number,
    an e-mail address, or any of `secrets` (the message texts, numbers and names the test
    used), in any form a value may take."""
    said = [s for s in secrets if s]
    for span in spans:
        values: list[object] = [span.name, span.status.description]
        values += list((span.attributes or {}).values())
        for event in span.events:
            values += [event.name, *(event.attributes or {}).values()]
        for link in span.links:
            values += list((link.attributes or {}).values())
        for value in values:
            text = str(value)
            assert not E164.search(text), f"a phone number in span {span.name!r}: {text!r}"
            assert not EMAIL.search(text), f"an e-mail address in span {span.name!r}: {text!r}"
            for secret in said:
                assert secret not in text, f"{secret!r} in span {span.name!r}: {text!r}"


_numbers = itertools.count(8000)  # above every number the tests spell out


def unique_number(prefix: str = "+1415555") -> str:
    """A customer number no other call in this test process has given: random ones collided
    now and then, and two arrivals then shared a conversation."""
    number = next(_numbers)
    assert number < 10_000, "unique_number ran out of four-digit numbers"
    return f"{prefix}{number}"
