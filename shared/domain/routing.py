"""Pure routing rules: which queue a conversation goes to, whether that queue takes it now, and
which agent may take an item, best first."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.domain.base import Model as _Model
from shared.domain.routing_config import (
    Agent,
    AssignmentMethod,
    Condition,
    ConditionField,
    ConditionGroup,
    OperatingHours,
    Operator,
    OverflowRule,
    Queue,
    RoutingRule,
    Skill,
    SkillMatching,
    Workstream,
)
from shared.domain.work import AgentState, WorkItem

ContextValue = str | float | bool


class RoutingFacts(_Model):
    """What route-to-queue rules may look at."""

    channel: str
    business_address: str
    text: str = ""
    customer_identified: bool = False
    context: Mapping[str, ContextValue] = {}
    pre_chat: Mapping[str, str] = {}
    contact: Mapping[str, str] = {}
    account: Mapping[str, str] = {}


class RouteDecision(_Model):
    queue_id: str
    priority: int
    rule_id: str | None
    required_skills: tuple[Skill, ...] = ()


def _as_text(value: ContextValue | None) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)


def _field_value(facts: RoutingFacts, condition: Condition) -> str | None:
    key = condition.key or ""
    match condition.field:
        case ConditionField.CHANNEL:
            return facts.channel
        case ConditionField.BUSINESS_ADDRESS:
            return facts.business_address
        case ConditionField.TEXT:
            return facts.text
        case ConditionField.CUSTOMER_IDENTIFIED:
            return _as_text(facts.customer_identified)
        case ConditionField.CONTEXT:
            return _as_text(facts.context.get(key))
        case ConditionField.PRE_CHAT:
            return facts.pre_chat.get(key)
        case ConditionField.CONTACT:
            return facts.contact.get(key)
        case ConditionField.ACCOUNT:
            return facts.account.get(key)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def condition_holds(condition: Condition, facts: RoutingFacts) -> bool:
    """Text compares without regard to case; a value the facts lack matches only the negative
    operators (it is not equal to, and does not contain, anything)."""
    actual = _field_value(facts, condition)
    if condition.operator is Operator.EXISTS:
        return actual is not None and actual != ""
    if actual is None:
        return condition.operator in (Operator.NOT_EQUALS, Operator.NOT_CONTAINS)
    folded, expected = actual.casefold(), condition.value.casefold()
    match condition.operator:
        case Operator.EQUALS:
            return folded == expected
        case Operator.NOT_EQUALS:
            return folded != expected
        case Operator.CONTAINS:
            return expected in folded
        case Operator.NOT_CONTAINS:
            return expected not in folded
        case Operator.REGEX:
            return re.search(condition.value, actual, flags=re.IGNORECASE) is not None
        case Operator.IN:
            return folded in {v.strip().casefold() for v in condition.value.split(",")}
        case Operator.GREATER_THAN | Operator.LESS_THAN:
            number = _number(actual)
            if number is None:
                return False
            limit = float(condition.value)
            return number > limit if condition.operator is Operator.GREATER_THAN else number < limit


def _holds(part: Condition | ConditionGroup, facts: RoutingFacts) -> bool:
    if isinstance(part, ConditionGroup):
        return _combine(part.match, part.conditions, facts)
    return condition_holds(part, facts)


def _combine(match: str, parts: Iterable[Condition | ConditionGroup], facts: RoutingFacts) -> bool:
    results = (_holds(part, facts) for part in parts)
    return all(results) if match == "all" else any(results)


def rule_matches(rule: RoutingRule, facts: RoutingFacts) -> bool:
    return _combine(rule.match, rule.conditions, facts)


def classify(
    workstream: Workstream, rules: Iterable[RoutingRule], facts: RoutingFacts
) -> RouteDecision:
    """First matching rule in order wins; with none, the workstream's fallback queue."""
    for rule in sorted(rules, key=lambda r: r.order):
        if rule.workstream_id == workstream.id and rule_matches(rule, facts):
            return RouteDecision(
                queue_id=rule.queue_id,
                priority=rule.priority,
                rule_id=rule.id,
                required_skills=rule.required_skills,
            )
    return RouteDecision(queue_id=workstream.fallback_queue_id, priority=0, rule_id=None)


# --- whether a queue takes work now ----------------------------------------------------------


def is_open(hours: OperatingHours, at: datetime) -> bool:
    """Open at this instant, in the queue's own time zone (daylight saving included)."""
    local = at.astimezone(ZoneInfo(hours.time_zone))
    if local.date() in hours.closed_dates:
        return False
    now, today, yesterday = local.time(), local.weekday(), (local.weekday() - 1) % 7
    for window in hours.windows:
        if window.start < window.end:
            if today in window.days and window.start <= now < window.end:
                return True
        elif (today in window.days and now >= window.start) or (
            yesterday in window.days and now < window.end
        ):
            return True
    return False


OPENING_HORIZON_DAYS = 400
"""How far ahead the next opening is looked for: past a year of holidays."""


def next_opening(hours: OperatingHours, after: datetime) -> datetime | None:
    """The first instant at or after `after` when the queue is open (`after` itself if open
    then); None if no window opens within the horizon (every day a holiday)."""
    if is_open(hours, after):
        return after
    zone = ZoneInfo(hours.time_zone)
    first_day = after.astimezone(zone).date()
    for offset in range(OPENING_HORIZON_DAYS):
        day = first_day + timedelta(days=offset)
        # A window opens at its start; one running past midnight is open again from midnight
        # on the next day, even when the day it started was a holiday (as is_open has it).
        starts = sorted(
            {datetime.combine(day, time(0), tzinfo=zone)}
            | {
                datetime.combine(day, window.start, tzinfo=zone)
                for window in hours.windows
                if day.weekday() in window.days and day not in hours.closed_dates
            }
        )
        for start in starts:
            if start > after and is_open(hours, start):
                return start.astimezone(after.tzinfo)
    return None


