"""Accepting SMS provider webhooks: authenticate, normalize, enqueue durably, then answer."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from shared.channels import twilio
from shared.domain.messaging import keyword_consent
from shared.domain.models import (
    Channel,
    ChannelKind,
    DeliveryReport,
    InboundMessage,
    SmsProvider,
    TwilioAccount,
)
from shared.errors import Forbidden, NotFound
from shared.ports import Clock, ConfigStore, WorkQueue
from shared.services.queues import DELIVERY, INBOUND

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignedForm:
    """A form-encoded webhook as Twilio signed it: the public URL it called, the raw body,
    X-Twilio-Signature and X-Twilio-Webhooks-Signature-Settings."""

    url: str
    body: bytes
    signature: str | None
    settings: str | None


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

    async def accept_twilio(self, request: SignedForm) -> InboundMessage:
        """Raises BadRequest on a malformed body, NotFound for a number no Twilio channel
        serves and Forbidden on a bad signature; in each case nothing is stored or enqueued.
        Returns once the message is durably on the `inbound` queue: only then may Twilio hear
        200."""
        params = await self._verified_twilio(request, number_field="To")
        inbound = twilio.parse_inbound(params, self._clock.now())
        await self._enqueue(inbound)
        return inbound

    async def accept_twilio_status(self, request: SignedForm) -> DeliveryReport:
        """A status callback for a message we sent (from our number): same checks."""
        params = await self._verified_twilio(request, number_field="From")
        report = twilio.parse_status(params)
        await self._enqueue_report(report)
        return report

    async def _verified_twilio(
        self, request: SignedForm, *, number_field: str
    ) -> twilio.FormParams:
        params = twilio.FormParams.parse(request.body)
        business_number = twilio.phone_field(params, number_field)
        channel = await self._channel(business_number, SmsProvider.TWILIO)
        if not isinstance(channel.account, TwilioAccount) or not twilio.signature_is_valid(
            channel.account.auth_token, request.url, params, request.signature, request.settings
        ):
            raise Forbidden("X-Twilio-Signature does not match this request")
        return params

    async def _enqueue_report(self, report: DeliveryReport) -> None:
        # One session per message, so its reports apply one at a time.
        await self._queue.send(
            DELIVERY,
            report.model_dump_json(),
            session_id=f"{report.provider}:{report.provider_message_id}",
            message_id=f"{report.provider}:{report.report_id}",
        )

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
