"""The app's flows with every HTTP request, queue message and timer going through the real
Python runtime, as in Azure: the observable results of the local runtime's end-to-end tests
(tests/e2e), and a failing queue trigger reported to the host as a failed invocation."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import azure.functions as func
import httpx
import pytest
from azure_functions_runtime.bindings.meta import from_incoming_proto
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from devserver.runtime import as_service_bus_message
from shared.bootstrap import Container
from shared.bus_messages import BUS_QUEUES, INBOUND, MAX_DELIVERY_COUNT, ROUTE, RouteRequest
from shared.domain.figures import FigureScope
from shared.domain.identity import Role
from tests.api.test_bots import HELLO, give_bot, reply
from tests.api.test_routing_flow import configure_workstream
from tests.channels.twilio.test_twilio import post_status
from tests.functions_runtime.host import FunctionsHost
from tests.loopback import LoopbackApi
from tests.support import ManualClock, assert_problem, bearer, post_twilio_sms

ADA = "+14155550101"
BUSINESS = "+12025550100"


def bus(services: Container) -> Any:
    assert services.local_bus is not None
    return services.local_bus


async def work_of(client: httpx.AsyncClient, services: Container, agent: str) -> list[Any]:
    response = await client.get("/api/agents/me/work", headers=bearer(services, agent, Role.AGENT))
    assert response.status_code == 200, response.text
    return list(response.json())


async def ada_writes(
    functions: FunctionsHost, client: httpx.AsyncClient, services: Container, text: str, sid: str
) -> None:
    """Ada's SMS, signed as Twilio posts it, through the runtime; then all it sets off."""
    webhook = await post_twilio_sms(client, sender=ADA, text=text, sid=sid)
    assert webhook.status_code == 200, webhook.text
    await functions.drain(bus(services))


async def sent_texts(services: Container) -> list[str]:
    return [s.text for s in reversed(await services.store.list_sent_sms(limit=50))]


