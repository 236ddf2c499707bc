"""RoutingLogStore on Cosmos DB: the round-robin cursor and routing decisions."""

from __future__ import annotations

from collections.abc import Sequence

from shared.adapters.cosmos import layout
from shared.adapters.cosmos.containers import CosmosBase
from shared.adapters.cosmos.documents import (
    create_if_absent,
    query_records,
    read_or_none,
)
from shared.adapters.cosmos.layout import document
from shared.adapters.cosmos.metrics import MeteredContainer
from shared.domain.work import RoutingDecision


async def write_routing_decision(lookups: MeteredContainer, decision: RoutingDecision) -> None:
    """A decision in its conversation's partition of the lookups container, kept a while."""
    key = layout.routing_decisions_key(decision.conversation_id)
    await create_if_absent(
        lookups,
        document(
            decision.id, key, "routing-decision", decision, ttl=layout.ROUTING_DECISION_TTL_SECONDS
        ),
    )


class CosmosRoutingLog(CosmosBase):
    async def round_robin_cursor(self, queue_id: str) -> str | None:
        doc = await read_or_none(
            self._work, layout.ROUND_ROBIN_CURSOR_ID, layout.queue_partition(queue_id)
        )
        return None if doc is None else str(doc["agent_id"])

    async def record_routing_decision(self, decision: RoutingDecision) -> None:
        await write_routing_decision(self._lookups, decision)

    async def routing_decisions(self, conversation_id: str) -> Sequence[RoutingDecision]:
        # Only /pk is indexed in lookups: the few decisions of one conversation sort here.
        key = layout.routing_decisions_key(conversation_id)
        decisions = await query_records(
            self._lookups,
            RoutingDecision,
            "SELECT VALUE c.data FROM c WHERE c.pk = @pk",
            {"@pk": key},
            partition_key=key,
        )
        return sorted(decisions, key=lambda d: (d.decided_at, d.id))
