"""RoutingConfigStore on Cosmos DB: workstreams, queues, rules and agents (config container)."""

from __future__ import annotations

from collections.abc import Sequence

from shared.adapters.cosmos import layout
from shared.adapters.cosmos.containers import CosmosBase, load_record
from shared.adapters.cosmos.documents import (
    create_if_absent,
    delete_if_present,
    query_records,
    read_or_none,
)
from shared.adapters.cosmos.layout import document, model_json
from shared.domain.routing_config import Agent, Queue, RoutingRule, Workstream


class CosmosRoutingConfig(CosmosBase):
    async def put_workstream(self, workstream: Workstream) -> None:
        await self._put_config("workstream", workstream.id, workstream)

    async def get_workstream(self, workstream_id: str) -> Workstream | None:
        return await self._get_config(Workstream, "workstream", workstream_id)

    async def put_queue(self, queue: Queue) -> None:
        await self._put_config("queue", queue.id, queue)

    async def get_queue(self, queue_id: str) -> Queue | None:
        return await self._get_config(Queue, "queue", queue_id)

    async def put_rule(self, rule: RoutingRule) -> None:
        await self._config.upsert(
            document(
                rule.id,
                "rule",
                "rule",
                rule,
                workstream_id=rule.workstream_id,
                rule_order=rule.order,
            )
        )

    async def list_rules(self, workstream_id: str) -> Sequence[RoutingRule]:
        return await query_records(
            self._config,
            RoutingRule,
            "SELECT VALUE c.data FROM c WHERE c.pk = @pk AND c.workstream_id = @workstream "
            "ORDER BY c.rule_order, c.id",
            {"@pk": "rule", "@workstream": workstream_id},
            partition_key="rule",
        )

    async def put_agent(self, agent: Agent) -> None:
        """The agent's record and its live state share one document: an edit replaces the
        record (a patch) and keeps presence and held capacity."""
        created = await create_if_absent(
            self._work,
            document(
                agent.id,
                layout.AGENTS_PARTITION,
                "agent",
                agent,
                queue_ids=list(agent.queue_ids),
                presence=None,
                holds={},
                last_assigned_at=None,
                released_at=None,
            ),
        )
        if not created:
            await self._work.patch(
                agent.id,
                layout.AGENTS_PARTITION,
                [
                    {"op": "set", "path": "/data", "value": model_json(agent)},
                    {"op": "set", "path": "/queue_ids", "value": list(agent.queue_ids)},
                ],
            )

    async def get_agent(self, agent_id: str) -> Agent | None:
        doc = await read_or_none(self._work, agent_id, layout.AGENTS_PARTITION)
        return None if doc is None else load_record(Agent, doc)

    async def list_workstreams(self, *, after: str | None, limit: int) -> Sequence[Workstream]:
        return await self._list_config(Workstream, "workstream", after, limit)

    async def delete_workstream(self, workstream_id: str) -> bool:
        return await delete_if_present(self._config, workstream_id, "workstream")

    async def list_queues(self, *, after: str | None, limit: int) -> Sequence[Queue]:
        return await self._list_config(Queue, "queue", after, limit)

    async def delete_queue(self, queue_id: str) -> bool:
        return await delete_if_present(self._config, queue_id, "queue")

    async def get_rule(self, rule_id: str) -> RoutingRule | None:
        return await self._get_config(RoutingRule, "rule", rule_id)

    async def list_all_rules(self, *, after: str | None, limit: int) -> Sequence[RoutingRule]:
        return await self._list_config(RoutingRule, "rule", after, limit)

    async def delete_rule(self, rule_id: str) -> bool:
        return await delete_if_present(self._config, rule_id, "rule")

    async def list_agents(self, *, after: str | None, limit: int) -> Sequence[Agent]:
        return await query_records(
            self._work,
            Agent,
            "SELECT TOP @limit VALUE c.data FROM c WHERE c.pk = @pk AND c.type = 'agent' "
            "AND c.id > @after ORDER BY c.id",
            {"@pk": layout.AGENTS_PARTITION, "@after": after or "", "@limit": limit},
            partition_key=layout.AGENTS_PARTITION,
        )

    async def delete_agent(self, agent_id: str) -> bool:
        return await delete_if_present(self._work, agent_id, layout.AGENTS_PARTITION)
