"""What an agent does with a conversation it holds besides replying: consult a colleague,
transfer the work, end it (wrap-up) and reopen it once closed. Closing is
AssignmentService.close. Only the primary agent transfers or consults (invariant 6); capacity
moves with a transfer atomically (invariants 1 and 2: the store's transfer operations)."""

from __future__ import annotations

from typing import Protocol

from pydantic import Field

from shared.domain.base import Model
from shared.domain.lifecycle import LifecycleState
from shared.domain.presence import Presence
from shared.domain.routing_config import AutomatedEvent, Workstream
from shared.domain.work import CandidateVerdict, WorkItem, WorkItemStatus
from shared.errors import BadRequest, Conflict, Forbidden, NotFound
from shared.ports import (
    AgentStateStore,
    Clock,
    CollaborationStore,
    ConversationStore,
    RoutingConfigStore,
    WorkItemStore,
)
from shared.services.agent_work import (
    Involvement,
    WorkRole,
    WorkView,
    involvement,
    timer_start,
)
from shared.services.lifecycle import reopened_work, require
from shared.services.notices import CustomerNotices
from shared.services.routing import RoutingService


class CollaborationPorts(
    RoutingConfigStore,
    ConversationStore,
    WorkItemStore,
    CollaborationStore,
    AgentStateStore,
    Protocol,
):
    """The store ports this service needs."""


class ConsultCandidate(Model):
    agent_id: str
    display_name: str
    remaining_capacity: int


class TransferTarget(Model):
    """Where the work goes: a queue (routed again) or an agent (who becomes primary)."""

    queue_id: str | None = Field(default=None, min_length=1)
    agent_id: str | None = Field(default=None, min_length=1)


class TransferQueue(Model):
    id: str
    name: str


class TransferAgent(Model):
    agent_id: str
    display_name: str
    remaining_capacity: int
    queue_ids: tuple[str, ...] = Field(description="the queues it serves, among those listed")


class TransferTargets(Model):
    """What the transfer picker offers, by name: every queue, and the agents of those queues
    who could take the work now (a presence the workstream allows, room for it)."""

    queues: tuple[TransferQueue, ...]
    agents: tuple[TransferAgent, ...]


# Enough for any desk's picker; a deployment with more queues types into the API instead.
MAX_TRANSFER_QUEUES = 200
_QUEUE_PAGE = 100


