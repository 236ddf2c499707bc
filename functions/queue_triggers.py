"""Queue triggers (Service Bus in Azure, the embedded queue locally): each calls one service.

A trigger completes its message on return and abandons it on exception, so every handler
here is idempotent.
"""

from __future__ import annotations

import azure.functions as func

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

blueprint = func.Blueprint()


@blueprint.service_bus_queue_trigger(
    arg_name="msg",
    queue_name=INBOUND,
    connection=CONNECTION,
    is_sessions_enabled=BUS_QUEUES[INBOUND].sessions,
)
async def ingest_inbound(msg: func.ServiceBusMessage) -> None:
    services = await get_container()
    await services.ingest.ingest(InboundMessage.model_validate_json(msg.get_body()))


@blueprint.service_bus_queue_trigger(
    arg_name="msg",
    queue_name=ROUTE,
    connection=CONNECTION,
    is_sessions_enabled=BUS_QUEUES[ROUTE].sessions,
)
async def route_queue(msg: func.ServiceBusMessage) -> None:
    services = await get_container()
    request = RouteRequest.model_validate_json(msg.get_body())
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
    services = await get_container()
    await services.outbound.send(OutboundRequest.model_validate_json(msg.get_body()))


@blueprint.service_bus_queue_trigger(
    arg_name="msg",
    queue_name=DELIVERY,
    connection=CONNECTION,
    is_sessions_enabled=BUS_QUEUES[DELIVERY].sessions,
)
async def apply_delivery_report(msg: func.ServiceBusMessage) -> None:
    services = await get_container()
    await services.delivery.apply(DeliveryReport.model_validate_json(msg.get_body()))


@blueprint.service_bus_queue_trigger(
    arg_name="msg",
    queue_name=BULK,
    connection=CONNECTION,
    is_sessions_enabled=BUS_QUEUES[BULK].sessions,
)
async def send_bulk(msg: func.ServiceBusMessage) -> None:
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
    services = await get_container()
    await services.bots.answer(BotTurn.model_validate_json(msg.get_body()))


@blueprint.service_bus_queue_trigger(
    arg_name="msg",
    queue_name=INACTIVITY,
    connection=CONNECTION,
    is_sessions_enabled=BUS_QUEUES[INACTIVITY].sessions,
)
async def close_when_silent(msg: func.ServiceBusMessage) -> None:
    services = await get_container()
    await services.inactivity.check(InactivityCheck.model_validate_json(msg.get_body()))
