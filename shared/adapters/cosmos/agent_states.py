"""AgentStateStore on Cosmos DB: presence, capacity holds and presence spans."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from azure.cosmos import exceptions

from shared.adapters.cosmos import layout
from shared.adapters.cosmos.containers import CosmosBase, held_units, load_record
from shared.adapters.cosmos.documents import (
    Doc,
    read_or_none,
    update,
)
from shared.adapters.cosmos.layout import document, model_json, stored_fields
from shared.domain.presence import (
    Presence,
    PresenceChange,
    PresenceSpan,
    PresenceState,
)
from shared.domain.routing import idle_since
from shared.domain.routing_config import Agent
from shared.domain.work import CAPACITY_HOLDING, AgentState
from shared.ports import PresenceUpdate

log = logging.getLogger(__name__)

_HOLDING = [str(status) for status in CAPACITY_HOLDING]


class CosmosAgentStates(CosmosBase):
    async def reconcile_capacity(self) -> int:
        """Recompute each agent's holds from the items it holds: a hold whose item is not
        the agent's (a crash between the two writes of an assignment) is released, an item
        without its hold gets one back. Holds younger than the grace period may belong to an
        assignment in flight and are kept. Returns how many agents were corrected."""
        rows = await self._work.query(
            "SELECT c.id, c.queue_id, c.data.agent_id AS agent_id, c.data.capacity_units AS units, "
            "c.data.assigned_at AS assigned_at FROM c "
            "WHERE c.type = 'item' AND ARRAY_CONTAINS(@holding, c.status)",
            {"@holding": _HOLDING},
            partition_key=None,
        )
        held_by: dict[str, dict[str, Any]] = defaultdict(dict)
        for row in rows:
            held_by[str(row["agent_id"])][str(row["id"])] = row
        agent_ids = await self._work.query(
            "SELECT VALUE c.id FROM c WHERE c.pk = @pk AND c.type = 'agent'",
            {"@pk": layout.AGENTS_PARTITION},
            partition_key=layout.AGENTS_PARTITION,
        )
        cutoff = datetime.now(UTC) - self._hold_grace
        corrected = 0
        for agent_id in agent_ids:
            items = held_by.get(agent_id, {})

            def reconcile(doc: Doc, items: dict[str, Any] = items) -> Doc | None:
                holds = {
                    item_id: hold
                    for item_id, hold in doc["holds"].items()
                    if item_id in items or datetime.fromisoformat(hold["held_at"]) > cutoff
                }
                for item_id, row in items.items():
                    holds.setdefault(
                        item_id,
                        {
                            "units": row["units"],
                            "queue_id": row["queue_id"],
                            "assigned_at": row["assigned_at"],
                            "held_at": datetime.now(UTC).isoformat(),
                        },
                    )
                return None if holds == doc["holds"] else {**doc, "holds": holds}

            if await update(self._work, agent_id, layout.AGENTS_PARTITION, reconcile):
                log.warning("agent %s: held capacity recomputed from its items", agent_id)
                corrected += 1
        return corrected

    async def queue_agents(self, queue_id: str) -> Sequence[AgentState]:
        # Only what an AgentState is made of: not the rest of the presence state, consults,
        # system fields.
        rows = await self._work.query(
            "SELECT c.data, c.presence, c.holds, c.last_assigned_at, c.released_at, "
            "{'since': c.presence_state.since} AS presence_state "
            "FROM c WHERE c.pk = @pk AND c.type = 'agent' "
            "AND ARRAY_CONTAINS(c.queue_ids, @queue) ORDER BY c.id",
            {"@pk": layout.AGENTS_PARTITION, "@queue": queue_id},
            partition_key=layout.AGENTS_PARTITION,
        )
        return [_agent_state(row) for row in rows]

    async def agent_state(self, agent_id: str) -> AgentState | None:
        doc = await read_or_none(self._work, agent_id, layout.AGENTS_PARTITION)
        return None if doc is None else _agent_state(doc)

    async def set_presence(self, agent_id: str, presence: Presence) -> None:
        await self._work.patch(
            agent_id,
            layout.AGENTS_PARTITION,
            [{"op": "set", "path": "/presence", "value": str(presence)}],
        )

    async def change_presence(self, agent_id: str, change: PresenceUpdate) -> PresenceChange | None:
        """One document holds the agent's presence state, routing's presence and its holds:
        one replace under its ETag (412: read again, apply the rule to fresh state)."""
        while True:
            doc = await read_or_none(self._work, agent_id, layout.AGENTS_PARTITION)
            if doc is None:
                return None
            live = _agent_state(doc)
            raw = doc.get("presence_state")
            state = None if raw is None else PresenceState.model_validate(raw)
            new = change(state, live)
            if new is None:
                return PresenceChange(before=live.presence, after=live.presence, state=state)
            changed = {
                **stored_fields(doc),
                "presence_state": model_json(new),
                "presence": str(new.presence),
            }
            try:
                await self._work.replace(changed, etag=doc["_etag"], previous=doc)
            except exceptions.CosmosAccessConditionFailedError:
                continue
            return PresenceChange(before=live.presence, after=new.presence, state=new)

    async def list_agent_states(self, *, after: str | None, limit: int) -> Sequence[AgentState]:
        rows = await self._work.query(
            "SELECT TOP @limit * FROM c WHERE c.pk = @pk AND c.type = 'agent' "
            "AND c.id > @after ORDER BY c.id",
            {"@pk": layout.AGENTS_PARTITION, "@after": after or "", "@limit": limit},
            partition_key=layout.AGENTS_PARTITION,
        )
        return [_agent_state(row) for row in rows]

    async def put_presence_span(self, day: date, span: PresenceSpan) -> None:
        key = layout.presence_spans_key(day)
        await self._lookups.upsert(document(span.id, key, "presence-span", span))

    async def presence_spans(self, day: date) -> Sequence[PresenceSpan]:
        key = layout.presence_spans_key(day)
        rows = await self._lookups.query(
            "SELECT * FROM c WHERE c.pk = @pk", {"@pk": key}, partition_key=key
        )
        return sorted((load_record(PresenceSpan, row) for row in rows), key=lambda span: span.id)


def _agent_state(doc: Doc) -> AgentState:
    agent = load_record(Agent, doc)
    # The latest assignment is the latest hold's, or the one kept when work was released: a
    # hold released by compensation takes its time with it.
    kept = [doc.get("last_assigned_at")] + [h["assigned_at"] for h in doc["holds"].values()]
    used = held_units(doc["holds"])
    released = doc.get("released_at")
    since = (doc.get("presence_state") or {}).get("since")
    return AgentState(
        presence_since=datetime.fromisoformat(since) if since else None,
        agent=agent,
        presence=Presence(doc["presence"]) if doc["presence"] else agent.default_presence,
        used_capacity=used,
        last_assigned_at=max((datetime.fromisoformat(t) for t in kept if t), default=None),
        idle_since=idle_since(used, datetime.fromisoformat(released) if released else None),
    )
