"""Auto-close: work whose customer has been silent for the workstream's
`auto_close_after_seconds` is closed, releasing its agent's capacity and serving the queue.

Event-driven rather than a scan: each customer message (and a chat's start) schedules one
check on the `inactivity` queue for when the silence would be long enough. The check does
nothing if the customer wrote since (that message scheduled its own), and waits longer if the
threshold grew meanwhile. No sweep has to read every open conversation.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Protocol

from shared.bus_messages import INACTIVITY, InactivityCheck
from shared.domain.conversations import Conversation, SenderKind
from shared.domain.routing_config import Workstream
from shared.domain.work import WorkItemStatus
from shared.ports import Clock, ConversationStore, MessageBus, RoutingConfigStore, WorkItemStore
from shared.services.lifecycle import close_with_item
from shared.services.notices import CustomerNotices
from shared.services.routing import RoutingService


class InactivityPorts(RoutingConfigStore, ConversationStore, WorkItemStore, Protocol):
    """The store ports this service needs."""


log = logging.getLogger(__name__)

# An agent wrapping up is done with the customer already; closed work is closed.
_LEFT_ALONE = (WorkItemStatus.WRAP_UP, WorkItemStatus.CLOSED)


class InactivityService:
    def __init__(
        self,
        store: InactivityPorts,
        bus: MessageBus,
        routing: RoutingService,
        clock: Clock,
        *,
        notices: CustomerNotices,
    ) -> None:
        self._store = store
        self._bus = bus
        self._routing = routing
        self._notices = notices
        self._clock = clock

    async def watch(
        self,
        conversation: Conversation,
        workstream: Workstream,
        *,
        after_sequence: int,
        since: datetime,
    ) -> None:
        """The customer spoke (message `after_sequence`, at `since`; 0 and the opening time
        for a chat just started): check the silence when it would be long enough."""
        if workstream.auto_close_after_seconds is None:
            return
        await self._schedule(
            InactivityCheck(
                conversation_id=conversation.id,
                after_sequence=after_sequence,
                silent_since=since,
            ),
            since + timedelta(seconds=workstream.auto_close_after_seconds),
        )

    async def _schedule(self, check: InactivityCheck, due: datetime) -> None:
        await self._bus.send(
            INACTIVITY,
            check.model_dump_json(),
            session_id=check.conversation_id,
            # Per message and due time: a retried ingest schedules one check, a longer
            # threshold a new one.
            message_id=f"inactivity:{check.conversation_id}:{check.after_sequence}:"
            f"{due.timestamp():.0f}",
            not_before=due,
        )

    async def check(self, check: InactivityCheck) -> None:
        """The `inactivity` trigger. Idempotent: closed work is not closed again."""
        item = await self._store.open_work_item(check.conversation_id)
        if item is None or item.status in _LEFT_ALONE:
            return
        workstream = await self._store.get_workstream(item.workstream_id)
        if workstream is None or workstream.auto_close_after_seconds is None:
            return  # auto-close was turned off meanwhile
        later = await self._store.list_messages(
            check.conversation_id, after_sequence=check.after_sequence, include_internal=False
        )
        if any(m.sender == SenderKind.CUSTOMER for m in later):
            return  # the customer wrote since: that message's own check decides
        silence = timedelta(seconds=workstream.auto_close_after_seconds)
        due = check.silent_since + silence
        if self._clock.now() < due:
            await self._schedule(check, due)  # the threshold grew since this was scheduled
            return
        if workstream.auto_close_message:
            await self._notices.send(
                check.conversation_id, workstream.auto_close_message, key=f"auto-close:{item.id}"
            )
        closed = await self._store.close_work_item(item.id, self._clock.now())
        if closed is None:
            return
        log.info("item %s closed after %s of customer silence", closed.id, silence)
        await close_with_item(self._store, closed, auto_closed=True)
        await self._routing.record_decision(
            closed, reason=f"closed: the customer was silent for {silence}"
        )
        queue_ids = {closed.queue_id}
        if closed.agent_id is not None:
            agent = await self._store.get_agent(closed.agent_id)
            queue_ids.update(agent.queue_ids if agent else ())
        await self._routing.request_routing(sorted(queue_ids))
