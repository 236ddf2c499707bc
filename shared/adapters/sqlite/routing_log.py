"""RoutingLogStore on SQLite: the round-robin cursor and routing decisions."""

from __future__ import annotations

from collections.abc import Sequence

from shared.adapters.sqlite.tables import SqliteBase, record_decisions
from shared.domain.work import RoutingDecision


class SqliteRoutingLog(SqliteBase):
    async def round_robin_cursor(self, queue_id: str) -> str | None:
        row = await self._db.atomic(
            lambda db: db.execute(
                "SELECT agent_id FROM queue_cursors WHERE queue_id = ?", (queue_id,)
            ).fetchone()
        )
        return None if row is None else str(row[0])

    async def record_routing_decision(self, decision: RoutingDecision) -> None:
        await self._db.atomic(lambda db: record_decisions(db, [decision]))

    async def routing_decisions(self, conversation_id: str) -> Sequence[RoutingDecision]:
        return await self._query(
            RoutingDecision,
            "SELECT doc FROM routing_decisions WHERE conversation_id = ? ORDER BY decided_at, id",
            (conversation_id,),
        )