class CollaborationService:
    def __init__(
        self,
        store: CollaborationPorts,
        routing: RoutingService,
        clock: Clock,
        *,
        notices: CustomerNotices,
    ) -> None:
        self._store = store
        self._routing = routing
        self._notices = notices
        self._clock = clock

    async def _as_primary(self, agent_id: str, conversation_id: str, action: str) -> Involvement:
        part = await involvement(self._store, agent_id, conversation_id)
        if part.role is WorkRole.CONSULTANT:
            raise Forbidden(f"only the primary agent may {action} (you are consulting)")
        if part.role is WorkRole.PAST:
            raise Conflict(f"the conversation is closed: nothing to {action}")
        return part

    def _view(self, part: Involvement, item: WorkItem, role: WorkRole) -> WorkView:
        started = timer_start(item)
        elapsed = int((self._clock.now() - started).total_seconds())
        return WorkView(
            item=item,
            conversation=part.conversation,
            role=role,
            timer_started_at=started,
            elapsed_seconds=max(0, elapsed),
        )

    # --- consult ------------------------------------------------------------------------------

    async def consult_candidates(
        self, agent_id: str, conversation_id: str
    ) -> list[ConsultCandidate]:
        """Agents of the originating queue who are available and have room for one more item;
        the primary agent and those already consulting are not candidates."""
        part = await self._as_primary(agent_id, conversation_id, "consult")
        return await self._candidates(part.item)

    async def _candidates(self, item: WorkItem) -> list[ConsultCandidate]:
        members = await self._store.queue_agents(item.queue_id)
        return [
            ConsultCandidate(
                agent_id=m.agent.id,
                display_name=m.agent.display_name,
                remaining_capacity=m.remaining_capacity,
            )
            for m in members
            if m.presence == Presence.AVAILABLE
            and m.remaining_capacity >= item.capacity_units
            and m.agent.id != item.agent_id
            and m.agent.id not in item.consultants
        ]

    async def consult(self, agent_id: str, conversation_id: str, consultant_id: str) -> WorkView:
        part = await self._as_primary(agent_id, conversation_id, "consult")
        if consultant_id not in {c.agent_id for c in await self._candidates(part.item)}:
            raise Conflict(f"agent {consultant_id} is not available to consult")
        added = await self._store.add_consultant(part.item.id, agent_id, consultant_id)
        if added is None:
            raise Conflict("the work changed before the consult began")
        return self._view(part, added, WorkRole.PRIMARY)

    async def leave_consult(self, agent_id: str, conversation_id: str) -> None:
        """The consultant is done: it leaves the conversation."""
        part = await involvement(self._store, agent_id, conversation_id)
        if part.role is not WorkRole.CONSULTANT:
            raise Conflict("you are not consulting on this conversation")
        if await self._store.remove_consultant(part.item.id, agent_id) is None:
            raise Conflict("you left this consult already")

    # --- transfer -----------------------------------------------------------------------------

    async def transfer(
        self, agent_id: str, conversation_id: str, target: TransferTarget
    ) -> WorkView:
        if (target.queue_id is None) == (target.agent_id is None):
            raise BadRequest("transfer to a queue or to an agent: give exactly one")
        part = await self._as_primary(agent_id, conversation_id, "transfer")
        if part.item.status != WorkItemStatus.ACTIVE:
            raise Conflict(f"only active work is transferred; this is {part.item.status}")
        if target.queue_id is not None:
            moved = await self._to_queue(agent_id, part.item, target.queue_id)
        else:
            assert target.agent_id is not None
            moved = await self._to_agent(agent_id, part.item, target.agent_id)
        await self._released(agent_id)
        return self._view(part, moved, WorkRole.PRIMARY)

    async def transfer_targets(self, agent_id: str, conversation_id: str) -> TransferTargets:
        part = await self._as_primary(agent_id, conversation_id, "transfer")
        queues: list[TransferQueue] = []
        after: str | None = None
        while len(queues) < MAX_TRANSFER_QUEUES:
            page = await self._store.list_queues(after=after, limit=_QUEUE_PAGE)
            queues.extend(TransferQueue(id=q.id, name=q.name) for q in page)
            if len(page) < _QUEUE_PAGE:
                break
            after = page[-1].id
        queues = queues[:MAX_TRANSFER_QUEUES]
        workstream = await self._store.get_workstream(part.item.workstream_id)
        agents: dict[str, TransferAgent] = {}
        for queue in queues:
            for member in await self._store.queue_agents(queue.id):
                if (
                    member.agent.id == agent_id
                    or member.remaining_capacity < part.item.capacity_units
                    or (
                        workstream is not None
                        and member.presence not in workstream.allowed_presences
                    )
                ):
                    continue
                known = agents.get(member.agent.id)
                agents[member.agent.id] = TransferAgent(
                    agent_id=member.agent.id,
                    display_name=member.agent.display_name,
                    remaining_capacity=member.remaining_capacity,
                    queue_ids=(*(known.queue_ids if known else ()), queue.id),
                )
        return TransferTargets(
            queues=tuple(sorted(queues, key=lambda q: q.name.casefold())),
            agents=tuple(sorted(agents.values(), key=lambda a: a.display_name.casefold())),
        )

    async def _released(self, agent_id: str) -> None:
        """The sender's capacity is free: its queues' backlog is served at once."""
        sender = await self._store.get_agent(agent_id)
        await self._routing.follow_capacity(agent_id)
        await self._routing.request_routing(sorted(set(sender.queue_ids if sender else ())))

    async def _to_queue(self, agent_id: str, item: WorkItem, queue_id: str) -> WorkItem:
        if await self._store.get_queue(queue_id) is None:
            raise NotFound(f"no queue {queue_id}")
        moved = await self._store.transfer_to_queue(item.id, agent_id, queue_id, self._clock.now())
        if moved is None:
            raise Conflict("the work changed (closed, ended or transferred) before the transfer")
        await self._routing.record_decision(
            moved, reason=f"transferred by agent {agent_id} to queue {queue_id}"
        )
        await self._routing.request_routing([queue_id], item_id=moved.id)
        return moved

    async def _receiving(self, receiver_id: str, item: WorkItem) -> Workstream | None:
        """The item's workstream, once sure the receiver exists and its presence allows the
        work (invariant 8)."""
        receiver = await self._store.agent_state(receiver_id)
        if receiver is None:
            raise NotFound(f"no agent {receiver_id}")
        workstream = await self._store.get_workstream(item.workstream_id)
        if workstream is not None and receiver.presence not in workstream.allowed_presences:
            raise Conflict(f"agent {receiver_id}'s presence does not allow this work")
        return workstream

    async def _to_agent(
        self, agent_id: str, item: WorkItem, receiver_id: str, *, reason: str | None = None
    ) -> WorkItem:
        workstream = await self._receiving(receiver_id, item)
        moved = await self._store.transfer_to_agent(
            item.id, agent_id, receiver_id, self._clock.now()
        )
        if moved is None:
            raise Conflict(
                f"agent {receiver_id} has no capacity for it, or the work changed meanwhile"
            )
        await self._routing.follow_capacity(receiver_id)
        await self._routing.record_decision(
            moved,
            reason=reason or f"transferred by agent {agent_id} to agent {receiver_id}",
            candidates=(CandidateVerdict(agent_id=receiver_id),),
            chosen_agent_id=receiver_id,
        )
        await self._notices.announce(
            moved, AutomatedEvent.AGENT_ASSIGNED, workstream=workstream, agent_id=receiver_id
        )
        return moved

    # --- end and reopen -----------------------------------------------------------------------

    async def end(self, agent_id: str, conversation_id: str) -> WorkView:
        """The conversation is over for the customer: wrap-up, capacity still held."""
        part = await self._as_primary(agent_id, conversation_id, "end the conversation")
        require(part.conversation, part.item, LifecycleState.WRAP_UP)
        ended = await self._store.wrap_up_work_item(
            part.item.id, self._clock.now(), agent_id=agent_id
        )
        if ended is None:
            raise Conflict("the work changed (closed or transferred) before it ended")
        await self._notices.announce(ended, AutomatedEvent.ENDED)
        await self._routing.follow_capacity(agent_id)
        return self._view(part, ended, WorkRole.PRIMARY)

    async def reopen(self, agent_id: str, conversation_id: str) -> WorkView:
        """A closed conversation comes back to the agent who closed it if that agent may take
        it now (presence and capacity), else it waits in its queue, keeping its priority."""
        part = await involvement(self._store, agent_id, conversation_id)
        require(part.conversation, part.item, LifecycleState.OPEN)
        now = self._clock.now()
        conversation = await self._store.reopen_conversation(conversation_id, now)
        if conversation is None:
            raise Conflict("the conversation was reopened meanwhile, or the customer has a new one")
        item, created = await reopened_work(
            self._store, self._routing, part.item, now, why=f"reopened by agent {agent_id}"
        )
        if not created:
            raise Conflict("the conversation was reopened meanwhile")
        reopened = Involvement(conversation=conversation, item=item, role=WorkRole.PAST)
        if item.agent_id != agent_id or item.status != WorkItemStatus.ACTIVE:
            return self._view(reopened, item, WorkRole.PAST)
        return self._view(reopened, item, WorkRole.PRIMARY)

    # --- a supervisor takes over ----------------------------------------------------

    async def take_over(self, supervisor_id: str, conversation_id: str) -> WorkView:
        """The supervisor becomes the conversation's primary agent: active work is transferred
        from its agent (capacity moves with it, the agent's consultants are dismissed), waiting
        work is assigned. To hold work a supervisor is an agent too: an agent record whose id is
        its token's subject, signed in, with a presence the workstream allows and room for the
        work (invariants 1 and 8 hold for supervisors as for anyone)."""
        conversation = await self._store.get_conversation(conversation_id)
        item = None if conversation is None else await self._store.last_work_item(conversation_id)
        if conversation is None or item is None or item.status == WorkItemStatus.CLOSED:
            raise NotFound(f"conversation {conversation_id} has no open work to take over")
        reason = f"taken over by supervisor {supervisor_id}"
        if item.status == WorkItemStatus.ACTIVE and item.agent_id == supervisor_id:
            raise Conflict("this conversation is yours already")
        if item.status == WorkItemStatus.ACTIVE and item.agent_id is not None:
            taken = await self._to_agent(item.agent_id, item, supervisor_id, reason=reason)
            await self._released(item.agent_id)
        elif item.status == WorkItemStatus.WAITING:
            workstream = await self._receiving(supervisor_id, item)
            assigned = await self._store.assign(item.id, supervisor_id, self._clock.now())
            if assigned is None:
                raise Conflict("you have no capacity for it, or the work changed meanwhile")
            taken = assigned
            await self._routing.follow_capacity(supervisor_id)
            await self._routing.record_decision(
                taken,
                reason=reason,
                candidates=(CandidateVerdict(agent_id=supervisor_id),),
                chosen_agent_id=supervisor_id,
            )
            await self._notices.announce(
                taken, AutomatedEvent.AGENT_ASSIGNED, workstream=workstream, agent_id=supervisor_id
            )
        else:
            raise Conflict(f"only waiting or active work is taken over; this is {item.status}")
        return self._view(
            Involvement(conversation=conversation, item=taken, role=WorkRole.PRIMARY),
            taken,
            WorkRole.PRIMARY,
        )
