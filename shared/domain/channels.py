"""Channels: a provider account (Twilio, TeleSign, ACS) with its numbers, or the chat widget. Pure
data."""

from __future__ import annotations

import base64
import binascii
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, field_validator

from shared.domain.base import Model
from shared.domain.placeholders import FixedText


class ChannelKind(StrEnum):
    SMS = "sms"
    CHAT = "chat"


class SmsProvider(StrEnum):
    TWILIO = "twilio"
    TELESIGN = "telesign"
    ACS = "acs"


class TwilioAccount(Model):
    provider: Literal[SmsProvider.TWILIO] = SmsProvider.TWILIO
    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$")
    auth_token: str = Field(min_length=1, repr=False, description="secret: write-only")
    messaging_service_sid: str | None = Field(default=None, pattern=r"^MG[0-9a-fA-F]{32}$")


class TeleSignAccount(Model):
    provider: Literal[SmsProvider.TELESIGN] = SmsProvider.TELESIGN
    customer_id: str = Field(
        pattern=r"^[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}$",
        description="TeleSign's customer id, a GUID",
    )
    api_key: str = Field(min_length=1, repr=False, description="secret (base64): write-only")

    @field_validator("api_key")
    @classmethod
    def _api_key_is_base64(cls, value: str) -> str:
        # TeleSign signs with the decoded key: one that is not base64 could never verify.
        try:
            if base64.b64decode(value, validate=True):
                return value
        except binascii.Error:
            pass
        raise ValueError("api_key must be the base64 key TeleSign issued")


class AcsAccount(Model):
    provider: Literal[SmsProvider.ACS] = SmsProvider.ACS
    endpoint: str = Field(pattern=r"^https://")
    access_key: str | None = Field(
        default=None, repr=False, description="secret: write-only; none means managed identity"
    )
    webhook_secret: str = Field(
        min_length=16, repr=False, description="secret every Event Grid delivery must carry"
    )


ProviderAccount = Annotated[
    TwilioAccount | TeleSignAccount | AcsAccount, Field(discriminator="provider")
]

IdentifyingField = Literal["mobile_phone", "account_phone", "email", "display_name"]


class PreChatQuestion(Model):
    """One question of a chat widget's pre-chat form; an answer may identify the customer."""

    key: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    label: str = Field(min_length=1, max_length=200)
    required: bool = False
    identifies: IdentifyingField | None = Field(
        default=None, description="the customer field this answer must equal exactly"
    )


# A web origin as browsers send it in the Origin header: scheme, host and an optional port.
_ORIGIN = r"^https?://[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$"


class ChatWidget(Model):
    """What a chat channel's widget asks and says, and the sites that may embed it."""

    pre_chat: tuple[PreChatQuestion, ...] = ()
    greeting: FixedText | None = Field(
        default=None, max_length=1000, description="sent when a conversation starts"
    )
    allowed_origins: tuple[Annotated[str, Field(pattern=_ORIGIN)], ...] = Field(
        default=(),
        max_length=100,
        description="the web origins (https://shop.example.com) whose pages may start chats "
        "with this widget; none: any",
    )

    @field_validator("allowed_origins")
    @classmethod
    def _lower_case(cls, origins: tuple[str, ...]) -> tuple[str, ...]:
        # Browsers send the scheme and host in lower case.
        return tuple(dict.fromkeys(origin.lower() for origin in origins))

    def admits(self, origin: str | None) -> bool:
        """Whether a page of this origin may use the widget. A request without an Origin
        header does not come from a browser page, which the allow-list cannot govern."""
        return not self.allowed_origins or origin is None or origin.lower() in self.allowed_origins


class Channel(Model):
    """Where customers reach the business: an SMS provider account with its numbers, or a
    chat widget. The address a customer writes to selects the channel and its workstream."""

    id: str
    kind: ChannelKind
    addresses: tuple[str, ...] = Field(
        min_length=1, description="E.164 business numbers for SMS, widget ids for chat"
    )
    account: ProviderAccount | None = None
    workstream_id: str
    create_unknown_contacts: bool = Field(
        default=False, description="open a new contact for a number no record has"
    )
    chat: ChatWidget | None = Field(default=None, description="chat channels: the widget")

    @property
    def provider(self) -> SmsProvider | None:
        return None if self.account is None else self.account.provider
