"""What an agent does with its work: see it, read and write its conversations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from shared.domain.models import (
    AGENT_WORKING,
    Conversation,
    DeliveryStatus,
    Direction,
    Message,
    Model,
    Presence,
    SenderKind,
    WorkItem,
)
from shared.errors import NotFound
from shared.ports import Clock, Store, WorkQueue
from shared.services.queues import OUTBOUND, OutboundRequest
from shared.services.routing import RoutingService


class WorkView(Model):
    item: WorkItem
    conversation: Conversation


class AgentWorkService:
    def __init__(
        self, store: Store, queue: WorkQueue, routing: RoutingService, clock: Clock
    ) -> None:
        self._store = store
        self._queue = queue
        self._routing = routing
        self._clock = clock

    async def my_work(self, agent_id: str) -> list[WorkView]:
        views = []
        for item in await self._store.agent_items(agent_id):
            conversation = await self._store.get_conversation(item.conversation_id)
            if conversation is not None:
                views.append(WorkView(item=item, conversation=conversation))
        return views

    async def set_presence(self, agent_id: str, presence: Presence) -> None:
        """A presence change may make the agent eligible: its queues are routed at once."""
        agent = await self._store.get_agent(agent_id)
        if agent is None:
            raise NotFound(f"agent {agent_id} is not configured")
        await self._store.set_presence(agent_id, presence)
        await self._routing.request_routing(agent.queue_ids)

    async def _held_conversation(self, agent_id: str, conversation_id: str) -> Conversation:
        """The conversation, if this agent holds its item; otherwise, as if it did not exist
        (an agent sees only its own work, and learns nothing of others')."""
        item = await self._store.open_work_item(conversation_id)
        conversation = await self._store.get_conversation(conversation_id)
        if (
            item is None
            or conversation is None
            or item.agent_id != agent_id
            or item.status not in AGENT_WORKING
        ):
            raise NotFound(f"conversation {conversation_id} is not in your work")
        return conversation

    async def messages(self, agent_id: str, conversation_id: str) -> Sequence[Message]:
        await self._held_conversation(agent_id, conversation_id)
        return await self._store.list_messages(conversation_id, include_internal=True)

    async def post_message(
        self, agent_id: str, conversation_id: str, text: str, *, internal: bool
    ) -> Message:
        """Store the agent's message; a customer-visible one is then sent, in order, through
        the `outbound` queue. An internal note is never sent (invariant 5)."""
        await self._held_conversation(agent_id, conversation_id)
        stored = await self._store.append_message(
            Message(
                id=uuid.uuid4().hex,
                conversation_id=conversation_id,
                direction=Direction.OUTBOUND,
                sender=SenderKind.AGENT,
                agent_id=agent_id,
                internal=internal,
                text=text,
                status=None if internal else DeliveryStatus.QUEUED,
                created_at=self._clock.now(),
            )
        )
        if stored is None:  # only messages with a provider id can be duplicates
            raise RuntimeError("a new agent message was taken for a duplicate")
        if not internal:
            await self._queue.send(
                OUTBOUND,
                OutboundRequest(message_id=stored.id).model_dump_json(),
                session_id=conversation_id,
                message_id=f"outbound:{stored.id}",
            )
        return stored
