"""Accepting SMS provider webhooks: authenticate, normalize, enqueue durably, then answer."""

from __future__ import annotations

import logging

from shared.channels import twilio
from shared.domain.messaging import keyword_consent
from shared.domain.models import Channel, ChannelKind, InboundMessage, SmsProvider, TwilioAccount
from shared.errors import Forbidden, NotFound
from shared.ports import Clock, ConfigStore, WorkQueue
from shared.services.queues import INBOUND

log = logging.getLogger(__name__)


class SmsWebhookService:
    def __init__(self, store: ConfigStore, queue: WorkQueue, clock: Clock) -> None:
        self._store = store
        self._queue = queue
        self._clock = clock

    async def _channel(self, business_address: str, provider: SmsProvider) -> Channel:
        """The channel serving the number the customer texted, at this provider."""
        channel = await self._store.find_channel(ChannelKind.SMS, business_address)
        if channel is None or channel.provider != provider:
            raise NotFound(f"no {provider} channel serves {business_address}")
        return channel

    async def accept_twilio(
        self,
        *,
        url: str,
        body: bytes,
        signature: str | None,
        signature_settings: str | None,
    ) -> InboundMessage:
        """Raises BadRequest on a malformed body, NotFound for a number no Twilio channel
        serves and Forbidden on a bad signature; in each case nothing is stored or enqueued.
        Returns once the message is durably on the `inbound` queue: only then may Twilio hear
        200."""
        params = twilio.FormParams.parse(body)
        channel = await self._channel(twilio.business_number(params), SmsProvider.TWILIO)
        if not isinstance(channel.account, TwilioAccount) or not twilio.signature_is_valid(
            channel.account.auth_token, url, params, signature, signature_settings
        ):
            raise Forbidden("X-Twilio-Signature does not match this request")
        inbound = twilio.parse_inbound(params, self._clock.now())
        await self._enqueue(inbound)
        return inbound

    async def _enqueue(self, inbound: InboundMessage) -> None:
        if inbound.consent is None:
            inbound = inbound.model_copy(update={"consent": keyword_consent(inbound.text)})
        await self._queue.send(
            INBOUND,
            inbound.model_dump_json(),
            session_id=inbound.session_key,
            message_id=f"{inbound.provider}:{inbound.provider_message_id}",
        )
        log.info("accepted %s message %s", inbound.provider, inbound.provider_message_id)
