"""Delivery reports: a provider's word on an outbound message moves its status forward."""

from __future__ import annotations

import logging
from datetime import timedelta

from opentelemetry import metrics

from shared import telemetry
from shared.bus_messages import DELIVERY
from shared.domain.conversations import DeliveryReport, DeliveryStatus, Message
from shared.domain.messaging import advance_delivery
from shared.ports import Clock, ConversationStore, MessageBus

log = logging.getLogger(__name__)

# A provider may report before the send call that stores its message id returns: the report
# waits for it, briefly, this many times. A report still unknown after them is not ours.
WAITS_FOR_MESSAGE = (timedelta(seconds=1), timedelta(seconds=2), timedelta(seconds=4))

_dropped_reports = metrics.get_meter(__name__).create_counter(
    "omnichannel.delivery_reports.dropped",
    unit="{report}",
    description="Signed delivery reports for messages this system has no record of sending",
)


class DeliveryService:
    def __init__(self, store: ConversationStore, bus: MessageBus, clock: Clock) -> None:
        self._store = store
        self._bus = bus
        self._clock = clock

    async def apply(self, report: DeliveryReport) -> Message | None:
        """Idempotent and order-proof: a repeated or late report changes nothing. A report for
        a message not stored (yet) waits on the queue a few times, then is dropped (None),
        counted, with one warning: another application on the same provider account, or a
        message sent before a data reset, is no reason to retry for ever or dead-letter."""
        key = f"{report.provider}:{report.provider_message_id}"
        message = await self._store.find_message_by_provider_id(key)
        if message is None:
            await self._wait_or_drop(report, key)
            return None
        # In the trace of the reply it reports on, linked to the provider's callback.
        with telemetry.continuing("delivery.report", message.trace_context) as span:
            telemetry.identify(
                span,
                conversation_id=message.conversation_id,
                message_id=message.id,
                provider=report.provider,
            )
            return await self._apply(report, message)

    async def _apply(self, report: DeliveryReport, message: Message) -> Message | None:
        if message.status is None:
            return message  # not a customer-visible message: nothing is delivered
        if report.status is None:
            return await self._keep_unknown(report, message, message.status)
        status = advance_delivery(message.status, report.status)
        if status is None:
            return message
        updated = await self._store.set_message_delivery(message.id, status, None, report.error)
        log.info("message %s is %s (report %s)", message.id, status, report.report_id)
        return updated or message

    async def _keep_unknown(
        self, report: DeliveryReport, message: Message, status: DeliveryStatus
    ) -> Message:
        """Keep a status the provider has not documented (yet) on the message, with one
        warning: the same report redelivered finds it kept and says nothing again."""
        unknown = f"unknown status {report.unknown_status}"
        if message.unknown_status == unknown:
            return message
        log.warning(
            "%s reported %s for message %s: kept on the message, its delivery status unchanged",
            report.provider,
            unknown,
            message.id,
        )
        updated = await self._store.set_message_delivery(
            message.id, status, None, message.error, unknown_status=unknown
        )
        return updated or message

    async def _wait_or_drop(self, report: DeliveryReport, key: str) -> None:
        if report.waits < len(WAITS_FOR_MESSAGE):
            waited = report.model_copy(update={"waits": report.waits + 1})
            await self._bus.send(
                DELIVERY,
                waited.model_dump_json(),
                session_id=key,
                message_id=f"{report.provider}:{report.report_id}:wait{waited.waits}",
                not_before=self._clock.now() + WAITS_FOR_MESSAGE[report.waits],
            )
            return
        _dropped_reports.add(1, {"provider": str(report.provider)})
        log.warning(
            "dropped %s delivery report %s: no message of ours has provider id %s",
            report.provider,
            report.report_id,
            key,
        )
