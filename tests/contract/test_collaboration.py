"""What every store adapter must do as a CollaborationStore: transfers and consultants."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from shared.domain.work import Offer, Transfer, WorkItemStatus
from shared.ports import Store
from tests.contract.builders import T0, active_item, agent, used
from tests.contract.conftest import StoreFactory


async def test_transfer_to_agent_moves_capacity(store: Store) -> None:
    await agent(store, "a1", capacity=1)
    await agent(store, "a2", capacity=1)
    first = await active_item(store, "a1")
    assert first.offers == (Offer(at=T0, queue_id="q1", agent_id="a1"),)  # for the figures
    moved = await store.transfer_to_agent(first.id, "a1", "a2", T0 + timedelta(minutes=1))
    assert moved is not None and moved.agent_id == "a2" and moved.status == WorkItemStatus.ACTIVE
    assert moved.transfers == (
        Transfer(
            at=T0 + timedelta(minutes=1), from_queue_id="q1", from_agent_id="a1", to_agent_id="a2"
        ),
    )
    assert (await used(store, "a1"), await used(store, "a2")) == (0, 1)
    assert await store.agent_items("a2") == [moved]
    # The receiver is full now: a second transfer changes nothing (invariant 1).
    second = await active_item(store, "a1")
    assert await store.transfer_to_agent(second.id, "a1", "a2", T0) is None
    assert await store.get_work_item(second.id) == second
    assert (await used(store, "a1"), await used(store, "a2")) == (1, 1)
    # Only the primary agent's active work moves.
    assert await store.transfer_to_agent(moved.id, "a1", "a2", T0) is None


async def test_transfer_to_queue_keeps_priority_and_arrival(store: Store) -> None:
    await agent(store, "a1", capacity=1, queues=("q1", "q2"))
    held = await active_item(store, "a1", priority=3, age=5)
    waiting = await store.transfer_to_queue(held.id, "a1", "q2", T0)
    assert waiting is not None
    assert (waiting.status, waiting.queue_id, waiting.agent_id) == (
        WorkItemStatus.WAITING,
        "q2",
        None,
    )
    # The transfer is on record for the figures: from whom and which queue, to where, when.
    assert waiting.transfers == (
        Transfer(at=T0, from_queue_id=held.queue_id, from_agent_id="a1", to_queue_id="q2"),
    )
    assert (waiting.priority, waiting.enqueued_at) == (3, held.enqueued_at)
    assert await store.waiting_items("q2", limit=5) == [waiting]
    assert await store.open_work_item(held.conversation_id) == waiting
    assert await used(store, "a1") == 0
    assert await store.transfer_to_queue(held.id, "a1", "q1", T0) is None  # not hers any more


async def test_consultants_join_and_leave(store: Store) -> None:
    await agent(store, "a1")
    await agent(store, "a2")
    held = await active_item(store, "a1")
    assert await store.add_consultant(held.id, "a2", "a1") is None  # only with its primary
    joined = await store.add_consultant(held.id, "a1", "a2")
    assert joined is not None and joined.consultants == ("a2",)
    assert await store.add_consultant(held.id, "a1", "a2") == joined  # idempotent
    assert await store.consulted_items("a2") == [joined]
    assert await used(store, "a2") == 0  # a consult takes no capacity
    left = await store.remove_consultant(held.id, "a2")
    assert left is not None and left.consultants == ()
    assert await store.consulted_items("a2") == []
    assert await store.remove_consultant(held.id, "a2") is None


async def test_a_transfer_racing_a_close_leaves_one_outcome(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    """Invariants 1 and 2 under a race: the sender closes while it transfers to a colleague.
    Either the close wins (closed, nobody holds capacity) or the transfer does (the receiver
    holds it; the sender's stale close changes nothing)."""
    async with store_factory(tmp_path) as one, store_factory(tmp_path) as two:
        await agent(one, "a1", capacity=1)
        await agent(one, "a2", capacity=1)
        for _ in range(4):
            held = await active_item(one, "a1")
            moved, closed = await asyncio.gather(
                one.transfer_to_agent(held.id, "a1", "a2", T0),
                two.close_work_item(held.id, T0, agent_id="a1"),
            )
            assert (moved is None) != (closed is None)
            final = await one.get_work_item(held.id)
            assert final is not None
            if moved is not None:
                assert (final.status, final.agent_id) == (WorkItemStatus.ACTIVE, "a2")
                assert (await used(one, "a1"), await used(one, "a2")) == (0, 1)
                assert await one.close_work_item(held.id, T0, agent_id="a2") is not None
            else:
                assert final.status == WorkItemStatus.CLOSED
            assert (await used(one, "a1"), await used(one, "a2")) == (0, 0)


async def test_transfers_racing_for_one_receiver_never_exceed_its_capacity(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    async with store_factory(tmp_path) as one, store_factory(tmp_path) as two:
        await agent(one, "a1", capacity=1)
        await agent(one, "a2", capacity=1)
        await agent(one, "r", capacity=1)
        first, second = await active_item(one, "a1"), await active_item(one, "a2")
        results = await asyncio.gather(
            one.transfer_to_agent(first.id, "a1", "r", T0),
            two.transfer_to_agent(second.id, "a2", "r", T0),
        )
        assert sum(r is not None for r in results) == 1
        assert await used(one, "r") == 1
        assert await used(one, "a1") + await used(one, "a2") == 1
