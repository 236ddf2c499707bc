"""RoutingConfigStore on SQLite: workstreams, queues, rules and agents."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from shared.adapters.sqlite.tables import SqliteBase, doc_json, upsert_doc
from shared.domain.routing_config import Agent, Queue, RoutingRule, Workstream


class SqliteRoutingConfig(SqliteBase):
    async def put_workstream(self, workstream: Workstream) -> None:
        await self._put_doc("workstreams", workstream.id, workstream)

    async def get_workstream(self, workstream_id: str) -> Workstream | None:
        return await self._get(Workstream, "workstreams", workstream_id)

    async def put_queue(self, queue: Queue) -> None:
        await self._put_doc("queues", queue.id, queue)

    async def get_queue(self, queue_id: str) -> Queue | None:
        return await self._get(Queue, "queues", queue_id)

    async def put_rule(self, rule: RoutingRule) -> None:
        await self._db.atomic(
            lambda db: db.execute(
                "INSERT INTO rules (id, workstream_id, ord, doc) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET workstream_id = excluded.workstream_id, "
                "ord = excluded.ord, doc = excluded.doc",
                (rule.id, rule.workstream_id, rule.order, doc_json(rule)),
            )
        )

    async def list_rules(self, workstream_id: str) -> Sequence[RoutingRule]:
        return await self._query(
            RoutingRule,
            "SELECT doc FROM rules WHERE workstream_id = ? ORDER BY ord, id",
            (workstream_id,),
        )

    async def put_agent(self, agent: Agent) -> None:
        def write(db: sqlite3.Connection) -> None:
            upsert_doc(db, "agents", agent.id, agent)
            db.execute("DELETE FROM agent_queues WHERE agent_id = ?", (agent.id,))
            db.executemany(
                "INSERT INTO agent_queues (agent_id, queue_id) VALUES (?, ?)",
                [(agent.id, queue_id) for queue_id in agent.queue_ids],
            )
            db.execute(
                "INSERT INTO agent_presence (agent_id, presence) VALUES (?, ?) "
                "ON CONFLICT (agent_id) DO NOTHING",
                (agent.id, agent.default_presence),
            )

        await self._db.atomic(write)

    async def get_agent(self, agent_id: str) -> Agent | None:
        return await self._get(Agent, "agents", agent_id)

    async def list_workstreams(self, *, after: str | None, limit: int) -> Sequence[Workstream]:
        return await self._list_docs(Workstream, "workstreams", after, limit)

    async def delete_workstream(self, workstream_id: str) -> bool:
        return await self._delete("workstreams", workstream_id)

    async def list_queues(self, *, after: str | None, limit: int) -> Sequence[Queue]:
        return await self._list_docs(Queue, "queues", after, limit)

    async def delete_queue(self, queue_id: str) -> bool:
        return await self._delete("queues", queue_id)

    async def get_rule(self, rule_id: str) -> RoutingRule | None:
        return await self._get(RoutingRule, "rules", rule_id)

    async def list_all_rules(self, *, after: str | None, limit: int) -> Sequence[RoutingRule]:
        return await self._list_docs(RoutingRule, "rules", after, limit)

    async def delete_rule(self, rule_id: str) -> bool:
        return await self._delete("rules", rule_id)

    async def list_agents(self, *, after: str | None, limit: int) -> Sequence[Agent]:
        return await self._list_docs(Agent, "agents", after, limit)

    async def delete_agent(self, agent_id: str) -> bool:
        def delete(db: sqlite3.Connection) -> bool:
            db.execute("DELETE FROM agent_queues WHERE agent_id = ?", (agent_id,))
            db.execute("DELETE FROM agent_presence WHERE agent_id = ?", (agent_id,))
            return db.execute("DELETE FROM agents WHERE id = ?", (agent_id,)).rowcount > 0

        return await self._db.atomic(delete)
