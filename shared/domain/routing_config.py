"""Routing configuration an admin manages: workstreams (with their automated messages and bot),
queues (operating hours, overflow), route-to-queue rules and agents. Pure data."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, time
from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from shared.domain.base import SAFE_INT, Model
from shared.domain.channels import ChannelKind
from shared.domain.outcomes import CsatSettings, DispositionCode, unique_codes
from shared.domain.placeholders import fill, placeholders, require_known
from shared.domain.presence import Presence


class WorkDistribution(StrEnum):
    PUSH = "push"
    """The system hands work to the best eligible agent."""
    PICK = "pick"
    """Agents list their queues' waiting work and pick an item themselves."""


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


class AutomatedEvent(StrEnum):
    RECEIVED = "received"
    """The conversation waits in a queue: {position} is its place in the queue, and
    {wait_minutes} the wait estimated from the queue's figures today (see wait_estimate)."""
    AGENT_ASSIGNED = "agent_assigned"
    """An agent took it: {agent_name} is the agent's display name."""
    ENDED = "ended"
    """The agent ended the conversation (or closed it without ending it first)."""


_PLACEHOLDERS: dict[AutomatedEvent, frozenset[str]] = {
    AutomatedEvent.RECEIVED: frozenset({"position", "wait_minutes"}),
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
        description='e.g. "Thanks! You are number {position} in the queue; the wait is about '
        '{wait_minutes} minutes."',
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
                require_known(text, allowed)
            except ValueError as exc:
                raise ValueError(f"{event}: {exc}") from exc
        return self

    def uses(self, event: AutomatedEvent, placeholder: str) -> bool:
        text: str | None = getattr(self, event.value)
        return text is not None and placeholder in placeholders(text)

    def render(self, event: AutomatedEvent, **values: str | int) -> str | None:
        """The event's text with its placeholders filled; None if the admin set none."""
        text: str | None = getattr(self, event.value)
        if text is None:
            return None
        return fill(text, {k: v for k, v in values.items() if k in _PLACEHOLDERS[event]})


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


class SignOutPolicy(StrEnum):
    """What happens to an agent's active conversations when it signs out."""

    KEEP_WITH_AGENT = "keep_with_agent"
    """They stay the agent's (as Dynamics does), flagged for supervisors."""
    RETURN_TO_QUEUE = "return_to_queue"
    """They wait again in their queue, keeping their place, for another agent."""


class Workstream(Model):
    id: str
    name: str
    channel: ChannelKind
    capacity_units: int = Field(default=1, ge=1, le=SAFE_INT)
    allowed_presences: tuple[Presence, ...] = (Presence.AVAILABLE, Presence.BUSY)
    fallback_queue_id: str
    distribution: WorkDistribution = WorkDistribution.PUSH
    offer_timeout_seconds: int | None = Field(
        default=None,
        ge=1,
        le=3600,
        description="push mode: how long an agent has to accept an offer; none assigns at once",
    )
    auto_close_after_seconds: int | None = Field(
        default=None,
        ge=60,
        le=SAFE_INT,
        description="close work whose customer has been silent this long",
    )
    # --- bots and auto-close ---
    auto_close_message: str | None = Field(
        default=None,
        min_length=1,
        max_length=1600,
        description="told the customer when their silence closes the work",
    )
    bot: BotConfig | None = Field(default=None, description="a first responder before humans")
    sign_out_policy: SignOutPolicy = Field(
        default=SignOutPolicy.KEEP_WITH_AGENT,
        description="an agent's active conversations when it signs out: kept, or returned",
    )
    reopen_window_seconds: int = Field(
        default=300,
        ge=0,
        le=86400,
        description="a customer message this soon after a close reopens the same conversation "
        "(to its last agent when it can take it); later, or 0, opens a new one",
    )
    # --- automated messages ---
    automated_messages: AutomatedMessages = Field(
        default_factory=AutomatedMessages, description="told the customer on events"
    )
    automated_messages_by_locale: dict[Locale, AutomatedMessages] = Field(
        default_factory=dict,
        description="the same in other languages, chosen by the conversation's locale",
    )

    # --- after the conversation ---
    csat: CsatSettings = Field(
        default_factory=CsatSettings, description="the satisfaction survey, off unless enabled"
    )
    disposition_codes: tuple[DispositionCode, ...] = Field(
        default=(),
        description="what an agent picks from at wrap-up; none: wrap-up takes a summary only",
    )

    @field_validator("disposition_codes")
    @classmethod
    def _codes_unique(cls, codes: tuple[DispositionCode, ...]) -> tuple[DispositionCode, ...]:
        return unique_codes(codes)

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

    max_waiting: int | None = Field(default=None, ge=0, le=SAFE_INT)
    max_wait_seconds: int | None = Field(default=None, ge=0, le=SAFE_INT)
    then: Redirect


class Queue(Model):
    id: str
    name: str
    priority: int = Field(default=0, ge=-SAFE_INT, le=SAFE_INT)
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
    order: int = Field(ge=-SAFE_INT, le=SAFE_INT)
    name: str
    match: Literal["all", "any"] = "all"
    conditions: tuple[Condition | ConditionGroup, ...] = ()
    queue_id: str
    priority: int = Field(default=0, ge=-SAFE_INT, le=SAFE_INT)
    required_skills: tuple[Skill, ...] = Field(
        default=(), description="each skill with the minimum proficiency the work needs"
    )


class Agent(Model):
    id: str
    display_name: str
    queue_ids: tuple[str, ...] = ()
    skills: tuple[Skill, ...] = ()
    max_capacity: int = Field(default=3, ge=0, le=SAFE_INT)
    default_presence: Presence = Presence.OFFLINE
