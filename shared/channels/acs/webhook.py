"""Azure Communication Services SMS through Event Grid: parsing and the webhook secret.

Event Grid delivers in either schema its subscription chose, the Event Grid schema (a JSON
array) or CloudEvents 1.0 (one event as `application/cloudevents+json`, or an array as
`application/cloudevents-batch+json`); both are accepted on the same URL. Keys are read
case-insensitively, envelope and data alike: Microsoft's own samples spell them `MessageId`,
`messageId` and even `specVersion`.

Authentication: Event Grid's handshakes prove only that someone controls this URL, so every
delivery, handshakes included, must carry the channel's `webhook_secret`, either in the
subscription's URL as `?code=<secret>` (the name Azure Functions gives its own keys) or as the
delivery header `x-webhook-secret` (an Event Grid "delivery property" marked secret, which keeps
it out of URLs that proxies log). When both come, both must match. The CloudEvents OPTIONS
handshake needs it too; Event Grid sends that to the subscription URL, `?code=` included.
A batch's events are each checked against the channel of our number in it (SMSReceived `to`,
a delivery report's `from`); the subscription handshake and ignored event types, which name no
number, against every ACS channel's. An Entra ID bearer token is not accepted instead: Event
Grid's token shows that Event Grid calls, not for which ACS resource, so not which channel.
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.channels.numbers import provider_number
from shared.domain.channels import AcsAccount, Channel, ChannelKind, SmsProvider
from shared.domain.conversations import DeliveryReport, DeliveryStatus, InboundMessage
from shared.errors import BadRequest, Forbidden, Unauthorized
from shared.ports import (
    AppRoleVerifier,
    ChannelDirectory,
    ProviderSms,
    VerifiedWebhook,
    WebhookCall,
    WebhookKind,
)

log = logging.getLogger(__name__)

SUBSCRIPTION_VALIDATION = "Microsoft.EventGrid.SubscriptionValidationEvent"
SMS_RECEIVED = "Microsoft.Communication.SMSReceived"
SMS_DELIVERY_REPORT = "Microsoft.Communication.SMSDeliveryReportReceived"
SUPPORTED_EVENT_TYPES = frozenset({SUBSCRIPTION_VALIDATION, SMS_RECEIVED, SMS_DELIVERY_REPORT})

# Where the secret travels (names, not secrets).
SECRET_QUERY_PARAMETER = "code"  # noqa: S105
SECRET_HEADER = "x-webhook-secret"  # noqa: S105


def carries_secret(expected: str, given: tuple[str, ...]) -> bool:
    """Whether a request carried the secret, and only it, wherever it carried one. Compared in
    constant time, so the secret cannot be guessed byte by byte from response timings."""
    return bool(given) and all(hmac.compare_digest(expected.encode(), g.encode()) for g in given)


# --- the wire formats, keys folded to lower case ----------------------------------------------


class _Folded(BaseModel):
    """A JSON object whose keys were folded to lower case; unknown keys are Event Grid's to
    add and are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class _CloudEvent(_Folded):
    specversion: Literal["1.0"]
    id: str = Field(min_length=1)
    type: str = Field(min_length=1)
    source: str = Field(min_length=1)
    subject: str | None = None
    time: datetime | None = None
    data: Any = None


class _EventGridEvent(_Folded):
    id: str = Field(min_length=1)
    eventtype: str = Field(min_length=1)
    subject: str
    eventtime: datetime
    dataversion: str
    topic: str | None = None  # set by Event Grid, absent when a publisher posts
    metadataversion: str | None = None
    data: Any = None


class _ValidationData(_Folded):
    validation_code: str = Field(alias="validationcode", min_length=1)
    validation_url: str | None = Field(default=None, alias="validationurl")


class _SmsReceivedData(_Folded):
    message_id: str = Field(alias="messageid", min_length=1)
    from_: str = Field(alias="from", min_length=1)
    to: str = Field(min_length=1)
    message: str
    received_timestamp: datetime | None = Field(default=None, alias="receivedtimestamp")
    segment_count: int | None = Field(default=None, alias="segmentcount")


