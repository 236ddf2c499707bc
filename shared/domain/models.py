"""The records the system keeps and passes around. Pure data: no I/O here."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChannelKind(StrEnum):
    SMS = "sms"
    CHAT = "chat"


class SmsProvider(StrEnum):
    TWILIO = "twilio"
    TELESIGN = "telesign"
    ACS = "acs"


class Presence(StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"
    BUSY_DND = "busy_dnd"
    AWAY = "away"
    OFFLINE = "offline"


class ConversationStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class WorkItemStatus(StrEnum):
    WAITING = "waiting"
    ACTIVE = "active"
    WRAP_UP = "wrap_up"
    CLOSED = "closed"


# Items in these states hold their agent's capacity.
CAPACITY_HOLDING = (WorkItemStatus.ACTIVE, WorkItemStatus.WRAP_UP)


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class SenderKind(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"


class ConsentAction(StrEnum):
    """Keyword replies carriers and providers recognise (STOP, START, HELP)."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


class DeliveryStatus(StrEnum):
    RECEIVED = "received"
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"


# --- configuration ---------------------------------------------------------------------------


class TwilioAccount(Model):
    provider: Literal[SmsProvider.TWILIO] = SmsProvider.TWILIO
    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$")
    auth_token: str = Field(min_length=1, repr=False, description="secret: write-only")
    messaging_service_sid: str | None = Field(default=None, pattern=r"^MG[0-9a-fA-F]{32}$")


class TeleSignAccount(Model):
    provider: Literal[SmsProvider.TELESIGN] = SmsProvider.TELESIGN
    customer_id: str = Field(min_length=1)
    api_key: str = Field(min_length=1, repr=False, description="secret (base64): write-only")


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

    @property
    def provider(self) -> SmsProvider | None:
        return None if self.account is None else self.account.provider


class Workstream(Model):
    id: str
    name: str
    channel: ChannelKind
    capacity_units: int = Field(default=1, ge=1)
    allowed_presences: tuple[Presence, ...] = (Presence.AVAILABLE, Presence.BUSY)
    fallback_queue_id: str


class AssignmentMethod(StrEnum):
    HIGHEST_CAPACITY = "highest_capacity"


class Queue(Model):
    id: str
    name: str
    priority: int = 0
    assignment_method: AssignmentMethod = AssignmentMethod.HIGHEST_CAPACITY


class ConditionField(StrEnum):
    CHANNEL = "channel"
    BUSINESS_ADDRESS = "business_address"
    TEXT = "text"
    CUSTOMER_IDENTIFIED = "customer_identified"


class Operator(StrEnum):
    EQUALS = "equals"
    CONTAINS = "contains"
    REGEX = "regex"


class Condition(Model):
    field: ConditionField
    operator: Operator
    value: str


class RoutingRule(Model):
    """One route-to-queue rule of a workstream; rules run in `order`, the first match wins."""

    id: str
    workstream_id: str
    order: int
    name: str
    match: Literal["all", "any"] = "all"
    conditions: tuple[Condition, ...] = ()
    queue_id: str
    priority: int = 0


class Agent(Model):
    id: str
    display_name: str
    queue_ids: tuple[str, ...] = ()
    max_capacity: int = Field(default=3, ge=0)
    default_presence: Presence = Presence.OFFLINE


class AgentState(Model):
    """An agent with its live state, as routing sees it."""

    agent: Agent
    presence: Presence
    used_capacity: int
    last_assigned_at: datetime | None = None

    @property
    def remaining_capacity(self) -> int:
        return self.agent.max_capacity - self.used_capacity


class Customer(Model):
    id: str
    display_name: str
    mobile_phone: str | None = None
    account_phone: str | None = None


# --- conversations ---------------------------------------------------------------------------


class MediaRef(Model):
    url: str
    content_type: str | None = None


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

    @property
    def session_key(self) -> str:
        """Messages of one conversation share this key, so the queue keeps their order."""
        return f"{self.channel}:{self.customer_address}:{self.business_address}"


class Conversation(Model):
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
    opened_at: datetime
    closed_at: datetime | None = None


class Message(Model):
    id: str
    conversation_id: str
    sequence: int = 0
    direction: Direction
    sender: SenderKind
    agent_id: str | None = None
    internal: bool = False
    text: str
    media: tuple[MediaRef, ...] = ()
    provider_message_id: str | None = None
    status: DeliveryStatus | None = Field(
        default=None, description="Delivery state of a customer-visible message; None for notes"
    )
    error: str | None = Field(default=None, description="why the provider failed to deliver it")
    created_at: datetime


class WorkItem(Model):
    """A conversation's claim on an agent: waiting in a queue, then held by one primary agent."""

    id: str
    conversation_id: str
    workstream_id: str
    queue_id: str
    priority: int = 0
    capacity_units: int = 1
    status: WorkItemStatus = WorkItemStatus.WAITING
    agent_id: str | None = None
    enqueued_at: datetime
    assigned_at: datetime | None = None


class DeliveryReport(Model):
    """A provider's word on an outbound message; the `delivery` queue body."""

    provider: SmsProvider
    report_id: str = Field(description="dedupe key: the same report retried has the same id")
    provider_message_id: str = Field(description="the provider's id of our outbound message")
    status: DeliveryStatus
    error: str | None = Field(default=None, description="the provider's reason, on failure")
    occurred_at: datetime | None = None


class SentSms(Model):
    """What the sandbox SMS sender 'sent': kept so a person or a test can see it."""

    provider_message_id: str
    message_id: str
    to: str
    from_: str = Field(alias="from")
    text: str
    sent_at: datetime

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Template(Model):
    """A message with {placeholders}, filled from the customer's fields and given values."""

    id: str
    name: str
    body: str = Field(min_length=1, max_length=1600)


class RecipientState(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    SKIPPED_OPTED_OUT = "skipped_opted_out"
    SKIPPED_NO_PHONE = "skipped_no_phone"
    FAILED = "failed"


class Recipient(Model):
    customer_id: str
    state: RecipientState = RecipientState.PENDING
    message_id: str | None = None
    detail: str | None = None


class OutboundJob(Model):
    """A template sent to a list of customers through one SMS channel."""

    id: str
    template_id: str
    channel_id: str
    values: dict[str, str] = Field(default_factory=dict)
    recipients: tuple[Recipient, ...]
    created_at: datetime
