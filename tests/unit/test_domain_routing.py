"""Pure routing rules: classification, eligibility, ranking, backlog order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.models import (
    Agent,
    AgentState,
    AssignmentMethod,
    ChannelKind,
    Condition,
    ConditionField,
    Operator,
    Presence,
    RoutingRule,
    WorkItem,
    Workstream,
)
from shared.domain.routing import RoutingFacts, classify, rank_agents, waiting_order_key

T0 = datetime(2026, 11, 1, tzinfo=UTC)
WORKSTREAM = Workstream(id="ws", name="SMS", channel=ChannelKind.SMS, fallback_queue_id="general")


def rule(rule_id: str, order: int, *conditions: Condition, match: str = "all") -> RoutingRule:
    return RoutingRule.model_validate(
        {
            "id": rule_id,
            "workstream_id": "ws",
            "order": order,
            "name": rule_id,
            "match": match,
            "conditions": conditions,
            "queue_id": f"q-{rule_id}",
            "priority": order,
        }
    )


def text(operator: Operator, value: str) -> Condition:
    return Condition(field=ConditionField.TEXT, operator=operator, value=value)


def facts(message: str, **kw: object) -> RoutingFacts:
    return RoutingFacts.model_validate(
        {"channel": "sms", "business_address": "+12025550100", "text": message, **kw}
    )


def test_first_matching_rule_in_order_wins() -> None:
    rules = [
        rule("late", 20, text(Operator.CONTAINS, "bill")),
        rule("early", 10, text(Operator.CONTAINS, "bill")),
    ]
    decision = classify(WORKSTREAM, rules, facts("My BILL is wrong"))
    assert (decision.queue_id, decision.rule_id, decision.priority) == ("q-early", "early", 10)


def test_no_match_falls_back_to_the_workstream_queue() -> None:
    decision = classify(
        WORKSTREAM, [rule("billing", 1, text(Operator.CONTAINS, "bill"))], facts("hello")
    )
    assert (decision.queue_id, decision.rule_id) == ("general", None)


def test_rules_of_other_workstreams_are_ignored() -> None:
    foreign = rule("x", 1).model_copy(update={"workstream_id": "other"})
    assert classify(WORKSTREAM, [foreign], facts("anything")).queue_id == "general"


@pytest.mark.parametrize(
    ("match", "expected"),
    [("all", "general"), ("any", "q-combo")],
)
def test_all_and_any_combine_conditions(match: str, expected: str) -> None:
    combo = rule(
        "combo",
        1,
        text(Operator.REGEX, r"\brefund"),
        Condition(
            field=ConditionField.BUSINESS_ADDRESS, operator=Operator.EQUALS, value="+19999999999"
        ),
        match=match,
    )
    assert classify(WORKSTREAM, [combo], facts("refund please")).queue_id == expected


def test_customer_identification_can_route() -> None:
    known = rule(
        "known",
        1,
        Condition(field=ConditionField.CUSTOMER_IDENTIFIED, operator=Operator.EQUALS, value="true"),
    )
    assert (
        classify(WORKSTREAM, [known], facts("hi", customer_identified=True)).queue_id == "q-known"
    )
    assert classify(WORKSTREAM, [known], facts("hi")).queue_id == "general"


def state(
    agent_id: str,
    *,
    used: int = 0,
    capacity: int = 3,
    presence: Presence = Presence.AVAILABLE,
    queues: tuple[str, ...] = ("q",),
    last: int | None = None,
) -> AgentState:
    return AgentState(
        agent=Agent(id=agent_id, display_name=agent_id, queue_ids=queues, max_capacity=capacity),
        presence=presence,
        used_capacity=used,
        last_assigned_at=None if last is None else T0 + timedelta(minutes=last),
    )


ITEM = WorkItem(
    id="i", conversation_id="c", workstream_id="ws", queue_id="q", capacity_units=2, enqueued_at=T0
)


def ranked(*agents: AgentState) -> list[str]:
    return [
        a.agent.id for a in rank_agents(agents, ITEM, WORKSTREAM, AssignmentMethod.HIGHEST_CAPACITY)
    ]


def test_only_eligible_agents_are_ranked() -> None:
    assert ranked(
        state("ok"),
        state("away", presence=Presence.AWAY),
        state("offline", presence=Presence.OFFLINE),
        state("dnd", presence=Presence.BUSY_DND),
        state("full", used=2),
        state("elsewhere", queues=("other",)),
    ) == ["ok"]


def test_busy_agents_with_room_stay_eligible_by_default() -> None:
    assert ranked(state("busy", presence=Presence.BUSY)) == ["busy"]


def test_highest_remaining_capacity_first_then_longest_since_assignment() -> None:
    assert ranked(
        state("recent", last=30),
        state("roomy", capacity=5),
        state("idle", last=1),
        state("never"),
    ) == ["roomy", "never", "idle", "recent"]


def test_backlog_is_served_by_priority_then_oldest() -> None:
    items = [
        ITEM.model_copy(update={"id": "new", "enqueued_at": T0 + timedelta(minutes=5)}),
        ITEM.model_copy(update={"id": "old"}),
        ITEM.model_copy(
            update={"id": "vip", "priority": 2, "enqueued_at": T0 + timedelta(minutes=9)}
        ),
    ]
    assert [i.id for i in sorted(items, key=waiting_order_key)] == ["vip", "old", "new"]
