"""Pure routing rules: classification, eligibility, ranking, backlog order."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from shared.domain.channels import ChannelKind
from shared.domain.presence import Presence
from shared.domain.routing import (
    RoutingFacts,
    classify,
    is_open,
    next_opening,
    place,
    rank_agents,
    waiting_order_key,
)
from shared.domain.routing_config import (
    Agent,
    Condition,
    ConditionField,
    ConditionGroup,
    OperatingHours,
    OperatingWindow,
    Operator,
    OverflowRule,
    Queue,
    Redirect,
    RoutingRule,
    Skill,
    SkillMatching,
    Workstream,
)
from shared.domain.work import AgentState, WorkItem

T0 = datetime(2026, 11, 1, tzinfo=UTC)
WORKSTREAM = Workstream(id="ws", name="SMS", channel=ChannelKind.SMS, fallback_queue_id="general")


def rule(
    rule_id: str, order: int, *conditions: Condition | ConditionGroup, match: str = "all"
) -> RoutingRule:
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
    idle: int | None = None,
    skills: dict[str, int] | None = None,
) -> AgentState:
    return AgentState(
        agent=Agent(
            id=agent_id,
            display_name=agent_id,
            queue_ids=queues,
            max_capacity=capacity,
            skills=tuple(Skill(name=n, proficiency=p) for n, p in (skills or {}).items()),
        ),
        presence=presence,
        used_capacity=used,
        last_assigned_at=None if last is None else T0 + timedelta(minutes=last),
        idle_since=None if idle is None else T0 + timedelta(minutes=idle),
    )


ITEM = WorkItem(
    id="i", conversation_id="c", workstream_id="ws", queue_id="q", capacity_units=2, enqueued_at=T0
)


QUEUE = Queue(id="q", name="Q")


def ranked(
    *agents: AgentState,
    queue: Queue = QUEUE,
    item: WorkItem = ITEM,
    last_assigned: str | None = None,
) -> list[str]:
    return [
        a.agent.id
        for a in rank_agents(agents, item, WORKSTREAM, queue, last_assigned_agent_id=last_assigned)
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


# --- richer conditions -----------------------------------------------------------------------


def keyed(field: ConditionField, key: str, operator: Operator, value: str = "") -> Condition:
    return Condition(field=field, key=key, operator=operator, value=value)


RICH = facts(
    "hello",
    context={"cart_total": 250.0, "logged_in": True, "page": "/checkout"},
    pre_chat={"topic": "Returns"},
    contact={"tier": "Gold"},
    account={"country": "FR"},
)


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        (keyed(ConditionField.CONTEXT, "cart_total", Operator.GREATER_THAN, "200"), True),
        (keyed(ConditionField.CONTEXT, "cart_total", Operator.LESS_THAN, "200"), False),
        (keyed(ConditionField.CONTEXT, "logged_in", Operator.EQUALS, "true"), True),
        (keyed(ConditionField.CONTEXT, "page", Operator.REGEX, r"^/check"), True),
        (keyed(ConditionField.CONTEXT, "coupon", Operator.EXISTS), False),
        (keyed(ConditionField.CONTEXT, "coupon", Operator.NOT_EQUALS, "X"), True),
        (keyed(ConditionField.CONTEXT, "coupon", Operator.EQUALS, "X"), False),
        (keyed(ConditionField.PRE_CHAT, "topic", Operator.IN, "billing, returns"), True),
        (keyed(ConditionField.CONTACT, "tier", Operator.EQUALS, "gold"), True),
        (keyed(ConditionField.ACCOUNT, "country", Operator.NOT_CONTAINS, "F"), False),
        (keyed(ConditionField.CONTEXT, "page", Operator.GREATER_THAN, "3"), False),
    ],
)
def test_conditions_on_context_pre_chat_contact_and_account(
    condition: Condition, holds: bool
) -> None:
    gate = rule("gate", 1, condition)
    assert (classify(WORKSTREAM, [gate], RICH).queue_id == "q-gate") is holds


def test_groups_nest_all_and_any() -> None:
    vip_returns = rule(
        "vip",
        1,
        keyed(ConditionField.PRE_CHAT, "topic", Operator.EQUALS, "returns"),
        ConditionGroup(
            match="any",
            conditions=(
                keyed(ConditionField.CONTACT, "tier", Operator.EQUALS, "platinum"),
                keyed(ConditionField.CONTEXT, "cart_total", Operator.GREATER_THAN, "100"),
            ),
        ),
    )
    assert classify(WORKSTREAM, [vip_returns], RICH).queue_id == "q-vip"
    assert classify(WORKSTREAM, [vip_returns], facts("hello")).queue_id == "general"


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param({"field": "context", "operator": "equals", "value": "x"}, id="key missing"),
        pytest.param({"field": "text", "key": "k", "operator": "equals"}, id="key not taken"),
        pytest.param({"field": "text", "operator": "regex", "value": "(unclosed"}, id="bad regex"),
        pytest.param(
            {"field": "context", "key": "n", "operator": "greater_than", "value": "lots"},
            id="non-numeric limit",
        ),
    ],
)
def test_malformed_conditions_are_refused(spec: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"key|regex|number"):
        Condition.model_validate(spec)


def test_a_matching_rule_carries_its_skills_to_the_decision() -> None:
    french = RoutingRule(
        id="fr",
        workstream_id="ws",
        order=1,
        name="French",
        conditions=(keyed(ConditionField.ACCOUNT, "country", Operator.EQUALS, "FR"),),
        queue_id="q",
        required_skills=(Skill(name="french", proficiency=6),),
    )
    assert classify(WORKSTREAM, [french], RICH).required_skills == (
        Skill(name="french", proficiency=6),
    )


# --- assignment methods and skills -----------------------------------------------------------


def test_round_robin_follows_the_queue_order_after_the_last_assigned() -> None:
    queue = QUEUE.model_copy(
        update={"assignment_method": "round_robin", "member_order": ("c", "a", "b")}
    )
    agents = (state("a"), state("b"), state("c"), state("z"))
    assert ranked(*agents, queue=queue) == ["c", "a", "b", "z"]
    assert ranked(*agents, queue=queue, last_assigned="a") == ["b", "z", "c", "a"]
    assert ranked(*agents, queue=queue, last_assigned="z") == ["c", "a", "b", "z"]
    # The cursor's agent went offline: the turn passes to whoever is next in the rotation.
    assert ranked(state("a"), state("c"), queue=queue, last_assigned="gone") == ["c", "a"]


def test_least_active_is_longest_since_last_assignment() -> None:
    queue = QUEUE.model_copy(update={"assignment_method": "least_active"})
    assert ranked(state("recent", last=9), state("never"), state("old", last=1), queue=queue) == [
        "never",
        "old",
        "recent",
    ]


def test_most_idle_prefers_agents_without_work_the_longest() -> None:
    queue = QUEUE.model_copy(update={"assignment_method": "most_idle"})
    assert ranked(
        state("working", used=1),
        state("idle-late", idle=5),
        state("idle-early", idle=1),
        queue=queue,
    ) == ["idle-early", "idle-late", "working"]


SKILLED = ITEM.model_copy(
    update={"required_skills": (Skill(name="french", proficiency=5), Skill(name="billing"))}
)


def test_exact_skill_matching_keeps_only_full_matches() -> None:
    assert ranked(
        state("fluent", skills={"french": 7, "billing": 1}),
        state("beginner", skills={"french": 2, "billing": 3}),
        state("monolingual", skills={"billing": 9}),
        item=SKILLED,
    ) == ["fluent"]


def test_closest_skill_matching_ranks_by_how_close_then_by_method() -> None:
    queue = QUEUE.model_copy(update={"skill_matching": SkillMatching.CLOSEST})
    assert ranked(
        state("monolingual", skills={"billing": 9}, capacity=9),
        state("beginner", skills={"french": 2, "billing": 3}),
        state("fluent", skills={"French": 7, "billing": 1}),
        state("near", skills={"french": 4, "billing": 1}),
        item=SKILLED,
        queue=queue,
    ) == ["fluent", "near", "beginner", "monolingual"]


# --- operating hours and overflow ------------------------------------------------------------

PARIS_OFFICE = OperatingHours(
    time_zone="Europe/Paris",
    windows=(
        OperatingWindow(days=(0, 1, 2, 3, 4), start=time(9), end=time(18)),
        OperatingWindow(days=(4,), start=time(22), end=time(2)),  # Friday late shift
    ),
    closed_dates=(date(2026, 12, 25),),
)


@pytest.mark.parametrize(
    ("utc", "open_"),
    [
        (datetime(2026, 11, 25, 8, 0, tzinfo=UTC), True),  # Wednesday 09:00 in Paris (UTC+1)
        (datetime(2026, 11, 25, 7, 59, tzinfo=UTC), False),
        (datetime(2026, 7, 1, 7, 30, tzinfo=UTC), True),  # summer time: 09:30 (UTC+2)
        (datetime(2026, 11, 25, 17, 0, tzinfo=UTC), False),  # 18:00: closed
        (datetime(2026, 11, 28, 0, 30, tzinfo=UTC), True),  # Saturday 01:30, Friday's shift
        (datetime(2026, 11, 29, 0, 30, tzinfo=UTC), False),  # Sunday 01:30
        (datetime(2026, 12, 25, 10, 0, tzinfo=UTC), False),  # a holiday
    ],
)
def test_operating_hours_in_the_queues_time_zone(utc: datetime, open_: bool) -> None:
    assert is_open(PARIS_OFFICE, utc) is open_


@pytest.mark.parametrize(
    ("after", "opens"),
    [
        # Wednesday 07:59 UTC (08:59 in Paris): at 09:00 Paris time.
        (datetime(2026, 11, 25, 7, 59, tzinfo=UTC), datetime(2026, 11, 25, 8, 0, tzinfo=UTC)),
        # Open now: now.
        (datetime(2026, 11, 25, 9, 0, tzinfo=UTC), datetime(2026, 11, 25, 9, 0, tzinfo=UTC)),
        # Friday 18:30 in Paris: the late shift at 22:00.
        (datetime(2026, 11, 27, 17, 30, tzinfo=UTC), datetime(2026, 11, 27, 21, 0, tzinfo=UTC)),
        # Saturday after the shift: Monday 09:00.
        (datetime(2026, 11, 28, 3, 0, tzinfo=UTC), datetime(2026, 11, 30, 8, 0, tzinfo=UTC)),
        # Christmas Eve evening, Christmas (a Friday) a holiday: no day shift and no 22:00
        # start, but the shift's hours past midnight open Saturday, as is_open has it.
        (datetime(2026, 12, 24, 18, 0, tzinfo=UTC), datetime(2026, 12, 25, 23, 0, tzinfo=UTC)),
    ],
)
def test_the_next_opening_in_the_queues_time_zone(after: datetime, opens: datetime) -> None:
    assert next_opening(PARIS_OFFICE, after) == opens


def test_no_opening_ahead_when_every_day_is_a_holiday() -> None:
    start = date(2026, 11, 25)
    hours = OperatingHours(
        time_zone="UTC",
        windows=(OperatingWindow(days=(2,), start=time(9), end=time(10)),),
        closed_dates=tuple(start + timedelta(days=n) for n in range(500)),
    )
    assert next_opening(hours, datetime(2026, 11, 25, tzinfo=UTC)) is None


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        OperatingHours(time_zone="Mars/Olympus", windows=PARIS_OFFICE.windows)


NIGHT = datetime(2026, 11, 25, 22, 0, tzinfo=UTC)
DAY = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def test_out_of_hours_work_is_redirected_with_a_message() -> None:
    queue = QUEUE.model_copy(
        update={
            "operating_hours": PARIS_OFFICE,
            "out_of_hours": Redirect(queue_id="q-night", message="We open at 9."),
        }
    )
    at_night = place(queue, at=NIGHT, waiting=0, longest_wait=timedelta())
    assert (at_night.queue_id, at_night.message, at_night.reason) == (
        "q-night",
        "We open at 9.",
        "out of hours",
    )
    assert place(queue, at=DAY, waiting=0, longest_wait=timedelta()).queue_id == "q"


@pytest.mark.parametrize(
    ("waiting", "longest", "overflows"),
    [(4, 0, False), (5, 0, True), (0, 299, False), (1, 300, True)],
)
def test_overflow_by_backlog_size_or_longest_wait(
    waiting: int, longest: int, overflows: bool
) -> None:
    queue = QUEUE.model_copy(
        update={
            "overflow": OverflowRule(
                max_waiting=5, max_wait_seconds=300, then=Redirect(queue_id="q-overflow")
            )
        }
    )
    placed = place(queue, at=DAY, waiting=waiting, longest_wait=timedelta(seconds=longest))
    assert (placed.queue_id == "q-overflow") is overflows
