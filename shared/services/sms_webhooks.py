"""Accepting SMS provider webhooks: authenticate, normalize, enqueue durably, then answer."""

from __future__ import annotations

import logging

from shared.channels import twilio
from shared.domain.models import ChannelKind, InboundMessage
from shared.errors import Forbidden, NotFound
from shared.ports import Clock, ConfigStore, WorkQueue
from shared.services.queues import INBOUND

log = logging.getLogger(__name__)


class SmsWebhookService:
    def __init__(
        self, store: ConfigStore, queue: WorkQueue, clock: Clock, *, twilio_auth_token: str
    ) -> None:
        self._store = store
        self._queue = queue
        self._clock = clock
        self._twilio_auth_token = twilio_auth_token

    async def accept_twilio(
        self,
        *,
        url: str,
        body: bytes,
        signature: str | None,
        signature_settings: str | None,
    ) -> InboundMessage:
        """Raises Forbidden on a bad signature, BadRequest on a malformed body and NotFound for
        a number no channel serves; in each case nothing is stored or enqueued. Returns once
        the message is durably on the `inbound` queue: only then may Twilio hear 200."""
        if not self._twilio_auth_token:
            raise Forbidden("no Twilio auth token is configured: cannot verify the signature")
        params = twilio.FormParams.parse(body)
        if not twilio.signature_is_valid(
            self._twilio_auth_token, url, params, signature, signature_settings
        ):
            raise Forbidden("X-Twilio-Signature does not match this request")
        inbound = twilio.parse_inbound(params, self._clock.now())
        await self._enqueue(inbound)
        return inbound

    async def _enqueue(self, inbound: InboundMessage) -> None:
        if await self._store.find_channel(ChannelKind.SMS, inbound.business_address) is None:
            raise NotFound(f"no SMS channel serves {inbound.business_address}")
        await self._queue.send(
            INBOUND,
            inbound.model_dump_json(),
            session_id=inbound.session_key,
            message_id=f"{inbound.provider}:{inbound.provider_message_id}",
        )
        log.info("accepted %s message %s", inbound.provider, inbound.provider_message_id)
