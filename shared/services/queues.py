"""The work queues and the bodies sent on them: the one place their names are spelled."""

from __future__ import annotations

from shared.domain.models import Model

INBOUND = "inbound"
ROUTE = "route"
OUTBOUND = "outbound"
DELIVERY = "delivery"
BULK = "bulk"


class RouteRequest(Model):
    """Route the waiting backlog of one queue (session: the queue id, one router at a time)."""

    queue_id: str


class OutboundRequest(Model):
    """Send one stored customer-visible message (session: its conversation, kept in order)."""

    message_id: str


class BulkRequest(Model):
    """Work through one outbound job's pending recipients (session: the job id)."""

    job_id: str