def overflow_due(rule: OverflowRule, *, waiting: int, longest_wait: timedelta) -> bool:
    """The backlog has reached a threshold: as many items waiting as allowed, or one waiting
    as long as allowed."""
    return (rule.max_waiting is not None and waiting >= rule.max_waiting) or (
        rule.max_wait_seconds is not None
        and longest_wait >= timedelta(seconds=rule.max_wait_seconds)
    )


class Placement(_Model):
    """Where work meant for a queue goes now: stays, or is redirected (to another queue, with
    an automated message to the customer, or both)."""

    queue_id: str
    message: str | None = None
    reason: str | None = None


def place(queue: Queue, *, at: datetime, waiting: int, longest_wait: timedelta) -> Placement:
    if queue.operating_hours is not None and not is_open(queue.operating_hours, at):
        redirect = queue.out_of_hours
        reason = "out of hours"
    elif queue.overflow is not None and overflow_due(
        queue.overflow, waiting=waiting, longest_wait=longest_wait
    ):
        redirect = queue.overflow.then
        reason = "overflow"
    else:
        return Placement(queue_id=queue.id)
    if redirect is None:
        return Placement(queue_id=queue.id, reason=reason)
    return Placement(
        queue_id=redirect.queue_id or queue.id, message=redirect.message, reason=reason
    )


# --- which agent -----------------------------------------------------------------------------


def skill_gap(agent: Agent, required: Sequence[Skill]) -> tuple[int, int]:
    """How far an agent falls short: (skills missing or below level, levels short in total).
    (0, 0) is an exact match."""
    levels = {skill.name.casefold(): skill.proficiency for skill in agent.skills}
    short = [max(0, need.proficiency - levels.get(need.name.casefold(), 0)) for need in required]
    return (sum(1 for s in short if s), sum(short))


def is_eligible(agent: AgentState, item: WorkItem, workstream: Workstream) -> bool:
    return (
        item.queue_id in agent.agent.queue_ids
        and agent.presence in workstream.allowed_presences
        and agent.remaining_capacity >= item.capacity_units
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def idle_since(used_capacity: int, released_at: datetime | None) -> datetime | None:
    """An agent without work has been idle since it last released work; one that never had
    any, since forever. None while it holds work (offers included)."""
    if used_capacity > 0:
        return None
    return released_at or _EPOCH


def rotation_key(queue: Queue, agent_id: str) -> tuple[int, int, str]:
    """An agent's place in the queue's rotation: the queue's member order, then unlisted
    members by id."""
    if agent_id in queue.member_order:
        return (0, queue.member_order.index(agent_id), "")
    return (1, 0, agent_id)


def _rotation(queue: Queue, agents: Sequence[AgentState], after: str | None) -> dict[str, int]:
    """Each agent's turn in the rotation, starting just after the agent assigned last (a
    member who is not eligible now keeps its place, so the turn passes to the next)."""
    order = sorted({s.agent.id for s in agents}, key=lambda agent_id: rotation_key(queue, agent_id))
    start = order.index(after) + 1 if after in order else 0
    return {agent_id: (i - start) % len(order) for i, agent_id in enumerate(order)}


def method_key(method: AssignmentMethod, agent: AgentState) -> tuple[object, ...]:
    """How an assignment method orders agents, best first; round robin's order is the
    rotation (`rotation_key`), so it adds nothing here."""
    last = agent.last_assigned_at or _EPOCH
    match method:
        case AssignmentMethod.HIGHEST_CAPACITY:
            return (-agent.remaining_capacity, last)
        case AssignmentMethod.ROUND_ROBIN:
            return ()
        case AssignmentMethod.LEAST_ACTIVE:
            return (last,)
        case AssignmentMethod.MOST_IDLE:
            return (agent.idle_since is None, agent.idle_since or _EPOCH, last)


def rank_agents(
    agents: Sequence[AgentState],
    item: WorkItem,
    workstream: Workstream,
    queue: Queue,
    *,
    last_assigned_agent_id: str | None = None,
) -> list[AgentState]:
    """Eligible agents, best first: the best skill match, then the queue's assignment method,
    then the agent id so the order is stable.

    `last_assigned_agent_id` is the queue's round-robin cursor, kept by the store so the
    rotation stays fair across restarts.
    """
    eligible = [a for a in agents if is_eligible(a, item, workstream)]
    if queue.skill_matching is SkillMatching.EXACT:
        eligible = [a for a in eligible if skill_gap(a.agent, item.required_skills) == (0, 0)]
    turn = _rotation(queue, agents, last_assigned_agent_id) if eligible else {}

    def order(a: AgentState) -> tuple[object, ...]:
        if queue.assignment_method == AssignmentMethod.ROUND_ROBIN:
            return (turn[a.agent.id],)
        return method_key(queue.assignment_method, a)

    return sorted(
        eligible,
        key=lambda a: (skill_gap(a.agent, item.required_skills), *order(a), a.agent.id),
    )


def waiting_order_key(item: WorkItem) -> tuple[int, datetime, str]:
    """Higher priority first, then the oldest: how a queue's backlog is served."""
    return (-item.priority, item.enqueued_at, item.id)