async def test_an_sms_reaches_an_agent_and_the_reply_leaves(
    functions: FunctionsHost, client: httpx.AsyncClient, services: Container
) -> None:
    """tests/e2e/test_local_runtime.py's SMS round trip, in Azure's runtime."""
    await ada_writes(functions, client, services, "Where is my order?", "SMrt1")
    (work,) = await work_of(client, services, "alice")
    conversation = work["conversation"]["id"]

    alice = bearer(services, "alice", Role.AGENT)
    messages_url = f"/api/conversations/{conversation}/messages"
    sent = await client.post(messages_url, json={"text": "It ships today."}, headers=alice)
    assert sent.status_code == 201, sent.text
    note = await client.post(messages_url, json={"text": "VIP", "internal": True}, headers=alice)
    assert note.status_code == 201, note.text
    await functions.drain(bus(services))

    admin = bearer(services, "admin", Role.ADMIN)
    outbox = (await client.get("/api/sandbox/sms", headers=admin)).json()
    assert [(s["to"], s["from"], s["text"]) for s in outbox] == [(ADA, BUSINESS, "It ships today.")]
    listed = (await client.get(messages_url, headers=alice)).json()
    assert [(m["sender"], m["internal"]) for m in listed] == [
        ("customer", False),
        ("agent", False),
        ("agent", True),
    ]
    forged = await client.post(
        "/api/sms/twilio",
        content=b"MessageSid=SMforged&From=%2B14155550101&To=%2B12025550100&Body=hi",
        headers={
            "X-Twilio-Signature": "Zm9yZ2Vk",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert_problem(forged, 403)
    assert {name for name, ok in functions.invoked if ok} == {
        "http_app_func",
        "ingest_inbound",
        "route_queue",
        "send_outbound",
    }

    # Twilio's signed status callback, through the delivery queue's trigger.
    reply = await services.store.get_message(sent.json()["id"])
    assert reply is not None and reply.provider_message_id is not None
    sid = reply.provider_message_id.removeprefix("twilio:")
    assert (await post_status(client, "status_delivered", sid)).status_code == 204
    await functions.drain(bus(services))
    listed = (await client.get(messages_url, headers=alice)).json()
    assert listed[1]["status"] == "delivered"
    assert ("apply_delivery_report", True) in functions.invoked


@pytest.fixture
def bot() -> Iterator[LoopbackApi]:
    with LoopbackApi(reply()).running() as running:
        yield running


async def test_a_bot_answers_through_the_bot_queue(
    functions: FunctionsHost, client: httpx.AsyncClient, services: Container, bot: LoopbackApi
) -> None:
    await give_bot(services, bot.base_url + "/bot")
    await ada_writes(functions, client, services, "Opening hours?", "SMbot1")
    assert len(bot.requests) == 1
    assert await sent_texts(services) == [HELLO]
    assert ("answer_with_bot", True) in functions.invoked


async def test_a_bulk_send_works_through_the_bulk_queue(
    functions: FunctionsHost, client: httpx.AsyncClient, services: Container
) -> None:
    admin = bearer(services, "admin", Role.ADMIN)
    template = {"name": "Notice", "body": "Hi {first_name}, it shipped.", "parameters": []}
    put = await client.put("/api/admin/templates/notice", json=template, headers=admin)
    assert put.status_code in (200, 201), put.text
    request = {
        "template_id": "notice",
        "channel_id": "sms-main",
        "customer_ids": ["cust-ada"],
        "values": {},
        "request_id": "campaign-rt",
    }
    started = await client.post("/api/admin/outbound", json=request, headers=admin)
    assert started.status_code == 202, started.text
    await functions.drain(bus(services))
    job = started.json()["job"]["id"]
    progress = (await client.get(f"/api/admin/outbound/{job}", headers=admin)).json()
    assert progress["done"] is True
    assert await sent_texts(services) == ["Hi Ada, it shipped."]
    assert ("send_bulk", True) in functions.invoked


async def test_silence_closes_the_conversation_through_the_inactivity_queue(
    functions: FunctionsHost, client: httpx.AsyncClient, clocked: Container, clock: ManualClock
) -> None:
    silence = timedelta(minutes=10)
    await configure_workstream(clocked, auto_close_after_seconds=int(silence.total_seconds()))
    await ada_writes(functions, client, clocked, "Hello", "SMquiet1")
    (work,) = await work_of(client, clocked, "alice")
    clock.advance(silence)
    await functions.drain(bus(clocked))
    assert await work_of(client, clocked, "alice") == []
    assert await clocked.store.open_work_item(work["conversation"]["id"]) is None
    assert ("close_when_silent", True) in functions.invoked


def test_every_queue_trigger_is_exercised_above() -> None:
    """The flows above between them invoke every queue's trigger (each asserts its own)."""
    exercised = {"inbound", "route", "outbound", "delivery", "bot", "bulk", "inactivity"}
    assert exercised == set(BUS_QUEUES)


async def test_a_failing_queue_trigger_fails_its_invocation_until_dead_lettered(
    functions: FunctionsHost, clocked: Container, clock: ManualClock
) -> None:
    """A handler's exception reaches the host as a failed invocation (so Service Bus redelivers
    the message, then dead-letters it), never as a success that would complete it."""
    queue = bus(clocked)
    session = f"sms:{ADA}:{BUSINESS}"
    await queue.send(INBOUND, '{"not": "an inbound message"}', session_id=session, message_id="p1")
    for _ in range(MAX_DELIVERY_COUNT):
        assert await functions.drain(queue, failures_allowed=True) == 1
        clock.advance(timedelta(seconds=10))  # past the redelivery pause
    assert functions.invoked == [("ingest_inbound", False)] * MAX_DELIVERY_COUNT
    (dead,) = await queue.dead_letters(INBOUND)
    assert (dead.message_id, dead.session_id) == ("p1", session)
    assert "ValidationError" in dead.reason
    assert await functions.drain(queue) == 0


async def test_each_timer_fires_through_the_runtime(
    functions: FunctionsHost, client: httpx.AsyncClient, services: Container
) -> None:
    await ada_writes(functions, client, services, "Hello", "SMtimer1")
    timers = functions.by_trigger("timerTrigger")
    assert {t.name for t in timers} == {
        "routing_sweep",
        "capacity_reconcile",
        "presence_refresh",
        "figures_aggregate",
    }
    for timer in timers:
        response = await functions.fire(timer, past_due=timer.name == "routing_sweep")
        assert functions.succeeded(response), response.result.exception.message
    # figures_aggregate folded today's work: the conversation Ada opened is counted.
    today = services.figures.today()
    assert await services.store.figures_watermark() == today
    queues = await services.store.day_figures(today, FigureScope.QUEUE)
    assert sum(f.incoming for f in queues) == 1


@pytest.mark.parametrize("queue_name", sorted(BUS_QUEUES))
async def test_a_trigger_is_handed_the_message_the_local_runtime_hands_it(
    queue_name: str, functions: FunctionsHost, clocked: Container, clock: ManualClock
) -> None:
    """What the runtime decodes from the host's trigger data (the call its invocation makes)
    is the ServiceBusMessage the local runtime builds for the same delivery, the second one."""
    queue = bus(clocked)
    await queue.send(queue_name, '{"any": "body"}', session_id="s-1", message_id="m-1")
    first = await queue.receive(queue_name)
    assert first is not None
    await queue.abandon(first, "once more")
    clock.advance(timedelta(seconds=10))
    leased = await queue.receive(queue_name)
    assert leased is not None
    function, data, metadata = functions.service_bus_input(leased)
    real = from_incoming_proto(
        function.trigger.type,
        functions.protos.ParameterBinding(name=function.trigger.name, data=data),
        pytype=func.ServiceBusMessage,
        trigger_metadata=metadata,
        function_name=function.name,
    )
    local = as_service_bus_message(leased)

    def seen(message: func.ServiceBusMessage) -> tuple[object, ...]:
        return (
            message.get_body(),
            message.message_id,
            message.session_id,
            message.delivery_count,
            message.enqueued_time_utc,
            message.content_type,
            message.application_properties,
            message.lock_token,
            message.sequence_number,
        )

    assert seen(real) == seen(local)
    assert (real.session_id, real.message_id, real.delivery_count) == ("s-1", "m-1", 2)
    assert real.application_properties == {"body_type": BUS_QUEUES[queue_name].body.__name__}


async def test_a_messages_traceparent_makes_the_triggers_span_its_child(
    functions: FunctionsHost, services: Container, spans: InMemorySpanExporter
) -> None:
    """A Service Bus message whose application properties carry a W3C traceparent (as the app's
    adapter, or Service Bus's SDK, sends it) is handled in a consumer span of that trace."""
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    queue = bus(services)
    await queue.send(ROUTE, RouteRequest(queue_id="q-general").model_dump_json(), session_id="q")
    leased = await queue.receive(ROUTE)
    assert leased is not None
    traced = dataclasses.replace(
        leased,
        application_properties={
            **leased.application_properties,
            "traceparent": f"00-{trace_id}-{parent_id}-01",
            "tracestate": "vendor=value",
        },
    )
    _, _, metadata = functions.service_bus_input(traced)
    assert "traceparent" in metadata["ApplicationProperties"].json  # as the host hands it over
    assert functions.succeeded(await functions.deliver(traced))

    (consumer,) = [s for s in spans.get_finished_spans() if s.name == "process route"]
    assert consumer.kind is SpanKind.CONSUMER
    assert consumer.parent is not None and consumer.parent.is_remote
    assert (f"{consumer.parent.trace_id:032x}", f"{consumer.parent.span_id:016x}") == (
        trace_id,
        parent_id,
    )
    assert consumer.context is not None and f"{consumer.context.trace_id:032x}" == trace_id
    assert consumer.context.trace_state.get("vendor") == "value"
