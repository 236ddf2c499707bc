"""Pure routing rules: which queue a conversation goes to, and which agent may take an item."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from shared.domain.models import (
    AgentState,
    AssignmentMethod,
    Condition,
    ConditionField,
    Operator,
    RoutingRule,
    WorkItem,
    Workstream,
)
from shared.domain.models import Model as _Model


class RoutingFacts(_Model):
    """What route-to-queue rules may look at."""

    channel: str
    business_address: str
    text: str = ""
    customer_identified: bool = False


class RouteDecision(_Model):
    queue_id: str
    priority: int
    rule_id: str | None


def _field_value(facts: RoutingFacts, field: ConditionField) -> str:
    match field:
        case ConditionField.CHANNEL:
            return facts.channel
        case ConditionField.BUSINESS_ADDRESS:
            return facts.business_address
        case ConditionField.TEXT:
            return facts.text
        case ConditionField.CUSTOMER_IDENTIFIED:
            return "true" if facts.customer_identified else "false"


def condition_holds(condition: Condition, facts: RoutingFacts) -> bool:
    actual = _field_value(facts, condition.field)
    match condition.operator:
        case Operator.EQUALS:
            return actual.casefold() == condition.value.casefold()
        case Operator.CONTAINS:
            return condition.value.casefold() in actual.casefold()
        case Operator.REGEX:
            return re.search(condition.value, actual, flags=re.IGNORECASE) is not None


def rule_matches(rule: RoutingRule, facts: RoutingFacts) -> bool:
    results = (condition_holds(c, facts) for c in rule.conditions)
    return all(results) if rule.match == "all" else any(results)


def classify(
    workstream: Workstream, rules: Iterable[RoutingRule], facts: RoutingFacts
) -> RouteDecision:
    """First matching rule in order wins; with none, the workstream's fallback queue."""
    for rule in sorted(rules, key=lambda r: r.order):
        if rule.workstream_id == workstream.id and rule_matches(rule, facts):
            return RouteDecision(queue_id=rule.queue_id, priority=rule.priority, rule_id=rule.id)
    return RouteDecision(queue_id=workstream.fallback_queue_id, priority=0, rule_id=None)


def is_eligible(agent: AgentState, item: WorkItem, workstream: Workstream) -> bool:
    return (
        item.queue_id in agent.agent.queue_ids
        and agent.presence in workstream.allowed_presences
        and agent.remaining_capacity >= item.capacity_units
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def rank_agents(
    agents: Sequence[AgentState],
    item: WorkItem,
    workstream: Workstream,
    method: AssignmentMethod,
) -> list[AgentState]:
    """Eligible agents, best first, by the queue's assignment method.

    Highest remaining capacity first; ties go to whoever waited longest since an assignment,
    then to the agent id so the order is stable.
    """
    eligible = [a for a in agents if is_eligible(a, item, workstream)]
    match method:
        case AssignmentMethod.HIGHEST_CAPACITY:
            eligible.sort(
                key=lambda a: (
                    -a.remaining_capacity,
                    a.last_assigned_at or _EPOCH,
                    a.agent.id,
                )
            )
    return eligible


def waiting_order_key(item: WorkItem) -> tuple[int, datetime, str]:
    """Higher priority first, then the oldest: how a queue's backlog is served."""
    return (-item.priority, item.enqueued_at, item.id)
