"""What supervisors see: ongoing conversations and agents as monitored, and the day's figures
per queue and per agent. Pure data and pure rules: no I/O here.

Figures are folded from work items alone, each measure counted on the day (in the
organization's time zone) its own event happened: arrival on the enqueue day, assignment on
the assignment day, handling and abandonment on the close day. A day's figures are therefore
final once the day is over, and folding the same items again gives the same figures."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import Field

from shared.domain.models import (
    AgentState,
    ChannelKind,
    Conversation,
    Model,
    Presence,
    WorkItem,
    WorkItemStatus,
)
from shared.domain.sentiment import SentimentLabel

# --- monitoring ---------------------------------------------------------------------------------


class ConversationState(Model):
    """An ongoing conversation and its unclosed work item (None: no work open on it)."""

    conversation: Conversation
    item: WorkItem | None = None


class ConversationFilter(Model):
    status: WorkItemStatus | None = Field(default=None, description="of its work item")
    queue_id: str | None = None
    agent_id: str | None = None
    channel: ChannelKind | None = None
    sentiment: SentimentLabel | None = Field(
        default=None, description="of its rolling score; a conversation not scored is neutral"
    )

    def admits(self, state: ConversationState) -> bool:
        item = state.item
        if self.channel is not None and state.conversation.channel != self.channel:
            return False
        if self.sentiment is not None:
            rolled = state.conversation.sentiment
            if (SentimentLabel.NEUTRAL if rolled is None else rolled.label) != self.sentiment:
                return False
        wanted = (
            (self.status, None if item is None else item.status),
            (self.queue_id, None if item is None else item.queue_id),
            (self.agent_id, None if item is None else item.agent_id),
        )
        return all(want is None or want == have for want, have in wanted)


class AgentFilter(Model):
    presence: Presence | None = None
    queue_id: str | None = None

    def admits(self, state: AgentState) -> bool:
        return (self.presence is None or state.presence == self.presence) and (
            self.queue_id is None or self.queue_id in state.agent.queue_ids
        )


class AgentMonitor(Model):
    """An agent as a supervisor monitors it: presence, capacity, the work it holds now."""

    agent_id: str
    display_name: str
    presence: Presence
    queue_ids: tuple[str, ...]
    max_capacity: int
    used_capacity: int
    free_capacity: int
    items: tuple[WorkItem, ...]
    presence_since: datetime | None = Field(
        default=None, description="when its presence began; None if it never signed in"
    )
    seconds_in_presence: int | None = Field(default=None, description="time in presence")

    @classmethod
    def of(
        cls,
        state: AgentState,
        items: Iterable[WorkItem],
        *,
        presence_since: datetime | None = None,
        now: datetime | None = None,
    ) -> AgentMonitor:
        in_presence = (
            None
            if presence_since is None or now is None
            else max(0, int((now - presence_since).total_seconds()))
        )
        return cls(
            presence_since=presence_since,
            seconds_in_presence=in_presence,
            agent_id=state.agent.id,
            display_name=state.agent.display_name,
            presence=state.presence,
            queue_ids=state.agent.queue_ids,
            max_capacity=state.agent.max_capacity,
            used_capacity=state.used_capacity,
            free_capacity=max(state.remaining_capacity, 0),
            items=tuple(items),
        )


# --- figures --------------------------------------------------------------------------------------


class FigureScope(StrEnum):
    QUEUE = "queue"
    AGENT = "agent"


class DayFigures(Model):
    """One day's counts and sums for one queue or one agent, as stored (averages derive)."""

    day: date
    scope: FigureScope
    key: str = Field(description="the queue id or the agent id")
    incoming: int = Field(default=0, description="work that arrived in the queue")
    assigned: int = Field(default=0, description="work given to an agent")
    answered_within_threshold: int = Field(
        default=0, description="assigned within the service-level threshold of its arrival"
    )
    wait_seconds: float = Field(default=0.0, description="sum of waits until assignment")
    longest_wait_seconds: float = 0.0
    handled: int = Field(default=0, description="work closed after an agent had it")
    handle_seconds: float = Field(default=0.0, description="sum of assignment-to-close times")
    abandoned: int = Field(default=0, description="work closed before any agent had it")

    @property
    def average_wait_seconds(self) -> float | None:
        return self.wait_seconds / self.assigned if self.assigned else None

    @property
    def average_handle_seconds(self) -> float | None:
        return self.handle_seconds / self.handled if self.handled else None

    @property
    def service_level(self) -> float | None:
        return self.answered_within_threshold / self.assigned if self.assigned else None


def day_window(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants a local day spans (23 or 25 hours on daylight-saving changes)."""
    start = datetime.combine(day, time(), tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def fold_day(
    day: date,
    items: Iterable[WorkItem],
    *,
    zone: ZoneInfo,
    service_level_seconds: float,
) -> list[DayFigures]:
    """The day's figures per queue and per agent, from the items alive that day (others are
    ignored). Queues are keyed by the item's queue, agents by the item's (last) agent."""
    tallies: dict[tuple[FigureScope, str], dict[str, float]] = {}

    def tally(scope: FigureScope, key: str) -> dict[str, float]:
        return tallies.setdefault((scope, key), {})

    def add(counts: dict[str, float], field: str, value: float = 1) -> None:
        counts[field] = counts.get(field, 0) + value

    for item in {i.id: i for i in items}.values():  # an item counts once
        queue = tally(FigureScope.QUEUE, item.queue_id)
        agent = None if item.agent_id is None else tally(FigureScope.AGENT, item.agent_id)
        if local_day(item.enqueued_at, zone) == day:
            add(queue, "incoming")
        if item.assigned_at is not None and local_day(item.assigned_at, zone) == day:
            wait = max((item.assigned_at - item.enqueued_at).total_seconds(), 0.0)
            for counts in (queue, agent):
                if counts is None:
                    continue
                add(counts, "assigned")
                add(counts, "wait_seconds", wait)
                add(counts, "answered_within_threshold", int(wait <= service_level_seconds))
                counts["longest_wait_seconds"] = max(counts.get("longest_wait_seconds", 0), wait)
        if item.closed_at is not None and local_day(item.closed_at, zone) == day:
            if item.assigned_at is None:
                add(queue, "abandoned")
            else:
                handle = max((item.closed_at - item.assigned_at).total_seconds(), 0.0)
                for counts in (queue, agent):
                    if counts is not None:
                        add(counts, "handled")
                        add(counts, "handle_seconds", handle)
    return [
        DayFigures.model_validate({"day": day, "scope": scope, "key": key, **counts})
        for (scope, key), counts in sorted(tallies.items())
        if counts
    ]
