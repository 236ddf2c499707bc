"""The migration to clustered work items and appended decisions (shared/adapters/sqlite/
database.py): a database written before it keeps its items, their conversations' parties,
its decisions and the one-unclosed-item rule once this version opens it, and routes on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from shared.adapters.sqlite.store import SqliteStore
from shared.domain.routing_config import AssignmentMethod, WorkDistribution
from shared.domain.work import PlannedAssignment, RoutingDecision, WorkItemStatus
from tests.adapters.migrating import opened_before, opened_now, write_item_as_before
from tests.contract.builders import T0, agent, item


def decision(conversation_id: str, item_id: str, chosen: str | None) -> RoutingDecision:
    return RoutingDecision(
        id=f"decision-{item_id}",
        item_id=item_id,
        conversation_id=conversation_id,
        queue_id="q1",
        decided_at=T0,
        method=AssignmentMethod.ROUND_ROBIN,
        mode=WorkDistribution.PUSH,
        chosen_agent_id=chosen,
        reason="test",
    )


async def test_a_database_from_before_keeps_its_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = await opened_before(tmp_path / "old.db", monkeypatch, "work_items_clustered")
    before = SqliteStore(old)
    await agent(before, "a1", capacity=3)
    active = item("c-active", age=1).given_to("a1", T0, offer_until=None)
    waiting = item("c-waiting", age=2)
    closed = item("c-waiting").model_copy(update={"status": WorkItemStatus.CLOSED})

    def write_before(db: sqlite3.Connection) -> None:
        for work in (active, waiting, closed):
            write_item_as_before(db, work)

    await old.atomic(write_before)
    await before.record_routing_decision(decision("c-active", active.id, "a1"))
    await old.close()

    store = await opened_now(tmp_path / "old.db", monkeypatch)
    try:
        assert await store.get_work_item(active.id) == active
        assert await store.open_work_item("c-waiting") == waiting
        assert [w.id for w in await store.waiting_items("q1", limit=10)] == [waiting.id]
        assert [w.id for w in await store.agent_items("a1")] == [active.id]
        assert [d.id for d in await store.routing_decisions("c-active")] == [
            f"decision-{active.id}"
        ]
        # Still one unclosed item a conversation; a closed one does not count.
        with pytest.raises(Exception, match="UNIQUE"):
            await store._db.atomic(lambda db: SqliteStore._write_item(db, item("c-waiting")))
        again = item("c-closed-only")
        await store._db.atomic(
            lambda db: SqliteStore._write_item(
                db, again.model_copy(update={"status": WorkItemStatus.CLOSED})
            )
        )
        await store._db.atomic(lambda db: SqliteStore._write_item(db, item("c-closed-only")))
        # And routes on: the waiting item is given, its decision kept beside the old one's.
        given = await store.assign_batch(
            [
                PlannedAssignment(
                    item_id=waiting.id,
                    agent_id="a1",
                    offer_until=None,
                    decision=decision("c-waiting", waiting.id, "a1"),
                )
            ],
            T0,
        )
        assert [(w.id, w.status) for w in given] == [(waiting.id, WorkItemStatus.ACTIVE)]
        assert [w.id for w in await store.agent_items("a1")] == [active.id, waiting.id]
        assert [d.chosen_agent_id for d in await store.routing_decisions("c-waiting")] == ["a1"]
    finally:
        await store.close()