class _DeliveryAttempt(_Folded):
    timestamp: datetime | None = None
    segments_succeeded: int | None = Field(default=None, alias="segmentssucceeded")
    segments_failed: int | None = Field(default=None, alias="segmentsfailed")


class _SmsDeliveryReportData(_Folded):
    message_id: str = Field(alias="messageid", min_length=1)
    from_: str = Field(alias="from", min_length=1)
    to: str = Field(min_length=1)
    delivery_status: str = Field(alias="deliverystatus", min_length=1)
    delivery_status_details: str | None = Field(default=None, alias="deliverystatusdetails")
    delivery_attempts: tuple[_DeliveryAttempt, ...] = Field(default=(), alias="deliveryattempts")
    received_timestamp: datetime | None = Field(default=None, alias="receivedtimestamp")
    tag: str | None = None


# --- what the service receives ------------------------------------------------------------------


@dataclass(frozen=True)
class SubscriptionValidation:
    event_id: str
    validation_code: str


@dataclass(frozen=True)
class ReceivedSms:
    event_id: str
    inbound: InboundMessage

    @property
    def business_address(self) -> str:
        return self.inbound.business_address


@dataclass(frozen=True)
class DeliveryReportEvent:
    event_id: str
    business_address: str
    """Our number the reported message left from: it selects the channel."""
    report: DeliveryReport


@dataclass(frozen=True)
class IgnoredEvent:
    """An event we acknowledge and drop: another event type the subscription includes
    (acknowledged, since Event Grid would only retry it, and logged)."""

    event_id: str
    event_type: str
    reason: str


AcsEvent = SubscriptionValidation | ReceivedSms | DeliveryReportEvent | IgnoredEvent


@dataclass(frozen=True)
class _Envelope:
    id: str
    type: str
    data: Any


# ACS's documented deliveryStatus values (matched case-insensitively), by what they mean to
# us: Delivered and Failed, the SMSDeliveryReportReceived event's; Pending and Unknown, also
# in ACS's own delivery report schema, both about a message ACS accepted and sent on without
# a final word (yet). Any other value is one ACS added later: kept as it was said.
_STATUS = {
    "delivered": DeliveryStatus.DELIVERED,
    "failed": DeliveryStatus.FAILED,
    **dict.fromkeys(("pending", "unknown"), DeliveryStatus.SENT),
}


def parse_events(body: bytes, received_at: datetime) -> list[AcsEvent]:
    """Every event of one delivery, validated; raises BadRequest (nothing to accept then) on
    the first malformed one. Messages' text never reaches the error or the log."""
    try:
        document = _fold(json.loads(body))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"body is not an Event Grid delivery: {_reason(exc)}") from exc
    raw_events = document if isinstance(document, list) else [document]
    if not raw_events:
        raise BadRequest("the delivery holds no events")
    events = [_event(_envelope(raw, index), received_at) for index, raw in enumerate(raw_events)]
    if sum(isinstance(e, SubscriptionValidation) for e in events) > 1:
        raise BadRequest("a delivery may hold one subscription validation event only")
    return events


class _DuplicateKey(ValueError):
    pass


def _fold(value: Any) -> Any:
    if isinstance(value, dict):
        folded = {str(key).lower(): _fold(item) for key, item in value.items()}
        if len(folded) != len(value):
            # {"From": a, "from": b} is ambiguous once keys are case-insensitive.
            raise _DuplicateKey("a key appears twice, spelled in different cases")
        return folded
    if isinstance(value, list):
        return [_fold(item) for item in value]
    return value


