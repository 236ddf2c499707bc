"""The backlog of every routing queue, as the metrics a platform team alerts on: how many work
items wait and how long the oldest has waited. Recorded by the routing sweep's timer (every
30 s), so a gauge never lags a queue by more than that."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from shared import telemetry
from shared.ports import Clock, RoutingConfigStore, WorkItemStore
from shared.services.listing import every


class QueueMetricsPorts(RoutingConfigStore, WorkItemStore, Protocol):
    """The store ports this service needs."""


class QueueMetrics:
    def __init__(self, store: QueueMetricsPorts, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def record_backlogs(self) -> int:
        """Record each queue's depth and oldest wait (an empty queue: zero, so a gauge falls
        back when its backlog clears); returns how many queues were read."""
        now = self._clock.now()
        queues = 0
        async for queue in every(self._store.list_queues):
            waiting, oldest = await self._store.queue_backlog(queue.id)
            telemetry.record_backlog(
                queue.id, waiting, timedelta(0) if oldest is None else now - oldest
            )
            queues += 1
        return queues
