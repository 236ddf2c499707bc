"""Delivery reports: a provider's word on an outbound message moves its status forward."""

from __future__ import annotations

import logging

from shared.domain.conversations import DeliveryReport, Message
from shared.domain.messaging import advance_delivery
from shared.ports import ConversationStore

log = logging.getLogger(__name__)


class UnknownMessage(Exception):
    """A report for a message whose provider id is not stored (yet): providers can report
    before the send call returns, so the queue retries it; a report still unknown after the
    last attempt is dead-lettered with this reason."""


class DeliveryService:
    def __init__(self, store: ConversationStore) -> None:
        self._store = store

    async def apply(self, report: DeliveryReport) -> Message:
        """Idempotent and order-proof: a repeated or late report changes nothing."""
        key = f"{report.provider}:{report.provider_message_id}"
        message = await self._store.find_message_by_provider_id(key)
        if message is None:
            raise UnknownMessage(f"no outbound message has provider id {key}")
        status = advance_delivery(message.status, report.status)
        if status is None:
            return message
        updated = await self._store.set_message_delivery(message.id, status, None, report.error)
        log.info("message %s is %s (report %s)", message.id, status, report.report_id)
        return updated or message