def _envelope(raw: Any, index: int) -> _Envelope:
    if not isinstance(raw, dict):
        raise BadRequest(f"event {index} is not a JSON object")
    try:
        if "specversion" in raw:
            cloud = _CloudEvent.model_validate(raw)
            return _Envelope(cloud.id, cloud.type, cloud.data)
        grid = _EventGridEvent.model_validate(raw)
        return _Envelope(grid.id, grid.eventtype, grid.data)
    except ValidationError as exc:
        raise BadRequest(f"event {index} is neither schema's event: {_reason(exc)}") from exc


def _event(envelope: _Envelope, received_at: datetime) -> AcsEvent:
    try:
        if envelope.type == SUBSCRIPTION_VALIDATION:
            validation = _ValidationData.model_validate(envelope.data)
            return SubscriptionValidation(envelope.id, validation.validation_code)
        if envelope.type == SMS_RECEIVED:
            return ReceivedSms(
                envelope.id,
                _inbound(_SmsReceivedData.model_validate(envelope.data), received_at),
            )
        if envelope.type == SMS_DELIVERY_REPORT:
            return _report(envelope, _SmsDeliveryReportData.model_validate(envelope.data))
    except ValidationError as exc:
        log.warning("ACS event %s (%s) is malformed: %s", envelope.id, envelope.type, _reason(exc))
        raise BadRequest(f"event {envelope.id} ({envelope.type}): {_reason(exc)}") from exc
    log.info("ACS event %s of type %s acknowledged and ignored", envelope.id, envelope.type)
    return IgnoredEvent(envelope.id, envelope.type, "not an event type this channel handles")


def _inbound(data: _SmsReceivedData, received_at: datetime) -> InboundMessage:
    return InboundMessage(
        provider=SmsProvider.ACS,
        provider_message_id=data.message_id,
        channel=ChannelKind.SMS,
        customer_address=provider_number("ACS", "from", data.from_),
        business_address=provider_number("ACS", "to", data.to),
        text=data.message,
        received_at=received_at,  # ours, as for every provider: their clocks may be off
    )


def _report(envelope: _Envelope, data: _SmsDeliveryReportData) -> AcsEvent:
    business_address = provider_number("ACS", "from", data.from_)
    provider_number("ACS", "to", data.to)  # a report must name a real recipient too
    status = _STATUS.get(data.delivery_status.lower())
    error = None
    if status is DeliveryStatus.FAILED:
        error = data.delivery_status_details or data.delivery_status
    return DeliveryReportEvent(
        envelope.id,
        business_address,
        DeliveryReport(
            provider=SmsProvider.ACS,
            report_id=envelope.id,  # Event Grid retries an event with the same id
            provider_message_id=data.message_id,
            status=status,
            unknown_status=None if status is not None else data.delivery_status,
            error=error,
            occurred_at=_aware(data.received_timestamp),
        ),
    )


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _reason(exc: Exception) -> str:
    """A parse error without the input it quotes: that may be a customer's message."""
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'event'}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)
        )
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON at line {exc.lineno} column {exc.colno}"
    return exc.__class__.__name__ if not isinstance(exc, _DuplicateKey) else str(exc)


# The app role Event Grid's service principal holds on our app registration, as Event Grid's
# secure webhook delivery with Microsoft Entra ID sets it up.
EVENT_GRID_ROLE = "AzureEventGridSecureWebhookSubscriber"


