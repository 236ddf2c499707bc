"""The message bus's queues and the bodies sent on them: the one place their names are
spelled, and the one place their shape is declared (sessions, delivery count, lock and
duplicate window) for the triggers, the publishers and the infrastructure that creates them
(docs/servicebus.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import Field, model_validator

from shared.domain.base import Model
from shared.domain.conversations import DeliveryReport, InboundMessage, Message

INBOUND = "inbound"
ROUTE = "route"
OUTBOUND = "outbound"
DELIVERY = "delivery"
BULK = "bulk"
BOT = "bot"
INACTIVITY = "inactivity"


class RouteRequest(Model):
    """Route the waiting backlog of one queue (session: the queue id, one router at a time)."""

    queue_id: str
    item_id: str | None = None
    """The item whose arrival (or return) asked for this pass: if it still waits afterwards,
    the pass records why (other waiting items are not re-explained on every pass)."""
    lapsing_item_id: str | None = None
    """An item offered in this queue whose offer lapses at this message's scheduled instant:
    if it is still on offer then, it goes back to the head of the queue before the pass."""
    overflow_due: bool = False
    """Scheduled for when the queue's oldest waiting item passes its overflow wait: the backlog
    is redirected (if the rule still says so) before the pass."""


class OutboundRequest(Model):
    """Send one customer-visible message (session: its conversation, kept in order)."""

    message_id: str
    failed_attempts: int = Field(default=0, ge=0)
    """Transient provider failures so far: a retry is scheduled with a longer backoff each time."""
    message: Message | None = None
    """The message itself, when it is sent here before it is stored (an agent's reply): should
    its sender die in between, the outbound trigger stores it, so a reply is never stored
    without being sent nor acknowledged without being stored."""

    @model_validator(mode="after")
    def _carries_the_named_customer_visible_message(self) -> OutboundRequest:
        carried = self.message
        if carried is not None and (carried.id != self.message_id or carried.internal):
            raise ValueError("the message carried must be the customer-visible one named")
        return self


class BulkRequest(Model):
    """Work through one outbound job's pending recipients (session: the job id)."""

    job_id: str


# --- bots and auto-close ---


class BotTurn(Model):
    """Have the workstream's bot answer one customer message (session: the conversation, so
    the bot hears its messages in order)."""

    conversation_id: str
    message_id: str
    failed_attempts: int = Field(default=0, ge=0)
    """Transient bot failures so far: a retry is scheduled with a longer backoff each time."""


class InactivityCheck(Model):
    """Close the conversation's work if its customer has written nothing after this message
    (session: the conversation). Scheduled for when the silence would be long enough."""

    conversation_id: str
    after_sequence: int = Field(ge=0)
    """The customer message that scheduled the check (0: the conversation's start)."""
    silent_since: datetime
    """When that message was sent (or the conversation opened)."""


MAX_DELIVERY_COUNT = 5
"""Deliveries of one message before it is dead-lettered (QUEUE_MAX_DELIVERY_COUNT locally)."""
LOCK_DURATION = timedelta(minutes=1)
"""A delivery's lock; the Functions host renews it while the handler runs (host.json)."""
DUPLICATE_DETECTION_WINDOW = timedelta(days=1)
"""How long a message id is remembered: Event Grid retries a webhook for up to 24 hours."""


@dataclass(frozen=True)
class BusQueueSpec:
    name: str
    body: type[Model]
    sessions: bool
    """Messages sharing a session id are handled one at a time, in the order they were sent."""


BUS_QUEUES: dict[str, BusQueueSpec] = {
    spec.name: spec
    for spec in (
        BusQueueSpec(INBOUND, InboundMessage, sessions=True),
        BusQueueSpec(ROUTE, RouteRequest, sessions=True),
        BusQueueSpec(OUTBOUND, OutboundRequest, sessions=True),
        BusQueueSpec(DELIVERY, DeliveryReport, sessions=True),
        BusQueueSpec(BULK, BulkRequest, sessions=True),
        BusQueueSpec(BOT, BotTurn, sessions=True),
        BusQueueSpec(INACTIVITY, InactivityCheck, sessions=True),
    )
}
