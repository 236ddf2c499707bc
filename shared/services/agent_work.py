"""What an agent does with its work: see it, read and write its conversations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from pydantic import Field

from shared import telemetry
from shared.bus_messages import OUTBOUND, OutboundRequest
from shared.domain.base import Model
from shared.domain.channels import ChannelKind
from shared.domain.conversations import (
    Conversation,
    ConversationForAgents,
    DeliveryStatus,
    Direction,
    MediaRef,
    Message,
    SenderKind,
    TypingParty,
)
from shared.domain.customers import Customer
from shared.domain.message_ids import new_message_id
from shared.domain.presence import CustomPresence, Presence, PresenceChange, PresenceState
from shared.domain.routing_config import Locale, SignOutPolicy
from shared.domain.work import AGENT_WORKING, WorkItem, WorkItemStatus
from shared.errors import Conflict, Forbidden, NotFound, UnprocessableEntity
from shared.ports import (
    Clock,
    CollaborationStore,
    ConversationStore,
    CustomerStore,
    MessageBus,
    ReadMarkStore,
    RoutingConfigStore,
    WorkItemStore,
)
from shared.services.presence import PresenceService
from shared.services.routing import RoutingService


class InvolvementPorts(ConversationStore, WorkItemStore, Protocol):
    """What finding an agent's part in a conversation reads."""


class AgentWorkPorts(
    RoutingConfigStore,
    CustomerStore,
    ConversationStore,
    WorkItemStore,
    CollaborationStore,
    ReadMarkStore,
    Protocol,
):
    """The store ports this service needs."""


class WorkRole(StrEnum):
    PRIMARY = "primary"
    CONSULTANT = "consultant"
    PAST = "past"
    """The agent held the conversation's last item, now closed: it reads the history."""


class WorkView(Model):
    """An agent's work item and its conversation, as agents see them (no supervisor-only
    figures: the conversation's type leaves them out of what is sent)."""

    item: WorkItem
    conversation: ConversationForAgents
    role: WorkRole = WorkRole.PRIMARY
    timer_started_at: datetime | None = Field(
        default=None,
        description="since the conversation was opened (a reopened one restarts), or, in "
        "wrap-up, since wrap-up began",
    )
    elapsed_seconds: int | None = Field(default=None, description="on the timer, when read")
    customer_last_read_at: datetime | None = Field(
        default=None, description="chat: when the customer last had the conversation in view"
    )


class CustomerCard(Model):
    """Who the customer of a conversation is, as the agent's desk shows it beside the
    conversation: the identified record, or the records its address matched to choose from,
    and what the customer told the widget."""

    conversation_id: str
    channel: ChannelKind
    customer_address: str
    customer: Customer | None = Field(description="the identified record; None if unidentified")
    candidates: tuple[Customer, ...] = Field(
        description="records the address matched when it matched several: the agent picks one"
    )
    pre_chat: dict[str, str]
    context: dict[str, bool | float | str]
    locale: Locale | None = None


class PresenceView(Model):
    """The agent's presence and what it may choose from."""

    presence: Presence
    state: PresenceState | None
    custom_presences: tuple[CustomPresence, ...] = ()


class Involvement(Model):
    """How an agent stands with a conversation: what it may do there."""

    conversation: Conversation
    item: WorkItem
    role: WorkRole


async def involvement(store: InvolvementPorts, agent_id: str, conversation_id: str) -> Involvement:
    """The agent's part in the conversation; an agent with none learns nothing of it (404,
    as if it did not exist: invariant 7)."""
    conversation = await store.get_conversation(conversation_id)
    item = None if conversation is None else await store.last_work_item(conversation_id)
    if conversation is not None and item is not None:
        if item.agent_id == agent_id and item.status in AGENT_WORKING:
            return Involvement(conversation=conversation, item=item, role=WorkRole.PRIMARY)
        if agent_id in item.consultants and item.status in AGENT_WORKING:
            return Involvement(conversation=conversation, item=item, role=WorkRole.CONSULTANT)
        if item.agent_id == agent_id and item.status == WorkItemStatus.CLOSED:
            return Involvement(conversation=conversation, item=item, role=WorkRole.PAST)
    raise NotFound(f"conversation {conversation_id} is not in your work")


