"""Twilio SMS webhooks: signature check (twilio's own RequestValidator) and parsing."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from urllib.parse import parse_qsl

from twilio.request_validator import RequestValidator, get_signature_algorithm

from shared.channels.numbers import provider_number
from shared.domain.channels import ChannelKind, SmsProvider, TwilioAccount
from shared.domain.conversations import DeliveryReport, DeliveryStatus, InboundMessage, MediaRef
from shared.errors import BadRequest, Forbidden
from shared.ports import (
    ChannelDirectory,
    ProviderSms,
    VerifiedWebhook,
    WebhookCall,
    WebhookKind,
)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
MAX_MEDIA = 10  # Twilio's own limit per MMS


# Twilio's richest webhook (an MMS with ten media and geographic fields) has under a hundred.
MAX_FORM_FIELDS = 1000


class FormParams:
    """A form body's fields, keeping repeated names: what Twilio signed, exactly."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    @classmethod
    def parse(cls, body: bytes) -> FormParams:
        try:
            text = body.decode("utf-8")
            return cls(
                parse_qsl(
                    text,
                    keep_blank_values=True,
                    strict_parsing=bool(text),
                    max_num_fields=MAX_FORM_FIELDS,
                )
            )
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadRequest("body is not a form-encoded Twilio webhook") from exc

    def __iter__(self):  # type: ignore[no-untyped-def]  # RequestValidator iterates names
        return iter({name for name, _ in self._pairs})

    def __contains__(self, name: object) -> bool:
        return any(n == name for n, _ in self._pairs)

    def getlist(self, name: str) -> list[str]:
        return [value for n, value in self._pairs if n == name]

    def first(self, name: str) -> str | None:
        values = self.getlist(name)
        return values[0] if values else None

    def as_dict(self) -> Mapping[str, str]:
        return {name: value for name, value in reversed(self._pairs)}


def signature_is_valid(
    auth_token: str,
    url: str,
    params: FormParams,
    signature: str | None,
    signature_settings: str | None,
) -> bool:
    """Check X-Twilio-Signature over the URL Twilio called and every field it sent."""
    if not auth_token or not signature:
        return False
    validator = RequestValidator(auth_token)
    algorithm = get_signature_algorithm(signature_settings)
    return bool(validator.validate(url, params, signature, algorithm))


def _required(params: FormParams, name: str) -> str:
    value = params.first(name)
    if not value:
        raise BadRequest(f"Twilio webhook lacks {name}")
    return value


def phone_field(params: FormParams, name: str) -> str:
    return provider_number("Twilio", name, _required(params, name))


def parse_inbound(params: FormParams, received_at: datetime) -> InboundMessage:
    """Normalize an inbound SMS/MMS webhook. MMS media stay references to Twilio's URLs."""
    try:
        media_count = int(params.first("NumMedia") or "0")
    except ValueError as exc:
        raise BadRequest("Twilio webhook field NumMedia is not a number") from exc
    if not 0 <= media_count <= MAX_MEDIA:
        raise BadRequest(f"Twilio webhook field NumMedia out of range: {media_count}")
    media = tuple(
        MediaRef(
            url=_required(params, f"MediaUrl{n}"), content_type=params.first(f"MediaContentType{n}")
        )
        for n in range(media_count)
    )
    return InboundMessage(
        provider=SmsProvider.TWILIO,
        provider_message_id=_required(params, "MessageSid"),
        channel=ChannelKind.SMS,
        customer_address=phone_field(params, "From"),
        business_address=phone_field(params, "To"),
        text=params.first("Body") or "",
        media=media,
        received_at=received_at,
    )


# Twilio's documented MessageStatus values, by what they mean to us. `receiving` and
# `received` are an inbound message's: known, and never moving an outbound message forward.
_STATUS = {
    **dict.fromkeys(("receiving", "received"), DeliveryStatus.RECEIVED),
    **dict.fromkeys(("queued", "accepted", "scheduled"), DeliveryStatus.QUEUED),
    **dict.fromkeys(("sending", "sent", "partially_delivered"), DeliveryStatus.SENT),
    **dict.fromkeys(("delivered", "read"), DeliveryStatus.DELIVERED),
    **dict.fromkeys(("failed", "undelivered", "canceled"), DeliveryStatus.FAILED),
}


def parse_status(params: FormParams) -> DeliveryReport:
    """Normalize a status callback. Twilio may send the same status twice and statuses out of
    order: the report id is the message and its status, so a repeat is one report."""
    sid = _required(params, "MessageSid")
    raw = _required(params, "MessageStatus")
    status = _STATUS.get(raw)
    error = None
    if status is DeliveryStatus.FAILED:
        code = params.first("ErrorCode")
        message = params.first("ErrorMessage")
        error = " ".join(part for part in (code and f"Twilio error {code}", message) if part) or raw
    return DeliveryReport(
        provider=SmsProvider.TWILIO,
        report_id=f"{sid}:{raw}",
        provider_message_id=sid,
        status=status,
        unknown_status=None if status is not None else raw,
        error=error,
    )


class TwilioWebhook:
    """Twilio's messaging webhook (the number texted is `To`) and status callback (our number
    is `From`): the channel serving that number must have signed the call."""

    provider = SmsProvider.TWILIO

    async def verify(
        self, call: WebhookCall, channels: ChannelDirectory, now: datetime
    ) -> VerifiedWebhook:
        params = FormParams.parse(call.body)
        number_field = "From" if call.kind == WebhookKind.STATUS else "To"
        channel = await channels.serving(phone_field(params, number_field), self.provider)
        if not isinstance(channel.account, TwilioAccount) or not signature_is_valid(
            channel.account.auth_token,
            call.url,
            params,
            call.headers.get("x-twilio-signature"),
            call.headers.get("x-twilio-webhooks-signature-settings"),
        ):
            raise Forbidden("X-Twilio-Signature does not match this request")
        if call.kind == WebhookKind.STATUS:
            return VerifiedWebhook(reports=(parse_status(params),))
        return VerifiedWebhook(messages=(ProviderSms(parse_inbound(params, now), channel),))
