"""Accepting SMS provider webhooks: verify the provider's own way, enqueue durably, then answer.

Each provider parses and verifies its own calls, as an `SmsProviderWebhook` in
shared/channels/<provider>/; this service finds the channels they ask for and puts what they
verified on the queues.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable

from shared.bus_messages import DELIVERY, INBOUND
from shared.domain.channels import Channel, ChannelKind, SmsProvider
from shared.domain.conversations import DeliveryReport
from shared.domain.messaging import keyword_consent
from shared.errors import NotFound
from shared.ports import (
    ChannelStore,
    Clock,
    MessageBus,
    ProviderSms,
    SmsProviderWebhook,
    VerifiedWebhook,
    WebhookCall,
)
from shared.services.listing import every

log = logging.getLogger(__name__)


class _StoredChannels:
    """The channel directory providers verify against: the channels in the store."""

    def __init__(self, store: ChannelStore) -> None:
        self._store = store

    async def serving(self, number: str, provider: SmsProvider) -> Channel:
        channel = await self._store.find_channel(ChannelKind.SMS, number)
        if channel is None or channel.provider != provider:
            raise NotFound(f"no {provider} channel serves {number}")
        return channel

    async def of_provider(self, provider: SmsProvider) -> AsyncIterator[Channel]:
        async for channel in every(self._store.list_channels):
            if channel.provider == provider:
                yield channel


class SmsWebhookService:
    def __init__(
        self,
        store: ChannelStore,
        bus: MessageBus,
        clock: Clock,
        webhooks: Iterable[SmsProviderWebhook],
    ) -> None:
        self._channels = _StoredChannels(store)
        self._bus = bus
        self._clock = clock
        self._webhooks = {webhook.provider: webhook for webhook in webhooks}

    async def accept(self, provider: SmsProvider, call: WebhookCall) -> VerifiedWebhook:
        """Verify a provider's call and put every message and report it carries durably on
        its queue; only then may the provider hear 2xx. Whatever the provider's webhook
        refuses (BadRequest, Unauthorized, Forbidden, NotFound) enqueues nothing."""
        verified = await self._webhooks[provider].verify(call, self._channels, self._clock.now())
        for sms in verified.messages:
            await self._enqueue(sms)
        for report in verified.reports:
            await self._enqueue_report(report)
        if verified.validation_code is not None:
            log.info("%s webhook subscription validated", provider)
        return verified

    async def _enqueue_report(self, report: DeliveryReport) -> None:
        # One session per message, so its reports apply one at a time.
        await self._bus.send(
            DELIVERY,
            report.model_dump_json(),
            session_id=f"{report.provider}:{report.provider_message_id}",
            message_id=f"{report.provider}:{report.report_id}",
        )

    async def _enqueue(self, sms: ProviderSms) -> None:
        """The channel found serving the number travels with the message: ingest reads it by
        id."""
        inbound = sms.message
        if inbound.consent is None:
            inbound = inbound.model_copy(update={"consent": keyword_consent(inbound.text)})
        if sms.channel is not None:
            inbound = inbound.model_copy(update={"channel_id": sms.channel.id})
        await self._bus.send(
            INBOUND,
            inbound.model_dump_json(),
            session_id=inbound.session_key,
            message_id=sms.duplicate_key or inbound.stored_provider_id,
        )
        log.info("accepted %s message %s", inbound.provider, inbound.provider_message_id)