class AcsWebhook:
    """Event Grid's deliveries of ACS events, in either schema, and the CloudEvents OPTIONS
    handshake. Each event must carry the webhook secret of its own channel (a batch may mix
    channels), or the delivery Event Grid's Entra ID token (with AUTH_MODE=entra)."""

    provider = SmsProvider.ACS

    def __init__(self, event_grid_tokens: AppRoleVerifier | None = None) -> None:
        self._event_grid_tokens = event_grid_tokens

    async def verify(
        self, call: WebhookCall, channels: ChannelDirectory, now: datetime
    ) -> VerifiedWebhook:
        secrets = _secrets(call)
        by_token = self._authorized_by_token(call, secrets)
        if call.kind == WebhookKind.HANDSHAKE:
            # It names no number, so the secret must be some ACS channel's.
            if not by_token and not await _some_channel_has(channels, secrets):
                raise Forbidden("the webhook secret is no ACS channel's")
            return VerifiedWebhook()
        events = parse_events(call.body, now)
        serving: dict[str | None, Channel | None] = {}
        for event in events:
            number = _business_address(event)
            if number not in serving:
                serving[number] = await _authorized_channel(
                    channels, number, secrets, by_token=by_token
                )
        messages: list[ProviderSms] = []
        reports: list[DeliveryReport] = []
        validation_code: str | None = None
        ignored = 0
        for event in events:
            if isinstance(event, ReceivedSms):
                # Event Grid redelivers an event with its id: that is the duplicate key.
                key = f"{SmsProvider.ACS}:{event.event_id}"
                messages.append(ProviderSms(event.inbound, serving[event.business_address], key))
            elif isinstance(event, DeliveryReportEvent):
                reports.append(event.report)
            elif isinstance(event, SubscriptionValidation):
                validation_code = event.validation_code
            else:
                ignored += 1
        return VerifiedWebhook(tuple(messages), tuple(reports), validation_code, ignored)

    def _authorized_by_token(self, call: WebhookCall, secrets: tuple[str, ...]) -> bool:
        """True when Event Grid's Entra ID token authorizes the delivery: a secure webhook
        subscription can only be created by someone the tenant's admin allowed, so the token
        stands for the subscription and each event's number still selects its channel. False
        when the delivery relies on its secret instead; Unauthorized when it has neither."""
        if secrets:
            return False
        token = _bearer(call.headers.get("authorization"))
        if token is None:
            raise Unauthorized(
                f"the channel's webhook secret is required: ?{SECRET_QUERY_PARAMETER}= in "
                f"the subscription URL or the {SECRET_HEADER} header, or Event Grid's "
                "Entra ID token"
            )
        if self._event_grid_tokens is None:
            raise Unauthorized(
                "Entra ID tokens are only accepted with AUTH_MODE=entra: use the channel's "
                f"webhook secret (?{SECRET_QUERY_PARAMETER}= or {SECRET_HEADER})"
            )
        self._event_grid_tokens.verify_app_role(token, EVENT_GRID_ROLE)
        return True


def _secrets(call: WebhookCall) -> tuple[str, ...]:
    given = (call.query.get(SECRET_QUERY_PARAMETER), call.headers.get(SECRET_HEADER))
    return tuple(secret for secret in given if secret is not None)


def _bearer(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def _authorized_channel(
    channels: ChannelDirectory, number: str | None, secrets: tuple[str, ...], *, by_token: bool
) -> Channel | None:
    """The ACS channel serving the event's number (NotFound if none does; None for an event
    naming no number), once the event is shown to be authorized (Forbidden otherwise)."""
    if number is None:
        if by_token or await _some_channel_has(channels, secrets):
            return None
    else:
        channel = await channels.serving(number, SmsProvider.ACS)
        if by_token or _carries_channel_secret(channel, secrets):
            return channel
    raise Forbidden("the webhook secret is not the one of this event's ACS channel")


async def _some_channel_has(channels: ChannelDirectory, secrets: tuple[str, ...]) -> bool:
    async for channel in channels.of_provider(SmsProvider.ACS):
        if _carries_channel_secret(channel, secrets):
            return True
    return False


def _carries_channel_secret(channel: Channel, secrets: tuple[str, ...]) -> bool:
    return isinstance(channel.account, AcsAccount) and carries_secret(
        channel.account.webhook_secret, secrets
    )


def _business_address(event: AcsEvent) -> str | None:
    """Our number an ACS event is about, which selects its channel; None for events that name
    none (the subscription handshake, event types we ignore)."""
    if isinstance(event, ReceivedSms | DeliveryReportEvent):
        return event.business_address
    return None