def timer_start(item: WorkItem) -> datetime:
    """Wrap-up counts from when it began; otherwise from the item's arrival, which is when
    the conversation was opened, or reopened (a reopen makes a new item)."""
    if item.status == WorkItemStatus.WRAP_UP and item.wrap_up_at is not None:
        return item.wrap_up_at
    return item.enqueued_at


class ReplyMedia(Protocol):
    """Turns the uploads a reply names into its media, or refuses the reply (422); and a
    stored file reference into a URL to fetch it by now."""

    async def media_for_reply(
        self, conversation: Conversation, attachment_ids: Sequence[str]
    ) -> tuple[MediaRef, ...]: ...

    async def customer_url(self, media: MediaRef) -> str: ...


class AgentWorkService:
    def __init__(
        self,
        store: AgentWorkPorts,
        bus: MessageBus,
        routing: RoutingService,
        clock: Clock,
        presence: PresenceService,
        *,
        reply_media: ReplyMedia | None = None,
    ) -> None:
        self._reply_media = reply_media
        self._store = store
        self._bus = bus
        self._routing = routing
        self._clock = clock
        self._presence = presence

    async def my_work(self, agent_id: str) -> list[WorkView]:
        """Offered, active and wrap-up items, then the consults, each with its timer."""
        now = self._clock.now()
        held = [(item, WorkRole.PRIMARY) for item in await self._store.agent_items(agent_id)]
        consulted = await self._store.consulted_items(agent_id)
        work = held + [(item, WorkRole.CONSULTANT) for item in consulted]
        conversations = {
            conversation.id: conversation
            for conversation in await self._store.get_conversations(
                [item.conversation_id for item, _ in work]
            )
        }
        views = []
        for item, role in work:
            conversation = conversations.get(item.conversation_id)
            if conversation is not None:
                started = timer_start(item)
                views.append(
                    WorkView(
                        item=item,
                        conversation=conversation,
                        role=role,
                        timer_started_at=started,
                        elapsed_seconds=max(0, int((now - started).total_seconds())),
                        customer_last_read_at=await self._store.customer_read_at(conversation.id),
                    )
                )
        return views

    # --- presence -------------------------------------------------------------------

    async def _after(self, agent_id: str, change: PresenceChange) -> PresenceChange:
        """A presence change may make the agent eligible: its queues are routed at once. One
        that makes it ineligible (gone offline, say) takes back its unanswered offers at once:
        each waits again at the head of its queue for another agent."""
        if change.changed:
            await self._take_back_offers(agent_id, change.after)
            agent = await self._store.get_agent(agent_id)
            if agent is not None:
                await self._routing.request_routing(agent.queue_ids)
        return change

    async def presence(self, agent_id: str) -> PresenceView:
        current = await self._presence.state(agent_id)
        settings = await self._presence.settings()
        return PresenceView(
            presence=current.after, state=current.state, custom_presences=settings.custom
        )

    async def set_presence(
        self, agent_id: str, presence: Presence | None, custom_id: str | None = None
    ) -> PresenceChange:
        return await self._after(
            agent_id, await self._presence.choose(agent_id, presence, custom_id)
        )

    async def sign_in(self, agent_id: str) -> PresenceChange:
        return await self._after(agent_id, await self._presence.sign_in(agent_id))

    async def sign_out(self, agent_id: str) -> PresenceChange:
        change = await self._after(agent_id, await self._presence.sign_out(agent_id))
        await self._follow_sign_out_policy(agent_id)
        return change

    async def _take_back_offers(self, agent_id: str, presence: Presence) -> None:
        for item in await self._store.agent_items(agent_id):
            if item.status != WorkItemStatus.OFFERED:
                continue
            workstream = await self._store.get_workstream(item.workstream_id)
            if workstream is None or presence not in workstream.allowed_presences:
                await self._routing.return_offer(item, agent_id, why=f"went {presence}")

    async def _follow_sign_out_policy(self, agent_id: str) -> None:
        """The agent's active conversations follow their workstream's sign-out policy: kept
        with the agent, or returned to their queue; either way the decision is recorded and
        supervisors see them flagged (SupervisorService)."""
        for item in await self._store.agent_items(agent_id):
            if item.status != WorkItemStatus.ACTIVE:
                continue
            workstream = await self._store.get_workstream(item.workstream_id)
            if workstream is None or workstream.sign_out_policy == SignOutPolicy.KEEP_WITH_AGENT:
                await self._routing.record_decision(
                    item, reason=f"kept with agent {agent_id}, who signed out"
                )
                continue
            now = self._clock.now()
            moved = await self._store.transfer_to_queue(item.id, agent_id, item.queue_id, now)
            if moved is None:
                continue  # closed or handed on meanwhile
            await self._routing.follow_capacity(agent_id)
            await self._routing.record_decision(
                moved, reason=f"agent {agent_id} signed out: back to its place in the queue"
            )
            await self._routing.request_routing([moved.queue_id], item_id=moved.id)

    async def heartbeat(self, agent_id: str) -> PresenceChange:
        return await self._after(agent_id, await self._presence.heartbeat(agent_id))

    async def refresh_presence(self) -> int:
        """The presence-refresh timer: returns how many agents' presence changed."""
        changed = 0
        async for agent_id, change in self._presence.refresh_all():
            if change.changed:
                changed += 1
                await self._after(agent_id, change)
        return changed

    # --- conversations ------------------------------------------------------------------------

    async def messages(self, agent_id: str, conversation_id: str) -> Sequence[Message]:
        """The primary agent, a consultant, and the agent who closed it (history) read it."""
        await involvement(self._store, agent_id, conversation_id)
        messages = await self._store.list_messages(conversation_id, include_internal=True)
        if self._reply_media is None:
            return messages
        # An agent's file is stored as a reference: shown with a URL signed for this read.
        return [await self._with_fetchable_media(message) for message in messages]

    async def _with_fetchable_media(self, message: Message) -> Message:
        if self._reply_media is None or not message.media:
            return message
        media = [
            m.model_copy(update={"url": await self._reply_media.customer_url(m)})
            for m in message.media
        ]
        return message.model_copy(update={"media": tuple(media)})

    async def customer_card(self, agent_id: str, conversation_id: str) -> CustomerCard:
        """Whoever works on the conversation (primary, consultant, past) reads the card, and
        so does the agent it is offered to: who is asking weighs on accepting."""
        conversation = await self._store.get_conversation(conversation_id)
        item = None if conversation is None else await self._store.last_work_item(conversation_id)
        if (
            conversation is not None
            and item is not None
            and item.status == WorkItemStatus.OFFERED
            and item.agent_id == agent_id
        ):
            return await self._card(conversation)
        part = await involvement(self._store, agent_id, conversation_id)
        return await self._card(part.conversation)

    async def _card(self, conversation: Conversation) -> CustomerCard:
        customer = None
        if conversation.customer_id is not None:
            customer = await self._store.get_customer(conversation.customer_id)
        candidates = [await self._store.get_customer(c) for c in conversation.customer_candidates]
        return CustomerCard(
            conversation_id=conversation.id,
            channel=conversation.channel,
            customer_address=conversation.customer_address,
            customer=customer,
            candidates=tuple(c for c in candidates if c is not None),
            pre_chat=conversation.pre_chat,
            context=conversation.context,
            locale=conversation.locale,
        )

    async def identify_customer(
        self, agent_id: str, conversation_id: str, customer_id: str
    ) -> CustomerCard:
        """The primary agent says which of the candidate records the customer is; the
        conversation then counts in that customer's history. Anyone else is refused, and so is
        a record that is not a candidate, changing nothing."""
        part = await involvement(self._store, agent_id, conversation_id)
        if part.role is WorkRole.CONSULTANT:
            raise Forbidden("only the primary agent identifies the customer (you are consulting)")
        if part.role is WorkRole.PAST:
            raise Conflict("the conversation is closed: reopen it to identify the customer")
        if customer_id not in part.conversation.customer_candidates:
            raise Conflict(
                f"customer {customer_id} is not among this conversation's candidates"
                if part.conversation.customer_candidates
                else "the conversation has no candidates to choose from"
            )
        identified = await self._store.identify_customer(conversation_id, customer_id)
        if identified is None:
            raise NotFound(f"conversation {conversation_id} is not in your work")
        return await self._card(identified)

    async def post_message(
        self,
        agent_id: str,
        conversation_id: str,
        text: str,
        *,
        internal: bool,
        attachment_ids: Sequence[str] = (),
    ) -> Message:
        """Store the agent's message; a customer-visible one is sent, in order, through the
        `outbound` queue. An internal note is never sent (invariant 5). A consultant writes
        internal notes only; a closed conversation is reopened before it is written. Files
        (`attachment_ids`, uploaded to the conversation first) go with a reply on channels
        that carry them; otherwise the reply is refused (422), nothing stored or sent."""
        part = await involvement(self._store, agent_id, conversation_id)
        if part.role is WorkRole.CONSULTANT and not internal:
            raise Forbidden("a consultant writes internal notes only")
        if part.role is WorkRole.PAST:
            raise Conflict("the conversation is closed: reopen it to write")
        media: tuple[MediaRef, ...] = ()
        if attachment_ids:
            if internal:
                raise UnprocessableEntity("an internal note carries no files: send a reply")
            if self._reply_media is None:
                raise UnprocessableEntity("this deployment keeps no files: send the reply alone")
            media = await self._reply_media.media_for_reply(part.conversation, attachment_ids)
        # The reply continues the trace of the customer message that made the work (linked to
        # this request's own), and its send and delivery reports continue it in turn.
        with telemetry.continuing("conversation.reply", part.item.trace_context) as span:
            telemetry.identify(
                span,
                conversation_id=conversation_id,
                channel_id=part.conversation.channel_id,
                work_item_id=part.item.id,
                queue_id=part.item.queue_id,
            )
            stored = await self._write(
                agent_id, part.conversation, text, internal=internal, media=media
            )
            telemetry.identify(span, message_id=stored.id)
        return stored

    async def _write(
        self,
        agent_id: str,
        conversation: ConversationForAgents,
        text: str,
        *,
        internal: bool,
        media: tuple[MediaRef, ...],
    ) -> Message:
        """The message stored and, customer-visible, put on `outbound` first."""
        conversation_id = conversation.id
        message = Message(
            id=new_message_id(conversation_id),
            conversation_id=conversation_id,
            direction=Direction.OUTBOUND,
            sender=SenderKind.AGENT,
            agent_id=agent_id,
            internal=internal,
            text=text,
            media=media,
            status=None if internal else DeliveryStatus.QUEUED,
            created_at=self._clock.now(),
            trace_context=None if internal else telemetry.current_traceparent(),
        )
        if not internal:
            # Enqueued first, carrying the message: should this process die before storing it,
            # the outbound trigger stores it. Stored first, it could die before the enqueue and
            # leave the reply stored, shown as queued, and never sent.
            await self._bus.send(
                OUTBOUND,
                OutboundRequest(message_id=message.id, message=message).model_dump_json(),
                session_id=conversation_id,
                message_id=f"outbound:{message.id}",
            )
        # The outbound trigger may have stored it first: then it is that one.
        stored = await self._store.append_message(message) or await self._store.get_message(
            message.id
        )
        if stored is None:
            raise RuntimeError(f"agent message {message.id} was neither stored nor found")
        if not internal and conversation.channel == ChannelKind.CHAT:
            # Sent: the visitor no longer sees the agent typing (SMS shows no typing at all).
            await self._store.set_typing(conversation_id, TypingParty.AGENT, self._clock.now())
        return stored
