"""What supervisors see: ongoing conversations and agents as monitored, and the day's figures
per queue and per agent. Pure data and pure rules: no I/O here.

Figures are folded from work items and agents' presence spans, each measure counted on the
day (in the organization's time zone) its own event happened: arrival on the enqueue day,
offers, assignment and transfers on theirs, handling and abandonment on the close day, time
in a presence on the day it was spent. A day's figures are therefore final once the day is
over, and folding the same records again gives the same figures."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import Field

from shared.domain.base import Model
from shared.domain.channels import ChannelKind
from shared.domain.conversations import Conversation
from shared.domain.outcomes import CsatFact
from shared.domain.presence import Presence, PresenceSpan
from shared.domain.sentiment import SentimentLabel
from shared.domain.work import AgentState, WorkItem, WorkItemStatus

# --- monitoring ---------------------------------------------------------------------------------


class ConversationState(Model):
    """An ongoing conversation and its unclosed work item (None: no work open on it)."""

    conversation: Conversation
    item: WorkItem | None = None
    attention: str | None = Field(
        default=None,
        description="why a supervisor should look: its work is held by an offline agent "
        "(signed out or disconnected), or went back to its queue when its agent signed out",
    )


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
    def of(cls, state: AgentState, items: Iterable[WorkItem], *, now: datetime) -> AgentMonitor:
        since = state.presence_since
        return cls(
            presence_since=since,
            seconds_in_presence=None
            if since is None
            else max(0, int((now - since).total_seconds())),
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
    offered: int = Field(
        default=0, description="times routing gave work to an agent (offers and assignments)"
    )
    assigned: int = Field(default=0, description="work given to an agent")
    answered_within_threshold: int = Field(
        default=0, description="assigned within the service-level threshold of its arrival"
    )
    wait_seconds: float = Field(default=0.0, description="sum of waits until assignment")
    longest_wait_seconds: float = 0.0
    handled: int = Field(default=0, description="work closed after an agent had it")
    handle_seconds: float = Field(default=0.0, description="sum of assignment-to-close times")
    abandoned: int = Field(default=0, description="work closed before any agent had it")
    transfers: int = Field(default=0, description="work transferred out (by the agent)")
    csat_answers: int = Field(default=0, description="satisfaction answers given that day")
    csat_score_total: int = Field(default=0, description="sum of their scores (1..5 each)")
    # Agents only: the time spent in each base presence (custom presences count as their base).
    available_seconds: float = 0.0
    busy_seconds: float = 0.0
    busy_dnd_seconds: float = 0.0
    away_seconds: float = 0.0
    offline_seconds: float = 0.0

    @property
    def average_wait_seconds(self) -> float | None:
        return self.wait_seconds / self.assigned if self.assigned else None

    @property
    def average_handle_seconds(self) -> float | None:
        return self.handle_seconds / self.handled if self.handled else None

    @property
    def average_csat(self) -> float | None:
        return self.csat_score_total / self.csat_answers if self.csat_answers else None

    @property
    def service_level(self) -> float | None:
        return self.answered_within_threshold / self.assigned if self.assigned else None


def day_window(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants a local day spans (23 or 25 hours on daylight-saving changes), in UTC:
    Python subtracts two times of one zone as wall-clock times, which a DST change skews."""
    start = datetime.combine(day, time(), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def presence_field(presence: Presence) -> str:
    """The DayFigures field holding the time spent in `presence`."""
    return f"{presence}_seconds"


def split_by_day(span: PresenceSpan, zone: ZoneInfo) -> list[PresenceSpan]:
    """The span cut at local midnights: one piece per day it covers, each stored under its day."""
    pieces = []
    start = span.started_at
    while True:
        _, midnight = day_window(local_day(start, zone), zone)
        if span.ended_at <= midnight:
            pieces.append(span.model_copy(update={"started_at": start}))
            return pieces
        pieces.append(span.model_copy(update={"started_at": start, "ended_at": midnight}))
        start = midnight


def fold_day(
    day: date,
    items: Iterable[WorkItem],
    *,
    zone: ZoneInfo,
    service_level_seconds: float,
    spans: Iterable[PresenceSpan] = (),
    csat: Iterable[CsatFact] = (),
) -> list[DayFigures]:
    """The day's figures per queue and per agent, from the items alive that day and the
    presence spans that overlap it (what lies outside the day is ignored):
    - incoming: arrivals in their first queue, and transfers into a queue;
    - offered: each time routing gave work to an agent, for that queue and agent;
    - assigned and waits: routing's last choice since the work entered the queue it is in,
      waiting from that entry;
    - handled and handle time: on close, for its queue and last agent, from when it became
      theirs; abandoned: closed while no agent had it;
    - transfers: out of the queue and by the agent it left;
    - time per presence: each span's part within the day, for its agent;
    - satisfaction: each answer given that day, for the queue and agent that last had the
      conversation (answers come after the close, often on a later day)."""
    tallies: dict[tuple[FigureScope, str], dict[str, float]] = {}

    def tally(scope: FigureScope, key: str) -> dict[str, float]:
        return tallies.setdefault((scope, key), {})

    def add(counts: dict[str, float], field: str, value: float = 1) -> None:
        counts[field] = counts.get(field, 0) + value

    def on_day(moment: datetime) -> bool:
        return local_day(moment, zone) == day

    for item in {i.id: i for i in items}.values():  # an item counts once
        # Work enters a queue on arrival and on each transfer to it; it waits from then.
        entries = [
            (item.enqueued_at, item.transfers[0].from_queue_id if item.transfers else item.queue_id)
        ]
        entries += [(t.at, t.to_queue_id) for t in item.transfers if t.to_queue_id is not None]
        for at, queue_id in entries:
            if on_day(at):
                add(tally(FigureScope.QUEUE, queue_id), "incoming")
        for offer in item.offers:
            if on_day(offer.at):
                add(tally(FigureScope.QUEUE, offer.queue_id), "offered")
                add(tally(FigureScope.AGENT, offer.agent_id), "offered")
        for transfer in item.transfers:
            if on_day(transfer.at):
                add(tally(FigureScope.QUEUE, transfer.from_queue_id), "transfers")
                add(tally(FigureScope.AGENT, transfer.from_agent_id), "transfers")
        queue = tally(FigureScope.QUEUE, item.queue_id)
        # Its assignment is routing's last choice since it entered the queue it is in (a
        # transfer to an agent is the sender's choice: not an assignment, and no wait).
        waited_from = entries[-1][0]
        routed = next((o for o in reversed(item.offers) if o.at >= waited_from), None)
        if routed is not None and on_day(routed.at):
            wait = (routed.at - waited_from).total_seconds()
            for counts in (queue, tally(FigureScope.AGENT, routed.agent_id)):
                add(counts, "assigned")
                add(counts, "wait_seconds", wait)
                add(counts, "answered_within_threshold", int(wait <= service_level_seconds))
                counts["longest_wait_seconds"] = max(counts.get("longest_wait_seconds", 0), wait)
        if item.closed_at is not None and on_day(item.closed_at):
            if item.assigned_at is None or item.agent_id is None:
                add(queue, "abandoned")
            else:
                # Handled by the agent who had it last, from when it became theirs.
                handle = max((item.closed_at - item.assigned_at).total_seconds(), 0.0)
                for counts in (queue, tally(FigureScope.AGENT, item.agent_id)):
                    add(counts, "handled")
                    add(counts, "handle_seconds", handle)
    for fact in {f.conversation_id: f for f in csat}.values():  # one answer per conversation
        if on_day(fact.answered_at):
            scopes = [tally(FigureScope.QUEUE, fact.queue_id)]
            if fact.agent_id is not None:
                scopes.append(tally(FigureScope.AGENT, fact.agent_id))
            for counts in scopes:
                add(counts, "csat_answers")
                add(counts, "csat_score_total", fact.score)
    start, end = day_window(day, zone)
    for span in {s.id: s for s in spans}.values():  # a span stored twice counts once
        piece = span.model_copy(
            update={"started_at": max(span.started_at, start), "ended_at": min(span.ended_at, end)}
        )
        within = piece.seconds
        if within > 0:
            add(tally(FigureScope.AGENT, span.agent_id), presence_field(span.presence), within)
    return [
        DayFigures.model_validate({"day": day, "scope": scope, "key": key, **counts})
        for (scope, key), counts in sorted(tallies.items())
        if counts
    ]
