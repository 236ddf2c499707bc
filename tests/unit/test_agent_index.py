"""The agent index chooses what `rank_agents` ranks first, for every method and matching, as
assignments change the agents' state; and it says why it passed over whom."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.agent_index import AgentIndex
from shared.domain.presence import Presence
from shared.domain.routing import rank_agents
from shared.domain.routing_config import (
    Agent,
    AssignmentMethod,
    Queue,
    Skill,
    SkillMatching,
    Workstream,
)
from shared.domain.work import AgentState, WorkItem

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
WORKSTREAM = Workstream(id="ws", name="W", channel="sms", fallback_queue_id="q")
SKILLS = ("billing", "french", "returns")


def random_agent(rng: random.Random, n: int) -> AgentState:
    capacity = rng.randint(0, 4)
    used = rng.randint(0, capacity)
    last = rng.choice([None, T0 - timedelta(minutes=rng.randint(0, 5))])
    return AgentState(
        agent=Agent(
            id=f"a{n:02d}",
            display_name="A",
            queue_ids=("q",) if rng.random() < 0.9 else ("other",),
            max_capacity=capacity,
            skills=tuple(
                Skill(name=name, proficiency=rng.randint(1, 5))
                for name in SKILLS
                if rng.random() < 0.6
            ),
        ),
        presence=rng.choice(list(Presence)),
        used_capacity=used,
        last_assigned_at=last,
        idle_since=None if used else rng.choice([None, T0 - timedelta(minutes=rng.randint(0, 9))]),
    )


def random_item(rng: random.Random, n: int) -> WorkItem:
    return WorkItem(
        id=f"i{n}",
        conversation_id=f"c{n}",
        workstream_id="ws",
        queue_id="q",
        capacity_units=rng.randint(1, 2),
        required_skills=tuple(
            Skill(name=name, proficiency=rng.randint(1, 4)) for name in SKILLS if rng.random() < 0.3
        ),
        enqueued_at=T0,
    )


@pytest.mark.parametrize("method", list(AssignmentMethod))
@pytest.mark.parametrize("matching", list(SkillMatching))
@pytest.mark.parametrize("seed", range(15))
def test_the_index_chooses_the_head_of_the_ranking_through_a_routing_pass(
    method: AssignmentMethod, matching: SkillMatching, seed: int
) -> None:
    rng = random.Random(seed)
    agents = {a.agent.id: a for a in (random_agent(rng, n) for n in range(rng.randint(0, 12)))}
    order = list(agents)
    rng.shuffle(order)
    queue = Queue(
        id="q",
        name="Q",
        assignment_method=method,
        skill_matching=matching,
        member_order=tuple(order[: len(order) // 2]),
    )
    cursor = rng.choice([None, *agents])
    index = AgentIndex(queue, WORKSTREAM, agents.values(), last_assigned_agent_id=cursor)
    for n in range(10):
        item = random_item(rng, n)
        ranking = rank_agents(
            list(agents.values()), item, WORKSTREAM, queue, last_assigned_agent_id=cursor
        )
        chosen, _ = index.choose(item, T0)
        assert (chosen.agent.id if chosen else None) == (ranking[0].agent.id if ranking else None)
        if chosen is None:
            continue
        at = T0 + timedelta(seconds=n + 1)
        after = chosen.model_copy(
            update={
                "used_capacity": chosen.used_capacity + item.capacity_units,
                "last_assigned_at": at,
                "idle_since": None,
            }
        )
        agents[after.agent.id] = after
        index.assigned(after)
        cursor = after.agent.id


def test_a_decision_says_why_it_passed_over_agents() -> None:
    def agent(agent_id: str, **fields: object) -> AgentState:
        return AgentState.model_validate(
            {
                "agent": Agent(
                    id=agent_id, display_name=agent_id, queue_ids=("q",), max_capacity=3
                ),
                "presence": Presence.AVAILABLE,
                "used_capacity": 0,
                **fields,
            }
        )

    members = [
        agent("away", presence=Presence.AWAY),
        agent("declined"),
        agent("full", used_capacity=3),
        agent("one-left", used_capacity=2),
        agent("ok", used_capacity=1),
    ]
    queue = Queue(id="q", name="Q")
    index = AgentIndex(queue, WORKSTREAM, members, last_assigned_agent_id=None)
    item = WorkItem(
        id="i",
        conversation_id="c",
        workstream_id="ws",
        queue_id="q",
        capacity_units=2,
        enqueued_at=T0,
        skipped_agents={"declined": T0 + timedelta(minutes=1)},
    )
    chosen, verdicts = index.choose(item, T0)
    assert chosen is not None and chosen.agent.id == "ok"
    assert [(v.agent_id, v.skipped is not None) for v in verdicts] == [("declined", True)]
    assert set(index.left_out) == {"away", "full"}
    assert "presence away" in index.left_out["away"]
    # Once the skip has run out, the agent who declined is first again.
    again, _ = index.choose(item, T0 + timedelta(minutes=2))
    assert again is not None and again.agent.id == "declined"
    # An agent the store refused is passed over for this item.
    chosen, verdicts = index.choose(item, T0, passed={"ok"})
    assert chosen is None
    assert [v.agent_id for v in verdicts] == ["declined", "one-left"]


def member(agent_id: str, skills: dict[str, int], **fields: object) -> AgentState:
    return AgentState.model_validate(
        {
            "agent": Agent(
                id=agent_id,
                display_name=agent_id,
                queue_ids=("q",),
                max_capacity=2,
                skills=tuple(Skill(name=n, proficiency=p) for n, p in skills.items()),
            ),
            "presence": Presence.AVAILABLE,
            "used_capacity": 0,
            **fields,
        }
    )


def needing(item_id: str, skills: dict[str, int], units: int = 1) -> WorkItem:
    return WorkItem(
        id=item_id,
        conversation_id=item_id,
        workstream_id="ws",
        queue_id="q",
        capacity_units=units,
        required_skills=tuple(Skill(name=n, proficiency=p) for n, p in skills.items()),
        enqueued_at=T0,
    )


def took(agent: AgentState, item: WorkItem, at: datetime) -> AgentState:
    return agent.model_copy(
        update={
            "used_capacity": agent.used_capacity + item.capacity_units,
            "last_assigned_at": at,
            "idle_since": None,
        }
    )


@pytest.mark.parametrize("method", list(AssignmentMethod))
def test_exact_matching_looks_only_at_agents_with_the_skills(method: AssignmentMethod) -> None:
    # Twenty agents without the skill are first by the method (assigned longest ago, most
    # capacity, first in the rotation); the only one with it is last.
    unskilled = [
        member(f"a{n:02d}", {"billing": 5}, last_assigned_at=T0 - timedelta(hours=1))
        for n in range(20)
    ]
    skilled = member("z-french", {"French": 3}, used_capacity=1, last_assigned_at=T0)
    queue = Queue(id="q", name="Q", assignment_method=method, skill_matching=SkillMatching.EXACT)
    index = AgentIndex(queue, WORKSTREAM, [*unskilled, skilled], last_assigned_agent_id=None)
    item = needing("i", {"french": 2})
    chosen, verdicts = index.choose(item, T0)
    assert chosen is not None and chosen.agent.id == "z-french"
    assert verdicts == []  # nobody walked past
    # Once it is full, no one fits: the decision names who lacks the skill, only on request.
    index.assigned(took(chosen, item, T0))
    chosen, verdicts = index.choose(item, T0)
    assert chosen is None and verdicts == []
    lacking = index.lacking_skills(item)
    assert [v.agent_id for v in lacking] == [a.agent.id for a in unskilled]
    assert {v.skipped for v in lacking} == {"lacks a required skill at the required proficiency"}
    # Items without skills still go by the method alone.
    plain, _ = index.choose(needing("j", {}), T0)
    assert plain is not None and plain.agent.id.startswith("a")


@pytest.mark.parametrize("method", list(AssignmentMethod))
@pytest.mark.parametrize("matching", list(SkillMatching))
def test_capacity_taken_for_one_skill_set_is_seen_by_the_others(
    method: AssignmentMethod, matching: SkillMatching
) -> None:
    both = member("both", {"billing": 3, "french": 3}, last_assigned_at=T0 - timedelta(hours=2))
    billing = member("billing", {"billing": 3}, last_assigned_at=T0 - timedelta(hours=1))
    french = member("french", {"french": 3}, last_assigned_at=T0 - timedelta(hours=1))
    queue = Queue(
        id="q",
        name="Q",
        assignment_method=method,
        skill_matching=matching,
        member_order=("both", "billing", "french"),
    )
    index = AgentIndex(queue, WORKSTREAM, [both, billing, french], last_assigned_agent_id=None)
    billing_item, french_item = needing("b", {"BILLING": 2}), needing("f", {"french": 2})
    # Both views are built, and both put "both" first.
    for item in (billing_item, french_item):
        chosen, _ = index.choose(item, T0)
        assert chosen is not None and chosen.agent.id == "both"
    # "both" takes all its capacity for a billing item: the french view no longer offers it.
    full = took(both, needing("big", {"billing": 1}, units=2), T0)
    index.assigned(full)
    chosen, _ = index.choose(french_item, T0)
    assert chosen is not None and chosen.agent.id == "french"
    chosen, _ = index.choose(billing_item, T0)
    assert chosen is not None and chosen.agent.id == "billing"
    assert index.left_out == {"both": "no capacity left"}
    # A view built after the change never had it.
    chosen, _ = index.choose(needing("fb", {"french": 1, "billing": 1}), T0)
    assert chosen is None if matching == SkillMatching.EXACT else chosen is not None
    # Capacity freed comes back in every view (round robin's turn has passed it, though).
    index.update(both)
    for item, after_both in ((billing_item, "billing"), (french_item, "french")):
        chosen, _ = index.choose(item, T0)
        expected = after_both if method == AssignmentMethod.ROUND_ROBIN else "both"
        assert chosen is not None and chosen.agent.id == expected


@pytest.mark.parametrize("method", list(AssignmentMethod))
def test_closest_matching_serves_the_smallest_skill_gap_first(method: AssignmentMethod) -> None:
    members = [
        member("far", {"french": 1}, last_assigned_at=T0 - timedelta(hours=3)),
        member("none", {}, last_assigned_at=T0 - timedelta(hours=4)),
        member("near", {"french": 3}, last_assigned_at=T0 - timedelta(hours=1)),
        member("near-2", {"french": 3}, last_assigned_at=T0 - timedelta(hours=2)),
    ]
    queue = Queue(id="q", name="Q", assignment_method=method, skill_matching=SkillMatching.CLOSEST)
    index = AgentIndex(queue, WORKSTREAM, members, last_assigned_agent_id=None)
    item = needing("i", {"french": 4})
    served: list[str] = []
    for n in range(8):
        chosen, verdicts = index.choose(item, T0)
        assert verdicts == []
        if chosen is None:
            break
        ranking = rank_agents(
            members,
            item,
            WORKSTREAM,
            queue,
            last_assigned_agent_id=served[-1] if served else None,
        )
        assert chosen.agent.id == ranking[0].agent.id
        served.append(chosen.agent.id)
        after = took(chosen, item, T0 + timedelta(seconds=n))
        members = [after if m.agent.id == after.agent.id else m for m in members]
        index.assigned(after)
    # Gap 1 (both "near"), then gap 3 ("far"), then 4 ("none"): two units each.
    assert sorted(served[:4]) == ["near", "near", "near-2", "near-2"]
    assert served[4:] == ["far", "far", "none", "none"]


@pytest.mark.parametrize("method", list(AssignmentMethod))
@pytest.mark.parametrize("matching", list(SkillMatching))
@pytest.mark.parametrize("seed", range(6))
def test_a_long_pass_over_recurring_skill_sets_matches_the_ranking_and_walks_no_one_unskilled(
    method: AssignmentMethod, matching: SkillMatching, seed: int
) -> None:
    rng = random.Random(1000 + seed)
    agents = {a.agent.id: a for a in (random_agent(rng, n) for n in range(30))}
    queue = Queue(id="q", name="Q", assignment_method=method, skill_matching=matching)
    cursor = None
    index = AgentIndex(queue, WORKSTREAM, agents.values(), last_assigned_agent_id=cursor)
    needs = [(), (("billing", 2),), (("Billing", 2),), (("french", 1), ("returns", 3))]
    for n in range(60):
        item = needing(f"i{n}", dict(rng.choice(needs)), units=rng.randint(1, 2))
        ranking = rank_agents(
            list(agents.values()), item, WORKSTREAM, queue, last_assigned_agent_id=cursor
        )
        chosen, verdicts = index.choose(item, T0)
        assert (chosen.agent.id if chosen else None) == (ranking[0].agent.id if ranking else None)
        assert all("capacity units left" in (v.skipped or "") for v in verdicts)
        if chosen is None:
            continue
        after = took(chosen, item, T0 + timedelta(seconds=n + 1))
        agents[after.agent.id] = after
        index.assigned(after)
        cursor = after.agent.id
