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
