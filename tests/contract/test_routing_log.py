"""What every store adapter must do as a RoutingLogStore: the round-robin cursor and routing
decisions."""

from __future__ import annotations

from datetime import timedelta

from shared.domain.routing_config import AssignmentMethod, Queue, WorkDistribution
from shared.domain.work import CandidateVerdict, RoutingDecision
from shared.ports import Store
from tests.contract.builders import T0, agent, waiting_item


async def test_the_round_robin_cursor_follows_assignments(store: Store) -> None:
    await store.put_queue(Queue(id="q1", name="Q", assignment_method=AssignmentMethod.ROUND_ROBIN))
    await agent(store, "a1")
    await agent(store, "a2")
    for agent_id in ("a2", "a1"):
        assert await store.assign((await waiting_item(store)).id, agent_id, T0) is not None
        assert await store.round_robin_cursor("q1") == agent_id


async def test_routing_decisions_are_kept_per_conversation_oldest_first(store: Store) -> None:
    def decision(n: int, conversation_id: str) -> RoutingDecision:
        return RoutingDecision(
            id=f"d{n}",
            item_id="i1",
            conversation_id=conversation_id,
            queue_id="q1",
            decided_at=T0 + timedelta(seconds=10 - n),
            method=AssignmentMethod.ROUND_ROBIN,
            mode=WorkDistribution.PUSH,
            candidates=(CandidateVerdict(agent_id="a1", skipped="away"),),
            reason="no eligible agent",
        )

    for n in range(3):
        await store.record_routing_decision(decision(n, "c1"))
    await store.record_routing_decision(decision(0, "c1"))  # recorded once
    await store.record_routing_decision(decision(9, "c2"))
    assert [d.id for d in await store.routing_decisions("c1")] == ["d2", "d1", "d0"]
    assert (await store.routing_decisions("c1"))[0] == decision(2, "c1")
