"""Outbound: send a stored customer-visible message through its conversation's channel."""

from __future__ import annotations

import logging

from shared.domain.models import DeliveryStatus, Message
from shared.ports import SendFailed, SmsSender, Store

log = logging.getLogger(__name__)


class OutboundService:
    def __init__(self, store: Store, sms: SmsSender) -> None:
        self._store = store
        self._sms = sms

    async def send(self, message_id: str) -> Message | None:
        """Idempotent: a message that has left the queued state is not sent again."""
        message = await self._store.get_message(message_id)
        if message is None or message.internal or message.status != DeliveryStatus.QUEUED:
            if message is not None and message.internal:
                log.error("internal note %s reached the outbound queue: not sent", message_id)
            return message
        conversation = await self._store.get_conversation(message.conversation_id)
        if conversation is None:
            log.error("message %s belongs to no conversation: not sent", message_id)
            return message
        channel = await self._store.get_channel(conversation.channel_id)
        if channel is None:
            log.error(
                "message %s: channel %s is gone: not sent", message_id, conversation.channel_id
            )
            return message
        try:
            provider_id = await self._sms.send(
                channel,
                message_id=message.id,
                to=conversation.customer_address,
                from_=conversation.business_address,
                text=message.text,
            )
        except SendFailed as failure:
            if not failure.permanent:
                raise  # the queue retries it, with backoff
            log.warning("message %s failed permanently: %s", message_id, failure.reason)
            return await self._store.set_message_delivery(
                message.id, DeliveryStatus.FAILED, None, failure.reason
            )
        # Prefixed like inbound ids, so a delivery report finds its message per provider.
        return await self._store.set_message_delivery(
            message.id, DeliveryStatus.SENT, f"{channel.provider or channel.kind}:{provider_id}"
        )
