"""Conversations and their messages: inbound as a provider hands them over, stored, delivered, and
what the sandbox sender sent. Pure data."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from pydantic import ConfigDict, Field, field_validator, model_validator

from shared.domain.base import Model
from shared.domain.channels import ChannelKind, SmsProvider
from shared.domain.customers import ConsentAction
from shared.domain.outcomes import CsatAnswer, WrapUp
from shared.domain.routing_config import Locale
from shared.domain.sentiment import ConversationSentiment, Sentiment


class ConversationStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ClosingReason(StrEnum):
    HANDLED = "handled"
    """An agent had the work, and closed it."""
    ABANDONED = "abandoned"
    """The work closed before any agent had it (the customer left a queue, say)."""
    AUTO_CLOSED = "auto_closed"
    """The customer was silent for the workstream's auto-close time."""


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class SenderKind(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"
    BOT = "bot"
    """The workstream's bot: `bot_id` names it."""


class DeliveryStatus(StrEnum):
    RECEIVED = "received"
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"


class TypingParty(StrEnum):
    """Who is typing in a conversation: shown to the other side, for seconds."""

    CUSTOMER = "customer"
    AGENT = "agent"


class MediaRef(Model):
    url: str
    content_type: str | None = None
    name: str | None = None
    size: int | None = Field(default=None, ge=0, description="bytes, when the sender said")


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class InboundMessage(Model):
    """One customer message as a provider delivered it, normalized; the `inbound` queue body."""

    provider: SmsProvider
    provider_message_id: str
    channel: ChannelKind
    customer_address: str
    business_address: str
    text: str
    media: tuple[MediaRef, ...] = ()
    received_at: datetime
    consent: ConsentAction | None = Field(
        default=None, description="a STOP/START/HELP keyword the customer sent"
    )
    channel_id: str | None = Field(
        default=None,
        description="the channel the webhook found serving business_address, which ingest "
        "reads by id; None in messages enqueued before the webhook carried it",
    )

    @field_validator("text")
    @classmethod
    def _text_only(cls, text: str) -> str:
        """Control characters (NUL and the like) are never text: dropped, as from chat. Tabs,
        line breaks and every printable or formatting character (RTL marks, emoji) stay."""
        return _CONTROL_CHARACTERS.sub("", text)

    @property
    def session_key(self) -> str:
        """Messages of one conversation share this key, so the queue keeps their order."""
        return f"{self.channel}:{self.customer_address}:{self.business_address}"

    @property
    def stored_provider_id(self) -> str:
        """The provider's message id as stored (invariant 3: one message per provider id)."""
        return f"{self.provider}:{self.provider_message_id}"


class ConversationForAgents(Model):
    """A conversation as agents see it: everything but what is for supervisors only."""

    id: str
    channel: ChannelKind
    channel_id: str
    workstream_id: str
    customer_address: str
    business_address: str
    customer_id: str | None = None
    customer_candidates: tuple[str, ...] = Field(
        default=(), description="records the address matched when it matched several"
    )
    status: ConversationStatus = ConversationStatus.OPEN
    pre_chat: dict[str, str] = Field(default_factory=dict, description="chat: pre-chat answers")
    locale: Locale | None = Field(
        default=None, description="the customer's language, for automated messages"
    )
    context: dict[str, bool | float | str] = Field(
        default_factory=dict, description="chat: context variables the widget set"
    )
    opened_at: datetime
    closed_at: datetime | None = None
    closing_reason: ClosingReason | None = None
    reopened_at: datetime | None = Field(
        default=None, description="when it last reopened after a close"
    )
    # --- after the conversation (shared/domain/outcomes.py) ---
    wrap_up: WrapUp | None = Field(default=None, description="the agent's wrap-up")
    csat: CsatAnswer | None = Field(default=None, description="the customer's satisfaction")
    csat_requested_at: datetime | None = Field(
        default=None, description="SMS: when the survey question was sent"
    )
    transcript_emails: int = Field(
        default=0, ge=0, description="chat: transcripts the customer had emailed"
    )


class Conversation(ConversationForAgents):
    sentiment: ConversationSentiment | None = Field(
        default=None, description="rolling, over the customer's messages; supervisors only"
    )

    # The changes below are the stores' to make atomically; written here once so every store
    # makes the same one (shared/domain/lifecycle.py has the rules).

    def identified_as(self, customer_id: str) -> Conversation:
        return self.model_copy(update={"customer_id": customer_id, "customer_candidates": ()})

    def closed(self, now: datetime, reason: ClosingReason) -> Conversation:
        return self.model_copy(
            update={"status": ConversationStatus.CLOSED, "closed_at": now, "closing_reason": reason}
        )

    def with_outcome_of(self, changed: Conversation) -> Conversation:
        """This conversation with `changed`'s outcome fields and nothing else of it: what a
        store writes for `change_conversation_outcome`, leaving the lifecycle alone."""
        return self.model_copy(update={f: getattr(changed, f) for f in OUTCOME_FIELDS})

    def reopened(self, now: datetime) -> Conversation:
        return self.model_copy(
            update={
                "status": ConversationStatus.OPEN,
                "closed_at": None,
                "closing_reason": None,
                "reopened_at": now,
            }
        )


class MessageForAgents(Model):
    """A message as agents see it: everything but what is for supervisors only."""

    id: str
    conversation_id: str
    sequence: int = 0
    direction: Direction
    sender: SenderKind
    agent_id: str | None = None
    bot_id: str | None = Field(default=None, description="the bot that wrote it (sender bot)")
    internal: bool = False
    text: str
    media: tuple[MediaRef, ...] = ()
    provider_message_id: str | None = None
    status: DeliveryStatus | None = Field(
        default=None, description="Delivery state of a customer-visible message; None for notes"
    )
    error: str | None = Field(default=None, description="why the provider failed to deliver it")
    unknown_status: str | None = Field(
        default=None,
        description="the provider's last status, when it is one this system does not know "
        "(for example 'unknown status 299'); the delivery status stays as it was",
    )
    created_at: datetime


class Message(MessageForAgents):
    sentiment: Sentiment | None = Field(
        default=None, description="a customer message's, when scored; never shown to customers"
    )
    trace_context: str | None = Field(
        default=None,
        description="an agent's reply: the W3C traceparent it was written in, which its send "
        "and delivery reports continue",
    )


def customer_message(
    inbound: InboundMessage,
    message_id: str,
    conversation_id: str,
    *,
    media: tuple[MediaRef, ...],
    sentiment: Sentiment | None = None,
) -> Message:
    """The customer's message as stored in its conversation, received as the provider said."""
    return Message(
        id=message_id,
        conversation_id=conversation_id,
        direction=Direction.INBOUND,
        sender=SenderKind.CUSTOMER,
        text=inbound.text,
        media=media,
        provider_message_id=inbound.stored_provider_id,
        status=DeliveryStatus.RECEIVED,
        created_at=inbound.received_at,
        sentiment=sentiment,
    )


OUTCOME_FIELDS = ("wrap_up", "csat", "csat_requested_at", "transcript_emails")
"""The conversation's fields written after it (wrap-up, survey, transcript by email)."""


class DeliveryReport(Model):
    """A provider's word on an outbound message; the `delivery` queue body."""

    provider: SmsProvider
    report_id: str = Field(description="dedupe key: the same report retried has the same id")
    provider_message_id: str = Field(description="the provider's id of our outbound message")
    status: DeliveryStatus | None = Field(
        description="None for a status the provider has not documented (yet): see unknown_status"
    )
    unknown_status: str | None = Field(
        default=None, description="the provider's own word, when status is None"
    )
    error: str | None = Field(default=None, description="the provider's reason, on failure")
    occurred_at: datetime | None = None
    waits: int = Field(
        default=0,
        ge=0,
        description="times it was put back to wait for its message's provider id to be stored",
    )

    @model_validator(mode="after")
    def _known_or_said(self) -> DeliveryReport:
        if (self.status is None) == (self.unknown_status is None):
            raise ValueError("a report has either a known status or the provider's unknown one")
        return self


class SentSms(Model):
    """What the sandbox SMS sender 'sent': kept so a person or a test can see it."""

    provider_message_id: str
    message_id: str
    to: str
    from_: str = Field(alias="from")
    text: str
    media_urls: tuple[str, ...] = Field(default=(), description="sent as MMS")
    sent_at: datetime

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
