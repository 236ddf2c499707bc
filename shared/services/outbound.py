"""Outbound: send a stored customer-visible message through its conversation's channel."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Protocol

from shared import telemetry
from shared.bus_messages import OUTBOUND, OutboundRequest
from shared.domain.channels import ChannelKind
from shared.domain.conversations import Conversation, DeliveryStatus, MediaRef, Message, SentSms
from shared.ports import (
    ChannelStore,
    Clock,
    ConversationStore,
    MessageBus,
    OutboxStore,
    SendFailed,
    SmsSender,
)


class OutboundPorts(ChannelStore, ConversationStore, OutboxStore, Protocol):
    """The store ports this service needs."""


log = logging.getLogger(__name__)

MAX_SEND_ATTEMPTS = 8
FIRST_RETRY_DELAY = timedelta(seconds=10)
MAX_RETRY_DELAY = timedelta(minutes=10)


def retry_delay(failed_attempts: int) -> timedelta:
    """Exponential backoff after the n-th transient failure: 10 s, 20 s, 40 s ... 10 min."""
    return min(FIRST_RETRY_DELAY * (1 << (failed_attempts - 1)), MAX_RETRY_DELAY)


class MediaLinks(Protocol):
    """How a message's media becomes URLs a provider may fetch (agents' files: signed now)."""

    async def customer_url(self, media: MediaRef) -> str: ...


class OutboundService:
    def __init__(
        self,
        store: OutboundPorts,
        sms: SmsSender,
        bus: MessageBus,
        clock: Clock,
        *,
        media_links: MediaLinks | None = None,
    ) -> None:
        self._store = store
        self._sms = sms
        self._bus = bus
        self._clock = clock
        self._media_links = media_links

    async def sandbox_outbox(self, *, limit: int) -> list[SentSms]:
        """What the sandbox SMS sender would have sent, newest first."""
        return list(await self._store.list_sent_sms(limit=limit))

    async def send(self, request: OutboundRequest) -> Message | None:
        """Idempotent: a message that has left the queued state is not sent again. A message
        the request carries is stored first if its sender died before storing it."""
        message_id = request.message_id
        message = await self._store.get_message(message_id)
        if message is None and request.message is not None:
            await self._store.append_message(request.message)  # idempotent by id
            message = await self._store.get_message(message_id)
        if message is None or message.internal or message.status != DeliveryStatus.QUEUED:
            if message is not None and message.internal:
                log.error("internal note %s reached the outbound queue: not sent", message_id)
            return message
        conversation = await self._store.get_conversation(message.conversation_id)
        if conversation is None:
            log.error("message %s belongs to no conversation: not sent", message_id)
            return message
        if conversation.channel == ChannelKind.CHAT:
            # Chat has no provider: the widget reads the conversation from the store, where
            # the message already is. Marking it sent keeps it from any SMS sender.
            return await self._store.set_message_delivery(message.id, DeliveryStatus.SENT, None)
        channel = await self._store.get_channel(conversation.channel_id)
        if channel is None:
            log.error(
                "message %s: channel %s is gone: not sent", message_id, conversation.channel_id
            )
            return message
        provider = str(channel.provider or channel.kind)
        try:
            # Signed at each attempt: a retry after a long outage gets a URL still valid.
            media_urls = [
                await self._media_links.customer_url(media) if self._media_links else media.url
                for media in message.media
            ]
            with telemetry.span("sms.send") as span:
                telemetry.identify(
                    span,
                    conversation_id=conversation.id,
                    channel_id=channel.id,
                    message_id=message.id,
                    provider=provider,
                )
                provider_id = await self._sms.send(
                    channel,
                    message_id=message.id,
                    to=conversation.customer_address,
                    from_=conversation.business_address,
                    text=message.text,
                    media_urls=media_urls,
                )
        except SendFailed as failure:
            telemetry.record_send(provider, error_code=failure.code, permanent=failure.permanent)
            failed_attempts = request.failed_attempts + 1
            if not failure.permanent and failed_attempts < MAX_SEND_ATTEMPTS:
                await self._retry_later(conversation, request, failed_attempts, failure.reason)
                return message
            log.warning("message %s failed: %s", message_id, failure.reason)
            return await self._store.set_message_delivery(
                message.id, DeliveryStatus.FAILED, None, failure.reason
            )
        telemetry.record_send(provider)
        # Prefixed like inbound ids, so a delivery report finds its message per provider.
        return await self._store.set_message_delivery(
            message.id, DeliveryStatus.SENT, f"{provider}:{provider_id}"
        )

    async def _retry_later(
        self,
        conversation: Conversation,
        request: OutboundRequest,
        failed_attempts: int,
        reason: str,
    ) -> None:
        # A scheduled copy rather than an exception: Service Bus redelivers an abandoned
        # message at once, which would spend every delivery within seconds of an outage.
        delay = retry_delay(failed_attempts)
        log.warning(
            "message %s: transient failure %d (%s), retrying in %s",
            request.message_id,
            failed_attempts,
            reason,
            delay,
        )
        await self._bus.send(
            OUTBOUND,
            request.model_copy(update={"failed_attempts": failed_attempts}).model_dump_json(),
            session_id=conversation.id,
            # One id per retry, so duplicate detection drops only a redelivery's repeat of it.
            message_id=f"outbound:{request.message_id}:retry:{failed_attempts}",
            not_before=self._clock.now() + delay,
        )
