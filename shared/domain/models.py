"""The records the system keeps and passes around. Pure data: no I/O here."""

from __future__ import annotations

import base64
import binascii
import re
import string
from collections.abc import Mapping
from datetime import date, datetime, time
from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.domain.sentiment import ConversationSentiment, Sentiment


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
    OFFERED = "offered"
    """Pushed to one agent, who may accept or decline until the offer expires."""
    ACTIVE = "active"
    WRAP_UP = "wrap_up"
    CLOSED = "closed"
    BOT = "bot"
    """A bot answers the customer first (issue 5): no agent, no capacity held; escalation
    makes it wait in its queue for a human."""


# Items in these states hold their agent's capacity: an offer holds it until answered.
CAPACITY_HOLDING = (WorkItemStatus.OFFERED, WorkItemStatus.ACTIVE, WorkItemStatus.WRAP_UP)
# Items in these states are the agent's to work on (read and write the conversation).
AGENT_WORKING = (WorkItemStatus.ACTIVE, WorkItemStatus.WRAP_UP)


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class SenderKind(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"
    BOT = "bot"
    """The workstream's bot (issue 5): `bot_id` names it."""


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


# --- chat widget (issue 7) ---------------------------------------------------------------------

IdentifyingField = Literal["mobile_phone", "account_phone", "email", "display_name"]


class PreChatQuestion(Model):
    """One question of a chat widget's pre-chat form; an answer may identify the customer."""

    key: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    label: str = Field(min_length=1, max_length=200)
    required: bool = False
    identifies: IdentifyingField | None = Field(
        default=None, description="the customer field this answer must equal exactly"
    )


class ChatWidget(Model):
    """What a chat channel's widget asks and says."""

    pre_chat: tuple[PreChatQuestion, ...] = ()
    greeting: str | None = Field(
        default=None, max_length=1000, description="sent when a conversation starts"
    )


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


class WorkDistribution(StrEnum):
    PUSH = "push"
    """The system hands work to the best eligible agent."""
    PICK = "pick"
    """Agents list their queues' waiting work and pick an item themselves."""


# --- bots (issue 5) ---------------------------------------------------------------------------


class BotConfig(Model):
    """A workstream's bot: the organization's HTTP endpoint that answers customers first and
    hands them to a human when it cannot help (wire contract: docs/bots.md)."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="marks the bot's messages")
    name: str = Field(default="Virtual assistant", min_length=1, max_length=100)
    endpoint: str = Field(pattern=r"^https?://", description="receives each customer message")
    secret: str | None = Field(
        default=None,
        min_length=16,
        repr=False,
        description="secret: write-only; HMAC-SHA256 key signing each request body",
    )
    timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    max_attempts: int = Field(
        default=3, ge=1, le=10, description="calls per message before the bot counts as failed"
    )
    queue_ids: tuple[str, ...] = Field(
        default=(), description="the queues it answers for; none: every queue of the workstream"
    )

    def fronts(self, queue_id: str) -> bool:
        return not self.queue_ids or queue_id in self.queue_ids


# --- automated messages (issue 7) --------------------------------------------------------------


class AutomatedEvent(StrEnum):
    RECEIVED = "received"
    """The conversation waits in a queue: {position} is its place in the queue."""
    AGENT_ASSIGNED = "agent_assigned"
    """An agent took it: {agent_name} is the agent's display name."""
    ENDED = "ended"
    """The agent ended the conversation (or closed it without ending it first)."""


_PLACEHOLDERS: dict[AutomatedEvent, frozenset[str]] = {
    AutomatedEvent.RECEIVED: frozenset({"position"}),
    AutomatedEvent.AGENT_ASSIGNED: frozenset({"agent_name"}),
    AutomatedEvent.ENDED: frozenset(),
}


class AutomatedMessages(Model):
    """What the system tells the customer on a workstream's events, on chat and SMS alike,
    once per event. Only the placeholders named per event exist, so a text can never carry
    anything internal. (Out of operating hours: a queue's `out_of_hours` redirect message.)"""

    received: str | None = Field(
        default=None,
        min_length=1,
        max_length=1600,
        description='e.g. "Thanks! You are number {position} in the queue."',
    )
    agent_assigned: str | None = Field(
        default=None,
        min_length=1,
        max_length=1600,
        description='e.g. "You\'re now chatting with {agent_name}"',
    )
    ended: str | None = Field(
        default=None,
        min_length=1,
        max_length=1600,
        description='e.g. "The agent ended the conversation. Thank you!"',
    )

    @model_validator(mode="after")
    def _known_placeholders(self) -> AutomatedMessages:
        for event, allowed in _PLACEHOLDERS.items():
            text = getattr(self, event.value)
            if text is None:
                continue
            try:
                named = {name for _, name, _, _ in string.Formatter().parse(text) if name}
            except ValueError as exc:
                raise ValueError(f"{event}: {exc}") from exc
            unknown = named - allowed
            if unknown:
                known = ", ".join(sorted(allowed)) or "none"
                raise ValueError(f"{event}: unknown placeholders {sorted(unknown)}; known: {known}")
        return self

    def render(self, event: AutomatedEvent, **values: str | int) -> str | None:
        """The event's text with its placeholders filled; None if the admin set none."""
        text: str | None = getattr(self, event.value)
        if text is None:
            return None
        return text.format(**{k: v for k, v in values.items() if k in _PLACEHOLDERS[event]})


Locale = Annotated[
    str,
    Field(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", description="BCP 47, e.g. fr or fr-CA"),
]


def for_locale(
    default: AutomatedMessages, by_locale: Mapping[str, AutomatedMessages], locale: str | None
) -> AutomatedMessages:
    """The texts for a customer's locale: the exact tag (fr-CA), else its language (fr),
    else the workstream's default texts. Tags compare without regard to case."""
    if locale:
        tags = {tag.casefold(): texts for tag, texts in by_locale.items()}
        wanted = locale.casefold()
        for tag in (wanted, wanted.split("-", 1)[0]):
            if tag in tags:
                return tags[tag]
    return default


class TypingParty(StrEnum):
    """Who is typing in a conversation (issue 7): shown to the other side, for seconds."""

    CUSTOMER = "customer"
    AGENT = "agent"


class Workstream(Model):
    id: str
    name: str
    channel: ChannelKind
    capacity_units: int = Field(default=1, ge=1)
    allowed_presences: tuple[Presence, ...] = (Presence.AVAILABLE, Presence.BUSY)
    fallback_queue_id: str
    distribution: WorkDistribution = WorkDistribution.PUSH
    offer_timeout_seconds: int | None = Field(
        default=None,
        ge=5,
        le=3600,
        description="push mode: how long an agent has to accept an offer; none assigns at once",
    )
    auto_close_after_seconds: int | None = Field(
        default=None, ge=60, description="close work whose customer has been silent this long"
    )
    # --- bots and auto-close (issue 5) ---
    auto_close_message: str | None = Field(
        default=None,
        min_length=1,
        max_length=1600,
        description="told the customer when their silence closes the work",
    )
    bot: BotConfig | None = Field(default=None, description="a first responder before humans")
    # --- automated messages (issue 7) ---
    automated_messages: AutomatedMessages = Field(
        default_factory=AutomatedMessages, description="told the customer on events"
    )
    automated_messages_by_locale: dict[Locale, AutomatedMessages] = Field(
        default_factory=dict,
        description="the same in other languages, chosen by the conversation's locale",
    )

    def automated_messages_for(self, locale: str | None) -> AutomatedMessages:
        return for_locale(self.automated_messages, self.automated_messages_by_locale, locale)


class AssignmentMethod(StrEnum):
    HIGHEST_CAPACITY = "highest_capacity"
    ROUND_ROBIN = "round_robin"
    """In the queue's member order, starting after whoever was assigned last."""
    LEAST_ACTIVE = "least_active"
    """Longest since the agent's last assignment."""
    MOST_IDLE = "most_idle"
    """Longest without any work, among the best skill matches."""


class SkillMatching(StrEnum):
    EXACT = "exact"
    """Only agents with every required skill at the required proficiency or better."""
    CLOSEST = "closest"
    """Agents ranked by how close their skills come; the best available match wins."""


class Skill(Model):
    name: str = Field(min_length=1)
    proficiency: int = Field(default=1, ge=1, le=10)


class OperatingWindow(Model):
    """Open on these weekdays (0 = Monday) from start to end, in the queue's time zone; an end
    at or before the start runs past midnight."""

    days: tuple[int, ...] = Field(min_length=1)
    start: time
    end: time

    @field_validator("days")
    @classmethod
    def _weekdays(cls, days: tuple[int, ...]) -> tuple[int, ...]:
        if any(not 0 <= day <= 6 for day in days):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
        return days


class OperatingHours(Model):
    time_zone: str = Field(description="IANA name, e.g. Europe/Paris")
    windows: tuple[OperatingWindow, ...] = Field(min_length=1)
    closed_dates: tuple[date, ...] = Field(default=(), description="holidays, local dates")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {name!r}") from exc
        return name


class Redirect(Model):
    """Where work goes when a queue can't take it: another queue, an automated message to the
    customer, or both."""

    queue_id: str | None = None
    message: str | None = None

    @field_validator("message")
    @classmethod
    def _not_blank(cls, message: str | None) -> str | None:
        if message is not None and not message.strip():
            raise ValueError("an automated message needs text")
        return message


class OverflowRule(Model):
    """When the backlog passes either threshold, new and waiting work is redirected."""

    max_waiting: int | None = Field(default=None, ge=0)
    max_wait_seconds: int | None = Field(default=None, ge=0)
    then: Redirect


class Queue(Model):
    id: str
    name: str
    priority: int = 0
    assignment_method: AssignmentMethod = AssignmentMethod.HIGHEST_CAPACITY
    skill_matching: SkillMatching = SkillMatching.EXACT
    member_order: tuple[str, ...] = Field(
        default=(), description="agent ids in round-robin order; unlisted members follow by id"
    )
    operating_hours: OperatingHours | None = None
    out_of_hours: Redirect | None = None
    overflow: OverflowRule | None = None


class ConditionField(StrEnum):
    CHANNEL = "channel"
    BUSINESS_ADDRESS = "business_address"
    TEXT = "text"
    CUSTOMER_IDENTIFIED = "customer_identified"
    CONTEXT = "context"
    """A context variable the widget or the channel set; `key` names it."""
    PRE_CHAT = "pre_chat"
    """A pre-chat answer; `key` names the question."""
    CONTACT = "contact"
    """An attribute of the identified contact; `key` names it."""
    ACCOUNT = "account"
    """An attribute of the contact's account; `key` names it."""


KEYED_FIELDS = frozenset(
    {
        ConditionField.CONTEXT,
        ConditionField.PRE_CHAT,
        ConditionField.CONTACT,
        ConditionField.ACCOUNT,
    }
)


class Operator(StrEnum):
    EQUALS = "equals"
    NOT_EQUALS = "not_equals"
    CONTAINS = "contains"
    NOT_CONTAINS = "not_contains"
    REGEX = "regex"
    IN = "in"
    """One of the comma-separated values."""
    EXISTS = "exists"
    GREATER_THAN = "greater_than"
    LESS_THAN = "less_than"


class Condition(Model):
    field: ConditionField
    key: str | None = None
    operator: Operator
    value: str = ""

    @model_validator(mode="after")
    def _well_formed(self) -> Condition:
        if (self.field in KEYED_FIELDS) != (self.key is not None):
            raise ValueError(
                f"field {self.field} {'needs' if self.key is None else 'takes no'} key"
            )
        if self.operator is Operator.REGEX:
            try:
                re.compile(self.value)
            except re.error as exc:
                raise ValueError(f"invalid regex: {exc}") from exc
        if self.operator in (Operator.GREATER_THAN, Operator.LESS_THAN):
            try:
                float(self.value)
            except ValueError as exc:
                raise ValueError(f"{self.operator} compares with a number") from exc
        return self


class ConditionGroup(Model):
    """Conditions combined: all must hold, or any one."""

    match: Literal["all", "any"] = "all"
    conditions: tuple[Condition | ConditionGroup, ...] = Field(min_length=1)


class RoutingRule(Model):
    """One route-to-queue rule of a workstream; rules run in `order`, the first match wins."""

    id: str
    workstream_id: str
    order: int
    name: str
    match: Literal["all", "any"] = "all"
    conditions: tuple[Condition | ConditionGroup, ...] = ()
    queue_id: str
    priority: int = 0
    required_skills: tuple[Skill, ...] = Field(
        default=(), description="each skill with the minimum proficiency the work needs"
    )


class Agent(Model):
    id: str
    display_name: str
    queue_ids: tuple[str, ...] = ()
    skills: tuple[Skill, ...] = ()
    max_capacity: int = Field(default=3, ge=0)
    default_presence: Presence = Presence.OFFLINE


class AgentState(Model):
    """An agent with its live state, as routing sees it."""

    agent: Agent
    presence: Presence
    used_capacity: int
    last_assigned_at: datetime | None = None
    idle_since: datetime | None = Field(
        default=None, description="when the agent last had no work at all; None if busy"
    )
    presence_since: datetime | None = Field(
        default=None, description="when its presence began; None if it never signed in"
    )

    @property
    def remaining_capacity(self) -> int:
        return self.agent.max_capacity - self.used_capacity


class Customer(Model):
    id: str
    display_name: str
    mobile_phone: str | None = None
    account_phone: str | None = None
    email: str | None = Field(
        default=None,
        max_length=254,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="identifies a chat visitor (issue 7); compared case-insensitively",
    )


# --- conversations ---------------------------------------------------------------------------


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
    pre_chat: dict[str, str] = Field(default_factory=dict, description="chat: pre-chat answers")
    locale: Locale | None = Field(
        default=None, description="the customer's language, for automated messages"
    )
    context: dict[str, bool | float | str] = Field(
        default_factory=dict, description="chat: context variables the widget set"
    )
    opened_at: datetime
    closed_at: datetime | None = None
    # --- sentiment (issue 8) ---
    sentiment: ConversationSentiment | None = Field(
        default=None, description="rolling, over the customer's messages; supervisors only"
    )


class Message(Model):
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
    created_at: datetime
    # --- sentiment (issue 8) ---
    sentiment: Sentiment | None = Field(
        default=None, description="a customer message's, when scored; never shown to customers"
    )


class Offer(Model):
    """Routing gave the item to an agent: an offer to accept, or a direct assignment."""

    at: datetime
    queue_id: str
    agent_id: str


class Transfer(Model):
    """The primary agent handed the item on: to a queue (it waits again) or to an agent."""

    at: datetime
    from_queue_id: str
    from_agent_id: str
    to_queue_id: str | None = None
    to_agent_id: str | None = None


class WorkItem(Model):
    """A conversation's claim on an agent: waiting in a queue, then held by one primary agent."""

    id: str
    conversation_id: str
    workstream_id: str
    queue_id: str
    priority: int = 0
    capacity_units: int = 1
    required_skills: tuple[Skill, ...] = ()
    status: WorkItemStatus = WorkItemStatus.WAITING
    agent_id: str | None = None
    enqueued_at: datetime
    assigned_at: datetime | None = None
    offer_expires_at: datetime | None = Field(
        default=None, description="while offered: when the offer lapses"
    )
    skipped_agents: dict[str, datetime] = Field(
        default_factory=dict,
        description="agents who declined or let an offer lapse, skipped for it until then",
    )
    # --- the agent's work (issue 6) ---
    wrap_up_at: datetime | None = Field(default=None, description="when wrap-up began")
    consultants: tuple[str, ...] = Field(
        default=(), description="agents consulted on it: they read it and write notes only"
    )
    # --- figures (issue 8) ---
    closed_at: datetime | None = Field(
        default=None, description="when it closed: ends handle time, or marks it abandoned"
    )
    offers: tuple[Offer, ...] = Field(
        default=(), description="every time routing gave it to an agent, in order"
    )
    transfers: tuple[Transfer, ...] = Field(default=(), description="its transfers, in order")

    # The changes below are the stores' to make atomically; each is written here once so
    # every store makes the same one.

    def given_to(self, agent_id: str, now: datetime, offer_until: datetime | None) -> WorkItem:
        """Routing's choice: offered until `offer_until`, or (None) assigned outright."""
        return self.model_copy(
            update={
                "status": WorkItemStatus.ACTIVE if offer_until is None else WorkItemStatus.OFFERED,
                "agent_id": agent_id,
                "assigned_at": now,
                "offer_expires_at": offer_until,
                "offers": (*self.offers, Offer(at=now, queue_id=self.queue_id, agent_id=agent_id)),
            }
        )

    def transferred_to_queue(self, queue_id: str, now: datetime) -> WorkItem:
        """It waits again in `queue_id`, its agent and consultants gone."""
        return self.model_copy(
            update={
                "status": WorkItemStatus.WAITING,
                "queue_id": queue_id,
                "agent_id": None,
                "assigned_at": None,
                "offer_expires_at": None,
                "consultants": (),
                "transfers": (*self.transfers, self._transfer(now, to_queue_id=queue_id)),
            }
        )

    def transferred_to_agent(self, agent_id: str, now: datetime) -> WorkItem:
        """`agent_id` holds it from now, its consultants gone."""
        return self.model_copy(
            update={
                "agent_id": agent_id,
                "assigned_at": now,
                "consultants": (),
                "transfers": (*self.transfers, self._transfer(now, to_agent_id=agent_id)),
            }
        )

    def _transfer(
        self, now: datetime, *, to_queue_id: str | None = None, to_agent_id: str | None = None
    ) -> Transfer:
        assert self.agent_id is not None, "only held work is transferred"
        return Transfer(
            at=now,
            from_queue_id=self.queue_id,
            from_agent_id=self.agent_id,
            to_queue_id=to_queue_id,
            to_agent_id=to_agent_id,
        )


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


# --- routing diagnostics (issue 5) -----------------------------------------------------------


class CandidateVerdict(Model):
    """One agent a routing decision looked at, and why it was passed over (None: chosen)."""

    agent_id: str
    skipped: str | None = None


class RoutingDecision(Model):
    """Why an item went to whom, or to no one: what `GET .../routing` shows a supervisor."""

    id: str
    item_id: str
    conversation_id: str
    queue_id: str
    decided_at: datetime
    method: AssignmentMethod | None = Field(
        default=None, description="none when no agent was ranked (a redirect, an offer returned)"
    )
    mode: WorkDistribution
    candidates: tuple[CandidateVerdict, ...] = ()
    chosen_agent_id: str | None = None
    reason: str
