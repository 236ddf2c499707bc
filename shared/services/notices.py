"""Notices to the customer: the workstream's automated messages on an event (received, agent
joined, ended...) and the system's or a bot's messages, each sent once per key through
`outbound` in conversation order, like an agent's reply."""

from __future__ import annotations

import uuid
from typing import Protocol
from zoneinfo import ZoneInfo

from shared.bus_messages import OUTBOUND, OutboundRequest
from shared.domain.conversations import DeliveryStatus, Direction, Message, SenderKind
from shared.domain.figures import FigureScope, local_day
from shared.domain.routing_config import (
    AutomatedEvent,
    Workstream,
)
from shared.domain.waiting import UNKNOWN_WAIT, estimate_wait
from shared.domain.work import (
    WorkItem,
)
from shared.ports import (
    Clock,
    ConversationStore,
    FiguresStore,
    MessageBus,
    RoutingConfigStore,
    WorkItemStore,
)


class NoticePorts(RoutingConfigStore, ConversationStore, WorkItemStore, FiguresStore, Protocol):
    """The store ports this service needs."""


class CustomerNotices:
    def __init__(
        self, store: NoticePorts, bus: MessageBus, clock: Clock, *, time_zone: str = "UTC"
    ) -> None:
        self._store = store
        self._bus = bus
        self._clock = clock
        self._zone = ZoneInfo(time_zone)
        """Whose day the figures behind a wait estimate count (the organization's)."""

    async def send(
        self,
        conversation_id: str,
        text: str,
        *,
        key: str,
        sender: SenderKind = SenderKind.SYSTEM,
        bot_id: str | None = None,
    ) -> bool:
        """A system (or bot) message to the customer, sent in order through `outbound` like an
        agent's reply; once per key, however often the caller retries. True if this call
        stored it (False: an earlier call did, and it is only sent on if still queued)."""
        message_id = f"auto-{uuid.uuid5(uuid.NAMESPACE_URL, f'{conversation_id}:{key}').hex}"
        stored = await self._store.append_message(
            Message(
                id=message_id,
                conversation_id=conversation_id,
                direction=Direction.OUTBOUND,
                sender=sender,
                bot_id=bot_id,
                text=text,
                status=DeliveryStatus.QUEUED,
                created_at=self._clock.now(),
            )
        )
        message = stored or await self._store.get_message(message_id)
        if message is not None and message.status == DeliveryStatus.QUEUED:
            await self._bus.send(
                OUTBOUND,
                OutboundRequest(message_id=message.id).model_dump_json(),
                session_id=conversation_id,
                message_id=f"outbound:{message.id}",
            )
        return stored is not None

    async def announce(
        self,
        item: WorkItem,
        event: AutomatedEvent,
        *,
        workstream: Workstream | None = None,
        agent_id: str | None = None,
    ) -> None:
        """Tell the customer of an event on the item, in the workstream's words if it has
        some: once per event (the key is the item's, and the agent's when one was assigned),
        however often the caller retries."""
        workstream = workstream or await self._store.get_workstream(item.workstream_id)
        if workstream is None:
            return
        texts = workstream.automated_messages
        if workstream.automated_messages_by_locale:  # read the conversation only when it matters
            conversation = await self._store.get_conversation(item.conversation_id)
            texts = workstream.automated_messages_for(
                None if conversation is None else conversation.locale
            )
        if getattr(texts, event.value) is None:
            return
        values: dict[str, str | int] = {}
        if event is AutomatedEvent.RECEIVED:
            waiting, _ = await self._store.queue_backlog(item.queue_id)
            values["position"] = position = max(waiting, 1)
            if texts.uses(event, "wait_minutes"):  # the figures are read only when needed
                values["wait_minutes"] = await self._wait_minutes(item.queue_id, position)
        if event is AutomatedEvent.AGENT_ASSIGNED and agent_id is not None:
            agent = await self._store.get_agent(agent_id)
            if agent is None:
                return
            values["agent_name"] = agent.display_name
        text = texts.render(event, **values)
        if text:
            key = f"{item.id}:{event}" + (f":{agent_id}" if agent_id else "")
            await self.send(item.conversation_id, text, key=key)

    async def _wait_minutes(self, queue_id: str, position: int) -> str:
        """The wait estimated from the queue's figures today, as folded by the aggregates
        timer (at most a minute old)."""
        today = local_day(self._clock.now(), self._zone)
        by_queue = {f.key: f for f in await self._store.day_figures(today, FigureScope.QUEUE)}
        figures = by_queue.get(queue_id)
        estimate = (
            None
            if figures is None
            else estimate_wait(
                position=position,
                average_answer_seconds=figures.average_wait_seconds,
                answered=figures.assigned,
            )
        )
        return UNKNOWN_WAIT if estimate is None else str(estimate)
