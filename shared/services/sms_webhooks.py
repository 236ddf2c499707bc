"""Accepting SMS provider webhooks: authenticate, normalize, enqueue durably, then answer."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from shared.auth import AppRoleVerifier
from shared.channels import acs, telesign, twilio
from shared.domain.channels import (
    AcsAccount,
    Channel,
    ChannelKind,
    SmsProvider,
    TeleSignAccount,
    TwilioAccount,
)
from shared.domain.conversations import DeliveryReport, InboundMessage
from shared.domain.messaging import keyword_consent
from shared.errors import Forbidden, NotFound, Unauthorized
from shared.ports import ChannelStore, Clock, WorkQueue
from shared.services.listing import every
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


@dataclass(frozen=True)
class SignedJson:
    """A JSON callback as TeleSign signed it: the raw body, and the Authorization and
    X-TS-Authorization headers (either may carry `TSA {customer_id}:{signature}`)."""

    body: bytes
    authorizations: tuple[str | None, ...]


@dataclass(frozen=True)
class EventGridDelivery:
    """An Event Grid request to the ACS webhook: the raw body, every webhook secret it carried
    (`?code=` and the x-webhook-secret header) and its Entra ID bearer token, if any."""

    body: bytes
    secrets: tuple[str, ...]
    bearer_token: str | None = None


@dataclass(frozen=True)
class AcsAcceptance:
    """What an Event Grid delivery came to: the validation code to echo, if it was the
    subscription handshake, and how many events were enqueued or acknowledged and dropped."""

    validation_code: str | None
    accepted: int
    ignored: int


# The app role Event Grid's service principal holds on our app registration, as Event Grid's
# secure webhook delivery with Microsoft Entra ID sets it up.
EVENT_GRID_ROLE = "AzureEventGridSecureWebhookSubscriber"


class SmsWebhookService:
    def __init__(
        self,
        store: ChannelStore,
        queue: WorkQueue,
        clock: Clock,
        event_grid_tokens: AppRoleVerifier | None = None,
    ) -> None:
        self._store = store
        self._queue = queue
        self._clock = clock
        self._event_grid_tokens = event_grid_tokens

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
        params, channel = await self._verified_twilio(request, number_field="To")
        inbound = twilio.parse_inbound(params, self._clock.now())
        await self._enqueue(inbound, channel)
        return inbound

    async def accept_twilio_status(self, request: SignedForm) -> DeliveryReport:
        """A status callback for a message we sent (from our number): same checks."""
        params, _ = await self._verified_twilio(request, number_field="From")
        report = twilio.parse_status(params)
        await self._enqueue_report(report)
        return report

    async def _verified_twilio(
        self, request: SignedForm, *, number_field: str
    ) -> tuple[twilio.FormParams, Channel]:
        params = twilio.FormParams.parse(request.body)
        business_number = twilio.phone_field(params, number_field)
        channel = await self._channel(business_number, SmsProvider.TWILIO)
        if not isinstance(channel.account, TwilioAccount) or not twilio.signature_is_valid(
            channel.account.auth_token, request.url, params, request.signature, request.settings
        ):
            raise Forbidden("X-Twilio-Signature does not match this request")
        return params, channel

    async def accept_telesign(self, request: SignedJson) -> InboundMessage:
        """An inbound SMS (MO) callback: BadRequest on a malformed body, NotFound for a number
        no TeleSign channel serves, Forbidden unless the channel's account signed it; nothing
        is stored or enqueued then. Returns once the message is durably on `inbound`."""
        callback = telesign.parse(request.body, telesign.MoCallback)
        channel = await self._channel(telesign.business_number(callback), SmsProvider.TELESIGN)
        claimed = telesign.credentials(request.authorizations)
        if not isinstance(channel.account, TeleSignAccount) or not telesign.signed_by(
            channel.account, request.body, claimed
        ):
            raise Forbidden("the TeleSign signature does not match this channel and body")
        inbound = telesign.parse_inbound(callback, self._clock.now())
        await self._enqueue(inbound, channel)
        return inbound

    async def accept_telesign_status(self, request: SignedJson) -> DeliveryReport:
        """A delivery report for a message we sent. Its body names no number, so the customer
        id in the signature header selects the account, and that account's key must have
        signed the body; the signature is checked before the body is read."""
        claimed = telesign.credentials(request.authorizations)
        accounts = await self._telesign_accounts({c.customer_id.upper() for c in claimed})
        if not any(telesign.signed_by(a, request.body, claimed) for a in accounts):
            raise Forbidden("no TeleSign account of ours signed this callback")
        report = telesign.parse_status(telesign.parse(request.body, telesign.DeliveryCallback))
        await self._enqueue_report(report)
        return report

    async def _telesign_accounts(self, customer_ids: set[str]) -> list[TeleSignAccount]:
        """The distinct TeleSign accounts of our channels with one of these customer ids."""
        found: dict[tuple[str, str], TeleSignAccount] = {}
        if not customer_ids:
            return []
        async for channel in every(self._store.list_channels):
            account = channel.account
            if isinstance(account, TeleSignAccount) and account.customer_id.upper() in customer_ids:
                found[(account.customer_id, account.api_key)] = account
        return list(found.values())

    async def accept_acs(self, delivery: EventGridDelivery) -> AcsAcceptance:
        """Event Grid's POST, in either schema. Unauthorized without a secret or a valid Entra ID
        token, BadRequest if any event is malformed, NotFound for a number no ACS channel
        serves, Forbidden unless each event carries the secret of its own channel (a batch may
        mix channels); in each case nothing is enqueued. Returns once every event is durably on
        its queue."""
        by_token = self._authorized_by_token(delivery)
        events = acs.parse_events(delivery.body, self._clock.now())
        verdicts: dict[str | None, tuple[bool, Channel | None]] = {}
        for event in events:
            number = _business_address(event)
            if number not in verdicts:
                verdicts[number] = await self._acs_event_authorized(
                    number, delivery.secrets, by_token=by_token
                )
            if not verdicts[number][0]:
                raise Forbidden("the webhook secret is not the one of this event's ACS channel")
        validation_code: str | None = None
        accepted = ignored = 0
        for event in events:
            if isinstance(event, acs.ReceivedSms):
                # Event Grid redelivers an event with its id: that is the duplicate key.
                await self._enqueue(
                    event.inbound,
                    verdicts[event.business_address][1],
                    message_id=f"{SmsProvider.ACS}:{event.event_id}",
                )
                accepted += 1
            elif isinstance(event, acs.DeliveryReportEvent):
                await self._enqueue_report(event.report)
                accepted += 1
            elif isinstance(event, acs.SubscriptionValidation):
                validation_code = event.validation_code
                log.info("Event Grid subscription validated by event %s", event.event_id)
            else:
                ignored += 1
        return AcsAcceptance(validation_code, accepted, ignored)

    async def accept_acs_handshake(self, delivery: EventGridDelivery) -> None:
        """CloudEvents' OPTIONS abuse-protection handshake. It names no number, so the secret
        must be some ACS channel's, or the token Event Grid's; Unauthorized or Forbidden
        otherwise."""
        if not self._authorized_by_token(delivery) and not await self._acs_secret_is_valid(
            None, delivery.secrets
        ):
            raise Forbidden("the webhook secret is no ACS channel's")

    def _authorized_by_token(self, delivery: EventGridDelivery) -> bool:
        """True when Event Grid's Entra ID token authorizes the delivery: a secure webhook
        subscription can only be created by someone the tenant's admin allowed, so the token
        stands for the subscription and each event's number still selects its channel. False
        when the delivery relies on its secret instead; Unauthorized when it has neither."""
        if delivery.secrets:
            return False
        if delivery.bearer_token is None:
            raise Unauthorized(
                f"the channel's webhook secret is required: ?{acs.SECRET_QUERY_PARAMETER}= in "
                f"the subscription URL or the {acs.SECRET_HEADER} header, or Event Grid's "
                "Entra ID token"
            )
        if self._event_grid_tokens is None:
            raise Unauthorized(
                "Entra ID tokens are only accepted with AUTH_MODE=entra: use the channel's "
                f"webhook secret (?{acs.SECRET_QUERY_PARAMETER}= or {acs.SECRET_HEADER})"
            )
        self._event_grid_tokens.verify_app_role(delivery.bearer_token, EVENT_GRID_ROLE)
        return True

    async def _acs_event_authorized(
        self, number: str | None, secrets: tuple[str, ...], *, by_token: bool
    ) -> tuple[bool, Channel | None]:
        """Whether the event is authorized, and the ACS channel serving its number (NotFound
        if none does; None for an event naming no number)."""
        if number is None:
            return by_token or await self._acs_secret_is_valid(None, secrets), None
        channel = await self._channel(number, SmsProvider.ACS)
        if by_token:
            return True, channel
        return _carries_acs_secret(channel, secrets), channel

    async def _acs_secret_is_valid(self, number: str | None, secrets: tuple[str, ...]) -> bool:
        """Whether every secret given is the webhook secret of the ACS channel serving
        `number`, or, for an event naming no number, of some ACS channel."""
        if number is not None:
            return _carries_acs_secret(await self._channel(number, SmsProvider.ACS), secrets)
        async for channel in self._channels_of(SmsProvider.ACS):
            if _carries_acs_secret(channel, secrets):
                return True
        return False

    async def _channels_of(self, provider: SmsProvider) -> AsyncIterator[Channel]:
        async for channel in every(self._store.list_channels):
            if channel.provider == provider:
                yield channel

    async def _enqueue_report(self, report: DeliveryReport) -> None:
        # One session per message, so its reports apply one at a time.
        await self._queue.send(
            DELIVERY,
            report.model_dump_json(),
            session_id=f"{report.provider}:{report.provider_message_id}",
            message_id=f"{report.provider}:{report.report_id}",
        )

    async def _enqueue(
        self, inbound: InboundMessage, channel: Channel | None, *, message_id: str | None = None
    ) -> None:
        """`message_id`, the queue's duplicate key, defaults to the provider's message id. The
        channel found serving the number travels with the message: ingest reads it by id."""
        if inbound.consent is None:
            inbound = inbound.model_copy(update={"consent": keyword_consent(inbound.text)})
        if channel is not None:
            inbound = inbound.model_copy(update={"channel_id": channel.id})
        await self._queue.send(
            INBOUND,
            inbound.model_dump_json(),
            session_id=inbound.session_key,
            message_id=message_id or f"{inbound.provider}:{inbound.provider_message_id}",
        )
        log.info("accepted %s message %s", inbound.provider, inbound.provider_message_id)


def _carries_acs_secret(channel: Channel, secrets: tuple[str, ...]) -> bool:
    return isinstance(channel.account, AcsAccount) and acs.carries_secret(
        channel.account.webhook_secret, secrets
    )


def _business_address(event: acs.AcsEvent) -> str | None:
    """Our number an ACS event is about, which selects its channel; None for events that name
    none (the subscription handshake, event types we ignore)."""
    if isinstance(event, acs.ReceivedSms | acs.DeliveryReportEvent):
        return event.business_address
    return None
