"""What an agent does with routed work: accept or decline an offer (push mode), list and pick
waiting work (pick mode), close work (capacity freed serves the backlog at once); and the
supervisor's view of why a conversation's work went where it went."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from shared import telemetry
from shared.domain.conversations import ConversationStatus
from shared.domain.routing import is_open
from shared.domain.routing_config import AssignmentMethod, AutomatedEvent, WorkDistribution
from shared.domain.work import (
    AGENT_WORKING,
    CandidateVerdict,
    RoutingDecision,
    WorkItem,
    WorkItemStatus,
)
from shared.errors import Conflict, Forbidden, NotFound, existing
from shared.ports import (
    AgentStateStore,
    Clock,
    ConversationStore,
    RoutingConfigStore,
    RoutingLogStore,
    WorkItemStore,
)
from shared.services.agent_work import WorkView
from shared.services.lifecycle import close_with_item
from shared.services.notices import CustomerNotices
from shared.services.outcomes import OutcomeService
from shared.services.routing import RoutingService


class AssignmentPorts(
    RoutingConfigStore, ConversationStore, WorkItemStore, AgentStateStore, RoutingLogStore, Protocol
):
    """The store ports this service needs."""


class AssignmentService:
    def __init__(
        self,
        store: AssignmentPorts,
        routing: RoutingService,
        clock: Clock,
        *,
        notices: CustomerNotices,
        surveys: OutcomeService | None = None,
    ) -> None:
        self._store = store
        self._surveys = surveys
        self._routing = routing
        self._notices = notices
        self._clock = clock

    async def _view(self, item: WorkItem) -> WorkView:
        conversation = existing(
            await self._store.get_conversation(item.conversation_id),
            f"conversation {item.conversation_id}",
        )
        return WorkView(item=item, conversation=conversation)

    async def _offer(self, agent_id: str, conversation_id: str) -> WorkItem:
        """The conversation's item, if offered to this agent; otherwise as if it did not
        exist (an agent learns nothing of others' work)."""
        item = await self._store.open_work_item(conversation_id)
        if item is None or item.status != WorkItemStatus.OFFERED or item.agent_id != agent_id:
            raise NotFound(f"conversation {conversation_id} is not offered to you")
        return item

    async def accept(self, agent_id: str, conversation_id: str) -> WorkView:
        item = await self._offer(agent_id, conversation_id)
        # In the trace of the customer message that made the work, linked to this request's.
        with telemetry.continuing("work.accept", item.trace_context) as span:
            telemetry.identify(
                span, conversation_id=conversation_id, work_item_id=item.id, queue_id=item.queue_id
            )
            accepted = await self._store.accept_offer(item.id, agent_id, self._clock.now())
            if accepted is None:
                raise Conflict("the offer lapsed or was withdrawn before you accepted it")
            await self._notices.announce(accepted, AutomatedEvent.AGENT_ASSIGNED, agent_id=agent_id)
        return await self._view(accepted)

    async def decline(self, agent_id: str, conversation_id: str) -> None:
        """The item goes back to the head of its queue and is offered to someone else."""
        item = await self._offer(agent_id, conversation_id)
        if await self._routing.return_offer(item, agent_id, why="declined") is None:
            raise Conflict("the offer lapsed or was withdrawn before you declined it")

    async def _member_queue(self, agent_id: str, queue_id: str) -> None:
        agent = await self._store.get_agent(agent_id)
        if agent is None or queue_id not in agent.queue_ids:
            raise NotFound(f"you are not a member of queue {queue_id}")

    async def waiting_work(self, agent_id: str, queue_id: str, *, limit: int) -> list[WorkView]:
        """A member's view of the queue's waiting work, by priority then age."""
        await self._member_queue(agent_id, queue_id)
        items = await self._store.waiting_items(queue_id, limit=limit)
        return [await self._view(item) for item in items]

    async def pick(self, agent_id: str, conversation_id: str) -> WorkView:
        """Take a waiting pick-mode item: atomically, within capacity (invariant 1), and only
        in a presence the workstream allows (invariant 8)."""
        item = await self._store.open_work_item(conversation_id)
        if item is None:
            raise NotFound(f"conversation {conversation_id} has no work to pick")
        await self._member_queue(agent_id, item.queue_id)
        workstream = await self._store.get_workstream(item.workstream_id)
        if workstream is None or workstream.distribution != WorkDistribution.PICK:
            raise Conflict("this work is pushed to agents, not picked")
        state = await self._store.agent_state(agent_id)
        if state is None or state.presence not in workstream.allowed_presences:
            raise Conflict("your presence does not allow taking work of this workstream")
        queue = await self._store.get_queue(item.queue_id)
        now = self._clock.now()
        hours = None if queue is None else queue.operating_hours
        if hours is not None and not is_open(hours, now):
            raise Conflict(f"queue {item.queue_id} is closed now: its work waits for opening")
        picked = await self._store.assign(
            item.id,
            agent_id,
            now,
            round_robin=queue is not None
            and queue.assignment_method == AssignmentMethod.ROUND_ROBIN,
        )
        if picked is None:
            raise Conflict("the work was taken by someone else, or is over your capacity")
        await self._routing.follow_capacity(agent_id)
        await self._routing.record_decision(
            picked,
            reason=f"picked by agent {agent_id}",
            method=None if queue is None else queue.assignment_method,
            candidates=(CandidateVerdict(agent_id=agent_id),),
            chosen_agent_id=agent_id,
            mode=WorkDistribution.PICK,
        )
        await self._notices.announce(
            picked, AutomatedEvent.AGENT_ASSIGNED, workstream=workstream, agent_id=agent_id
        )
        return await self._view(picked)

    async def close(self, agent_id: str, conversation_id: str) -> None:
        """The agent is done with the work: its capacity serves its queues' backlog now. A
        retry after a close that died between closing the work and its conversation finishes
        it (the conversation closes) instead of answering 404."""
        item = await self._store.open_work_item(conversation_id)
        if item is None and await self._finish_interrupted_close(agent_id, conversation_id):
            return
        if item is not None and agent_id in item.consultants:
            raise Forbidden("only the primary agent may close the conversation")
        if item is None or item.agent_id != agent_id or item.status not in AGENT_WORKING:
            raise NotFound(f"conversation {conversation_id} is not in your work")
        # Only while still this agent's: a transfer that won the race keeps the work open.
        closed = await self._store.close_work_item(item.id, self._clock.now(), agent_id=agent_id)
        if closed is None:
            raise Conflict("the work was closed or transferred already")
        await close_with_item(self._store, closed)
        if item.status == WorkItemStatus.ACTIVE:  # closed without ending first
            await self._notices.announce(closed, AutomatedEvent.ENDED)
        await self._survey(conversation_id)
        await self._routing.follow_capacity(agent_id)
        agent = await self._store.get_agent(agent_id)
        queue_ids = {item.queue_id, *(agent.queue_ids if agent else ())}
        await self._routing.request_routing(sorted(queue_ids))

    async def _finish_interrupted_close(self, agent_id: str, conversation_id: str) -> bool:
        """True when the agent's last work on the conversation is closed but the conversation
        is still open (the close died in between): the conversation closes now."""
        last = await self._store.last_work_item(conversation_id)
        if last is None or last.agent_id != agent_id or last.status != WorkItemStatus.CLOSED:
            return False
        conversation = await self._store.get_conversation(conversation_id)
        if conversation is None or conversation.status != ConversationStatus.OPEN:
            return False
        await close_with_item(self._store, last)
        await self._survey(conversation_id)
        return True

    async def _survey(self, conversation_id: str) -> None:
        """An SMS conversation the agent closed gets its workstream's survey question."""
        if self._surveys is not None:
            await self._surveys.conversation_closed(conversation_id)

    async def routing_history(self, conversation_id: str) -> Sequence[RoutingDecision]:
        if await self._store.get_conversation(conversation_id) is None:
            raise NotFound(f"conversation {conversation_id} does not exist")
        return await self._store.routing_decisions(conversation_id)
