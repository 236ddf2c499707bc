"""Queue triggers (Service Bus in Azure, the embedded queue locally): each calls one service.

A trigger completes its message on return and abandons it on exception, so every handler
here is idempotent. Each runs inside the consumer span of its delivery, a child of the span that
sent the message (the `traceparent` in its application properties), so one customer message is
one trace across the queues (docs/architecture.md, Tracing).
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import azure.functions as func

from shared import telemetry
from shared.bootstrap import get_container
from shared.bus_messages import (
    BOT,
    BULK,
    BUS_QUEUES,
    DELIVERY,
    INACTIVITY,
    INBOUND,
    OUTBOUND,
    ROUTE,
    BotTurn,
    BulkRequest,
    InactivityCheck,
    OutboundRequest,
    RouteRequest,
)
from shared.domain.conversations import DeliveryReport, InboundMessage

CONNECTION = "ServiceBusConnection"


def consuming(queue_name: str, msg: func.ServiceBusMessage) -> AbstractContextManager[object]:
    """The consumer span of this delivery, continuing the sender's trace."""
    return telemetry.consuming(
        queue_name,
        msg.application_properties,
        message_id=msg.message_id,
        delivery_count=msg.delivery_count,
    )


blueprint = func.Blueprint()


@blueprint.service_bus_queue_trigger(
    arg_name="msg",
    queue_name=INBOUND,
    connection=CONNECTION,
    is_sessions_enabled=BUS_QUEUES[INBOUND].sessions,
)
async def ingest_inbound(msg: func.ServiceBusMessage) -> None:
    with consuming(INBOUND, msg):
        services = await get_container()
        await services.ingest.ingest(InboundMessage.model_validate_json(msg.get_body()))


@blueprint.service_bus_queue_trigger(
    arg_name="msg",
    queue_name=ROUTE,
    connection=CONNECTION,
    is_sessions_enabled=BUS_QUEUES[ROUTE].sessions,
)
async def route_queue(msg: func.ServiceBusMessage) -> None:
    with consuming(ROUTE, msg):
        services = await get_container()
        request = RouteRequest.model_validate_json(msg.get_body())
        telemetry.identify(queue_id=request.queue_id)
        if request.lapsing_item_id is not None:
            await services.routing.lapse_offer(request.lapsing_item_id)
        if request.overflow_due:
            await services.routing.overflow_due(request.queue_id)
        await services.routing.route_queue(request.queue_id, explain_item_id=request.item_id)


@blueprint.service_bus_queue_trigger(
    arg_name="msg",
    queue_name=OUTBOUND,
    connection=CONNECTION,
    is_sessions_enabled=BUS_QUEUES[OUTBOUND].sessions,
)
async def send_outbound(msg: func.ServiceBusMessage) -> None:
    with consuming(OUTBOUND, msg):
        services = await get_container()
        await services.outbound.send(OutboundRequest.model_validate_json(msg.get_body()))


@blueprint.service_bus_queue_trigger(
    arg_name="msg",
    queue_name=DELIVERY,
    connection=CONNECTION,
    is_sessions_enabled=BUS_QUEUES[DELIVERY].sessions,
)
async def apply_delivery_report(msg: func.ServiceBusMessage) -> None:
    with consuming(DELIVERY, msg):
        services = await get_container()
        await services.delivery.apply(DeliveryReport.model_validate_json(msg.get_body()))


@blueprint.service_bus_queue_trigger(
    arg_name="msg",
    queue_name=BULK,
    connection=CONNECTION,
    is_sessions_enabled=BUS_QUEUES[BULK].sessions,
)
async def send_bulk(msg: func.ServiceBusMessage) -> None:
    with consuming(BULK, msg):
        services = await get_container()
        await services.campaigns.work(BulkRequest.model_validate_json(msg.get_body()).job_id)


# --- bots and auto-close ---


@blueprint.service_bus_queue_trigger(
    arg_name="msg",
    queue_name=BOT,
    connection=CONNECTION,
    is_sessions_enabled=BUS_QUEUES[BOT].sessions,
)
async def answer_with_bot(msg: func.ServiceBusMessage) -> None:
    with consuming(BOT, msg):
        services = await get_container()
        await services.bots.answer(BotTurn.model_validate_json(msg.get_body()))


@blueprint.service_bus_queue_trigger(
    arg_name="msg",
    queue_name=INACTIVITY,
    connection=CONNECTION,
    is_sessions_enabled=BUS_QUEUES[INACTIVITY].sessions,
)
async def close_when_silent(msg: func.ServiceBusMessage) -> None:
    with consuming(INACTIVITY, msg):
        services = await get_container()
        await services.inactivity.check(InactivityCheck.model_validate_json(msg.get_body()))
