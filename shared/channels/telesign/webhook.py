"""TeleSign SMS callbacks: signature check and parsing of inbound messages (MO) and delivery
reports. TeleSign posts JSON signed over the raw body with the account's API key."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from shared.channels.numbers import provider_number
from shared.domain.channels import ChannelKind, SmsProvider, TeleSignAccount
from shared.domain.conversations import DeliveryReport, DeliveryStatus, InboundMessage
from shared.domain.customers import ConsentAction
from shared.errors import BadRequest, Forbidden
from shared.ports import (
    ChannelDirectory,
    ProviderSms,
    VerifiedWebhook,
    WebhookCall,
    WebhookKind,
)

AUTH_SCHEME = "TSA"


def callback_signature(api_key: str, body: bytes) -> str:
    """base64(HMAC-SHA256(key=base64-decoded API key, raw body)), as TeleSign signs callbacks.
    The key is decoded leniently, as TeleSign's own SDK does (its test key has '-' in it)."""
    digest = hmac.new(base64.b64decode(api_key), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class Credential:
    """What one `TSA {customer_id}:{signature}` header claims."""

    customer_id: str
    signature: str


def credentials(headers: Iterable[str | None]) -> list[Credential]:
    """The well-formed credentials among Authorization and X-TS-Authorization (a proxy in
    front of the Functions host may replace Authorization; TeleSign sends both)."""
    found = []
    for header in headers:
        scheme, _, rest = (header or "").strip().partition(" ")
        customer_id, _, signature = rest.strip().partition(":")
        if scheme.upper() == AUTH_SCHEME and customer_id and signature:
            found.append(Credential(customer_id.strip(), signature.strip()))
    return found


def signed_by(account: TeleSignAccount, body: bytes, claimed: Iterable[Credential]) -> bool:
    """Whether any credential names this account's customer id and signs this exact body."""
    try:
        expected = callback_signature(account.api_key, body)
    except binascii.Error:
        return False
    return any(
        hmac.compare_digest(c.customer_id.upper(), account.customer_id.upper())
        & hmac.compare_digest(c.signature, expected)  # both compared, whatever the first says
        for c in claimed
    )


# --- wire formats ---------------------------------------------------------------------------


def _rfc1123(value: object) -> object:
    """RFC 1123 dates (`Fri, 21 Oct 2016 14:05:36 GMT`) become datetimes; RFC 3339 ones are
    left to pydantic."""
    if isinstance(value, str) and value[:1].isalpha():
        try:
            return parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return value
    return value


def _utc_if_naive(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


TeleSignTime = Annotated[datetime, BeforeValidator(_rfc1123), AfterValidator(_utc_if_naive)]


class Wire(BaseModel):
    """A TeleSign payload: TeleSign adds fields without notice, so unknown ones are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    what: ClassVar[str] = "payload"


class Status(Wire):
    code: int
    description: str = ""
    updated_on: TeleSignTime | None = None


class UserResponse(Wire):
    phone_number: str = Field(min_length=1, description="the customer's, digits without '+'")
    mo_message: str = ""
    sender_id: str = Field(min_length=1, description="the business number the customer texted")
    action: str | None = Field(default=None, description="start, stop, help or generic")
    keyword: str | None = None


class MoCallback(Wire):
    what = "inbound SMS callback"
    reference_id: str = Field(min_length=1)
    sub_resource: Literal["mo_sms"]
    status: Status | None = None
    user_response: UserResponse


class DeliveryCallback(Wire):
    what = "delivery report"
    reference_id: str = Field(min_length=1, description="TeleSign's id of our outbound message")
    status: Status
    external_id: str | None = Field(default=None, description="our message id, as we sent it")


def parse[W: Wire](body: bytes, kind: type[W]) -> W:
    """The body as a TeleSign payload, or BadRequest that quotes none of its values."""
    try:
        return kind.model_validate_json(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        raise BadRequest(f"not a TeleSign {kind.what}: {problems}") from exc


def business_number(callback: MoCallback) -> str:
    return provider_number("TeleSign", "user_response.sender_id", callback.user_response.sender_id)


_CONSENT = {
    "stop": ConsentAction.OPT_OUT,
    "start": ConsentAction.OPT_IN,
    "help": ConsentAction.HELP,
}


def parse_inbound(callback: MoCallback, received_at: datetime) -> InboundMessage:
    """Normalize an MO callback. TeleSign's keyword `action` is the consent it recognised;
    without one (or `generic`), the message text is still checked for keywords on enqueue."""
    reply = callback.user_response
    return InboundMessage(
        provider=SmsProvider.TELESIGN,
        provider_message_id=callback.reference_id,
        channel=ChannelKind.SMS,
        customer_address=provider_number(
            "TeleSign", "user_response.phone_number", reply.phone_number
        ),
        business_address=business_number(callback),
        text=reply.mo_message,
        received_at=received_at,
        consent=_CONSENT.get((reply.action or "").strip().lower()),
    )


# TeleSign's documented status codes of an SMS we sent ("All Status and Error Codes", SMS
# rows, and the SMS callback reference), by what they mean to us.
_STATUS_CODES = {
    200: DeliveryStatus.DELIVERED,  # delivered to handset (final)
    201: DeliveryStatus.DELIVERED,  # read by the end user (final; RCS)
    203: DeliveryStatus.SENT,  # delivered to the gateway (intermediate)
    290: DeliveryStatus.QUEUED,  # message in progress (intermediate)
    292: DeliveryStatus.QUEUED,  # queued by TeleSign (intermediate)
    295: DeliveryStatus.SENT,  # handed to the mobile network (intermediate)
    # Sent out, but no final word from the network will come (final): it left, no more.
    250: DeliveryStatus.SENT,  # final status unknown
    251: DeliveryStatus.SENT,  # sent out for delivery, no delivery receipt
    **dict.fromkeys(
        (
            207,  # error delivering to handset, reason unknown
            210,  # temporary phone error
            211,  # permanent phone error
            220,  # gateway/network cannot route the message
            221,  # expired before delivery
            222,  # SMS not supported by the phone, carrier, plan or user
            229,  # blocked by your request
            230,  # blocked by TeleSign (global blocklist)
            231,  # invalid or unsupported content
            233,  # blocked: high risk score
            234,  # blocked: recipient opted out
            237,  # blocked in the requested country
            238,  # destination blocked by prefix
        ),
        DeliveryStatus.FAILED,
    ),
}
# TeleSign's 5xx SMS codes (500 "Transaction not attempted", carrier and gateway rejections,
# invalid addresses or content) are all final failures: the message never went out.
_NOT_SENT = range(500, 600)


def delivery_status(code: int) -> DeliveryStatus | None:
    """What a TeleSign SMS status code means for our message; None for a code TeleSign has
    not documented (yet)."""
    if code in _NOT_SENT:
        return DeliveryStatus.FAILED
    return _STATUS_CODES.get(code)


def parse_status(callback: DeliveryCallback) -> DeliveryReport:
    """Normalize a delivery report. TeleSign retries a report until it hears 200, so the
    report id is the message and its status code: a repeat is one report."""
    code = callback.status.code
    status = delivery_status(code)
    error = None
    if status is DeliveryStatus.FAILED:
        error = f"TeleSign status {code}: {callback.status.description or 'not delivered'}"
    return DeliveryReport(
        provider=SmsProvider.TELESIGN,
        report_id=f"{callback.reference_id}:{code}",
        provider_message_id=callback.reference_id,
        status=status,
        unknown_status=None if status is not None else str(code),
        error=error,
        occurred_at=callback.status.updated_on,
    )


class TeleSignWebhook:
    """TeleSign's inbound SMS (MO) callback and delivery report callback, each signed with the
    account's API key (`Authorization: TSA {customer_id}:{signature}` or X-TS-Authorization)."""

    provider = SmsProvider.TELESIGN

    async def verify(
        self, call: WebhookCall, channels: ChannelDirectory, now: datetime
    ) -> VerifiedWebhook:
        headers = (call.headers.get("authorization"), call.headers.get("x-ts-authorization"))
        if call.kind == WebhookKind.STATUS:
            # A report names no number: the customer id in the signature header selects the
            # account, whose key must have signed the body before the body is read.
            claimed = credentials(headers)
            accounts = await _accounts(channels, {c.customer_id.upper() for c in claimed})
            if not any(signed_by(account, call.body, claimed) for account in accounts):
                raise Forbidden("no TeleSign account of ours signed this callback")
            return VerifiedWebhook(reports=(parse_status(parse(call.body, DeliveryCallback)),))
        callback = parse(call.body, MoCallback)
        channel = await channels.serving(business_number(callback), self.provider)
        if not isinstance(channel.account, TeleSignAccount) or not signed_by(
            channel.account, call.body, credentials(headers)
        ):
            raise Forbidden("the TeleSign signature does not match this channel and body")
        return VerifiedWebhook(messages=(ProviderSms(parse_inbound(callback, now), channel),))


async def _accounts(channels: ChannelDirectory, customer_ids: set[str]) -> list[TeleSignAccount]:
    """The distinct TeleSign accounts of our channels with one of these customer ids."""
    found: dict[tuple[str, str], TeleSignAccount] = {}
    if not customer_ids:
        return []
    async for channel in channels.of_provider(SmsProvider.TELESIGN):
        account = channel.account
        if isinstance(account, TeleSignAccount) and account.customer_id.upper() in customer_ids:
            found[(account.customer_id, account.api_key)] = account
    return list(found.values())
