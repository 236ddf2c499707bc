"""Work items and agents at work: an item's life through queues, offers, transfers and wrap-up, an
agent's live state, and the record of each routing decision. Pure data."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from shared.domain.base import Model
from shared.domain.presence import Presence
from shared.domain.routing_config import Agent, AssignmentMethod, Skill, WorkDistribution


class WorkItemStatus(StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    """Pushed to one agent, who may accept or decline until the offer expires."""
    ACTIVE = "active"
    WRAP_UP = "wrap_up"
    CLOSED = "closed"
    BOT = "bot"
    """A bot answers the customer first: no agent, no capacity held; escalation
    makes it wait in its queue for a human."""


# Items in these states hold their agent's capacity: an offer holds it until answered.
CAPACITY_HOLDING = (WorkItemStatus.OFFERED, WorkItemStatus.ACTIVE, WorkItemStatus.WRAP_UP)

# Items in these states are the agent's to work on (read and write the conversation).
AGENT_WORKING = (WorkItemStatus.ACTIVE, WorkItemStatus.WRAP_UP)


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
    # --- the agent's work ---
    wrap_up_at: datetime | None = Field(default=None, description="when wrap-up began")
    consultants: tuple[str, ...] = Field(
        default=(), description="agents consulted on it: they read it and write notes only"
    )
    # --- figures ---
    closed_at: datetime | None = Field(
        default=None, description="when it closed: ends handle time, or marks it abandoned"
    )
    offers: tuple[Offer, ...] = Field(
        default=(), description="every time routing gave it to an agent, in order"
    )
    transfers: tuple[Transfer, ...] = Field(default=(), description="its transfers, in order")
    # --- tracing ---
    trace_context: str | None = Field(
        default=None,
        description="the W3C traceparent of the customer message that made this work: its "
        "routing, the agent's answer and its delivery continue that trace",
    )

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


class PlannedAssignment(Model):
    """One assignment a routing cycle decided: the item to the agent (offered until
    `offer_until`, or outright), and the decision to record if, and only if, the store makes
    it. A cycle hands the store many at once (WorkItemStore.assign_batch)."""

    item_id: str
    agent_id: str
    offer_until: datetime | None = None
    decision: RoutingDecision
