"""Route: serve a queue's waiting backlog to the eligible agents, best first."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from shared.domain.models import AgentState, WorkItem, Workstream
from shared.domain.routing import rank_agents
from shared.ports import Clock, Store, WorkQueue
from shared.services.queues import ROUTE, RouteRequest

log = logging.getLogger(__name__)

BATCH = 50


class RoutingService:
    def __init__(self, store: Store, queue: WorkQueue, clock: Clock) -> None:
        self._store = store
        self._queue = queue
        self._clock = clock

    async def request_routing(self, queue_ids: Iterable[str]) -> None:
        """Ask for each queue to be routed, one router per queue (its session)."""
        for queue_id in queue_ids:
            await self._queue.send(
                ROUTE, RouteRequest(queue_id=queue_id).model_dump_json(), session_id=queue_id
            )

    async def sweep(self) -> None:
        """The safety net: every queue with a backlog gets a routing pass."""
        await self.request_routing(await self._store.queues_with_waiting_items())

    async def reconcile_capacity(self) -> None:
        """Heal agents' used capacity left wrong by a crash mid-assignment; capacity it frees
        may serve a backlog, so a sweep follows a correction."""
        corrected = await self._store.reconcile_capacity()
        if corrected:
            log.warning("capacity of %d agents recomputed from their items", corrected)
            await self.sweep()

    async def route_queue(self, queue_id: str) -> list[WorkItem]:
        """Assign waiting items, by priority then age, until none is left or none fits.

        Each assignment is the store's atomic check-and-set, so routers racing on one agent
        cannot push it over capacity; a lost race just moves on to the next candidate.
        """
        queue = await self._store.get_queue(queue_id)
        if queue is None:
            log.warning("route request for unknown queue %s dropped", queue_id)
            return []
        assigned: list[WorkItem] = []
        workstreams: dict[str, Workstream | None] = {}
        while True:
            waiting = await self._store.waiting_items(queue_id, limit=BATCH)
            agents = list(await self._store.queue_agents(queue_id))
            progressed = False
            for item in waiting:
                if item.workstream_id not in workstreams:
                    workstreams[item.workstream_id] = await self._store.get_workstream(
                        item.workstream_id
                    )
                workstream = workstreams[item.workstream_id]
                if workstream is None:
                    continue
                for candidate in rank_agents(agents, item, workstream, queue):
                    won = await self._store.assign(item.id, candidate.agent.id, self._clock.now())
                    if won is None:
                        continue
                    assigned.append(won)
                    progressed = True
                    agents = _after_assignment(agents, candidate, won)
                    log.info("item %s assigned to agent %s", won.id, candidate.agent.id)
                    break
            if not progressed or len(waiting) < BATCH:
                return assigned


def _after_assignment(
    agents: list[AgentState], chosen: AgentState, item: WorkItem
) -> list[AgentState]:
    updated = chosen.model_copy(
        update={
            "used_capacity": chosen.used_capacity + item.capacity_units,
            "last_assigned_at": item.assigned_at,
        }
    )
    return [updated if a.agent.id == chosen.agent.id else a for a in agents]
