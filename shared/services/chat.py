"""Chat: a widget's visitor starts a conversation, writes in it, reads it and leaves it.

A chat conversation goes through the same routing as SMS (a work item in the queue the
workstream's rules choose, here from pre-chat answers and context variables). Agent replies
need no provider: the widget reads the conversation from the store, customer-visible messages
only (invariant 5); a conversation token opens its own conversation only (invariant 7).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal, Protocol

from pydantic import Field

from shared.domain.base import Model
from shared.domain.channels import Channel, ChannelKind, ChatWidget, PreChatQuestion
from shared.domain.chat import CustomerMessage, StartChat, plain_text
from shared.domain.conversations import (
    Conversation,
    DeliveryStatus,
    Direction,
    MediaRef,
    Message,
    SenderKind,
    TypingParty,
)
from shared.domain.customers import Customer
from shared.domain.message_ids import new_message_id
from shared.domain.phone import InvalidPhoneNumber, to_e164
from shared.domain.placeholders import fill
from shared.domain.routing import RoutingFacts
from shared.domain.work import WorkItem, WorkItemStatus
from shared.errors import BadRequest, Conflict, Forbidden, NotFound
from shared.ports import (
    ChannelStore,
    ChatTokens,
    Clock,
    ConversationStore,
    CustomerStore,
    RoutingConfigStore,
    WorkItemStore,
)
from shared.services.ingest import IngestService
from shared.services.lifecycle import close_with_item
from shared.services.outbound import MediaLinks
from shared.services.routing import RoutingService
from shared.services.typing import TypingService


class ChatPorts(
    ChannelStore, RoutingConfigStore, CustomerStore, ConversationStore, WorkItemStore, Protocol
):
    """The store ports this service needs."""


log = logging.getLogger(__name__)

CUSTOMER_LEFT = "The customer left the chat."


class ChatStatus(StrEnum):
    WAITING = "waiting"
    """In a queue, or offered to an agent not yet answered."""
    CONNECTED = "connected"
    """An agent has it."""
    ENDED = "ended"
    """The customer left, or the agent ended it: nothing more is written."""


class WidgetView(Model):
    """What a widget needs before a session: its pre-chat form. Public: no secrets here."""

    widget_id: str
    pre_chat: tuple[PreChatQuestion, ...]


class ChatSession(Model):
    conversation_id: str
    token: str
    expires_in: int = Field(description="seconds the token stays valid")


class ChatAttachmentView(Model):
    name: str | None
    content_type: str | None
    size: int | None
    url: str


class ChatMessageView(Model):
    """A message as the customer sees it: no internal ids, notes or delivery details."""

    id: str
    sequence: int
    sender: Literal["customer", "agent", "system", "bot"]
    sender_name: str | None = None
    text: str
    attachments: tuple[ChatAttachmentView, ...] = ()
    created_at: datetime


class ChatUpdate(Model):
    """The conversation as the widget sees it: its status, who serves it, and the messages
    after the cursor. `state` changes whenever status or agent does: a reader passing it back
    is answered at once when it is stale."""

    conversation_id: str
    status: ChatStatus
    agent_name: str | None = None
    state: str
    messages: tuple[ChatMessageView, ...] = ()
    next_after: int = Field(description="pass as `after` to read on from here")
    agent_typing: bool = Field(default=False, description="the agent is typing")


class ChatEvent(Model):
    """One Server-Sent Event: `state` first, then agent_joined, typing, message,
    agent_message, system_message and ended as they happen."""

    event: Literal[
        "state",
        "agent_joined",
        "typing",
        "message",
        "agent_message",
        "system_message",
        "bot_message",
        "ended",
    ]
    id: str | None = Field(default=None, description="the message sequence: a resume cursor")
    data: dict[str, object]


@dataclass(frozen=True)
class ChatLimits:
    """The deployment's bounds on chat (settings CHAT_*)."""

    token_lifetime_seconds: int
    max_text_length: int
    max_attachment_bytes: int
    max_wait_seconds: float
    """The longest a long-poll or an event stream's wait for a message lasts."""
    poll_interval_seconds: float


class ChatService:
    def __init__(
        self,
        store: ChatPorts,
        ingest: IngestService,
        routing: RoutingService,
        tokens: ChatTokens,
        clock: Clock,
        limits: ChatLimits,
        *,
        typing: TypingService,
        media_links: MediaLinks | None = None,
    ) -> None:
        self._media_links = media_links
        self._typing = typing
        self._store = store
        self._ingest = ingest
        self._routing = routing
        self._tokens = tokens
        self._clock = clock
        self._limits = limits

    # --- widget and session ----------------------------------------------------------------

    async def _widget(self, widget_id: str, origin: str | None) -> tuple[Channel, ChatWidget]:
        """The widget's channel and settings, if a page of `origin` may use it (403 if not)."""
        channel = await self._store.find_channel(ChannelKind.CHAT, widget_id)
        if channel is None:
            raise NotFound(f"no chat widget {widget_id!r}")
        widget = channel.chat or ChatWidget()
        if not widget.admits(origin):
            raise Forbidden(f"chat widget {widget_id!r} is not allowed on {origin}")
        return channel, widget

    async def widget(self, widget_id: str, *, origin: str | None = None) -> WidgetView:
        _, widget = await self._widget(widget_id, origin)
        return WidgetView(widget_id=widget_id, pre_chat=widget.pre_chat)

    async def start(self, request: StartChat, *, origin: str | None = None) -> ChatSession:
        channel, widget = await self._widget(request.widget_id, origin)
        workstream = await self._store.get_workstream(channel.workstream_id)
        if workstream is None:
            raise NotFound(f"channel {channel.id} names unknown workstream")
        answers = _answers(widget, request.pre_chat)
        customer, candidates = await self._identify(widget, answers)
        # An opaque visitor handle: a retried start (same client id) finds its conversation;
        # hashed so the widget's id never shows in the store or logs.
        visitor = (
            hashlib.sha256(request.client_session_id.encode()).hexdigest()[:32]
            if request.client_session_id
            else uuid.uuid4().hex
        )
        context = {key: _typed(value) for key, value in request.context.items()}
        conversation, created = await self._store.open_conversation(
            Conversation(
                id=uuid.uuid4().hex,
                channel=ChannelKind.CHAT,
                channel_id=channel.id,
                workstream_id=workstream.id,
                customer_address=f"visitor:{visitor}",
                business_address=request.widget_id,
                customer_id=None if customer is None else customer.id,
                customer_candidates=candidates,
                pre_chat=answers,
                context=context,
                locale=request.locale,
                opened_at=self._clock.now(),
            )
        )
        if created and widget.greeting:
            await self._system_message(conversation.id, fill(widget.greeting, {}), key="greeting")
        item = await self._ingest.route_conversation(
            conversation,
            workstream,
            RoutingFacts(
                channel=ChannelKind.CHAT,
                business_address=request.widget_id,
                customer_identified=customer is not None,
                context=conversation.context,
                pre_chat=conversation.pre_chat,
                contact=_contact_facts(customer),
                account=_account_facts(customer),
            ),
        )
        if created:  # the silence that would auto-close it starts now
            await self._ingest.customer_wrote(conversation, workstream, item, None)
        return ChatSession(
            conversation_id=conversation.id,
            token=self._tokens.issue(conversation.id),
            expires_in=self._limits.token_lifetime_seconds,
        )

    async def _identify(
        self, widget: ChatWidget, answers: Mapping[str, str]
    ) -> tuple[Customer | None, tuple[str, ...]]:
        """Every identifying answer must equal its customer field exactly; one record matching
        all identifies the customer, several leave it unidentified with them as candidates.
        Records are looked up by phone or email (the indexed fields): a form with
        neither question identifies no one. Emails compare case-insensitively."""
        wanted: dict[str, str] = {}
        for question in widget.pre_chat:
            if question.identifies is None:
                continue
            answer = answers.get(question.key, "")
            if not answer:
                return None, ()  # all configured fields must match: one unanswered can't
            if question.identifies in ("mobile_phone", "account_phone"):
                try:
                    answer = to_e164(answer)
                except InvalidPhoneNumber:
                    return None, ()
            if question.identifies == "email":
                answer = answer.lower()
            wanted[question.identifies] = answer
        phones = {wanted[f] for f in ("mobile_phone", "account_phone") if f in wanted}
        if not phones and "email" not in wanted:
            return None, ()
        found: dict[str, Customer] = {}
        for phone in sorted(phones):
            for customer in await self._store.find_customers_by_phone(phone):
                found[customer.id] = customer
        if "email" in wanted:
            for customer in await self._store.find_customers_by_email(wanted["email"]):
                found[customer.id] = customer
        matches = [c for c in found.values() if all(_field(c, f) == v for f, v in wanted.items())]
        if len(matches) == 1:
            return matches[0], ()
        return None, tuple(sorted(c.id for c in matches))

    # --- the conversation, as its token opens it ---------------------------------------------

    async def authorize(self, token: str, conversation_id: str) -> Conversation:
        """The conversation, if the token opens it: a bad token is 401, another conversation
        (or none) 404, as if it did not exist (invariant 7)."""
        opened = self._tokens.conversation_of(token)
        conversation = await self._store.get_conversation(conversation_id)
        if opened != conversation_id or conversation is None:
            raise NotFound(f"conversation {conversation_id} is not this token's")
        if conversation.channel != ChannelKind.CHAT:
            raise NotFound(f"conversation {conversation_id} is not a chat")
        return conversation

    async def post(self, conversation: Conversation, sent: CustomerMessage) -> ChatMessageView:
        text = plain_text(sent.text)
        if not text and not sent.attachments:
            raise BadRequest("a message needs text or an attachment")
        if len(text) > self._limits.max_text_length:
            raise BadRequest(f"text is longer than {self._limits.max_text_length}")
        for attachment in sent.attachments:
            if attachment.size > self._limits.max_attachment_bytes:
                raise BadRequest(f"attachment {attachment.name!r} is too large")
        item = await self._store.open_work_item(conversation.id)
        status, _ = _status(item)
        if status is ChatStatus.ENDED:
            raise Conflict("this conversation has ended")
        provider_id = (
            None
            if sent.client_message_id is None
            else f"chat:{conversation.id}:{sent.client_message_id}"
        )
        message = Message(
            id=new_message_id(conversation.id),
            conversation_id=conversation.id,
            direction=Direction.INBOUND,
            sender=SenderKind.CUSTOMER,
            text=text,
            media=tuple(
                MediaRef(url=str(a.url), content_type=a.content_type, name=a.name, size=a.size)
                for a in sent.attachments
            ),
            provider_message_id=provider_id,
            status=DeliveryStatus.RECEIVED,
            created_at=self._clock.now(),
            sentiment=await self._ingest.sentiment_of(text),  # for supervisors only
        )
        stored = await self._store.append_message(message)
        if stored is None and provider_id is not None:  # a retried send: the first one stands
            stored = await self._store.find_message_by_provider_id(provider_id)
        if stored is None:
            raise RuntimeError("a new chat message was taken for a duplicate")
        await self._typing.stopped(conversation.id, TypingParty.CUSTOMER)  # sent: not typing
        workstream = await self._store.get_workstream(conversation.workstream_id)
        if workstream is not None:  # the bot's turn, and the silence watched from here
            await self._ingest.customer_wrote(conversation, workstream, item, stored)
        return (await self._views([stored]))[0]

    async def read(
        self,
        conversation: Conversation,
        *,
        after: int = 0,
        wait: float = 0.0,
        known_state: str | None = None,
    ) -> ChatUpdate:
        """The update after the cursor. With `wait`, held (up to the configured cap) until a
        message comes or the state moves from `known_state`: a long poll."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(max(wait, 0.0), self._limits.max_wait_seconds)
        while True:
            update = await self._update(conversation.id, after)
            if update.messages or (known_state is not None and update.state != known_state):
                return update
            remaining = deadline - loop.time()
            if remaining <= 0:
                return update
            await asyncio.sleep(min(self._limits.poll_interval_seconds, remaining))

    async def events(
        self, conversation: Conversation, *, after: int = 0
    ) -> AsyncIterator[ChatEvent]:
        """The conversation as events, for one connection of at most the configured wait:
        the client reconnects with the last event id (EventSource does so itself)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._limits.max_wait_seconds
        previous: ChatUpdate | None = None
        while True:
            update = await self._update(conversation.id, after)
            served = (update.status, update.agent_name)
            if previous is None:
                yield ChatEvent(event="state", data=_state_data(update))
            elif update.status is ChatStatus.CONNECTED and served != (
                previous.status,
                previous.agent_name,
            ):
                yield ChatEvent(event="agent_joined", data=_state_data(update))
            if previous is not None and update.agent_typing != previous.agent_typing:
                yield ChatEvent(event="typing", data={"agent_typing": update.agent_typing})
            for message in update.messages:
                yield ChatEvent(
                    event=_MESSAGE_EVENTS[message.sender],
                    id=str(message.sequence),
                    data=message.model_dump(mode="json"),
                )
            if update.status is ChatStatus.ENDED:
                if previous is not None and previous.status is not ChatStatus.ENDED:
                    yield ChatEvent(event="ended", data=_state_data(update))
                return
            previous, after = update, update.next_after
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            await asyncio.sleep(min(self._limits.poll_interval_seconds, remaining))

    async def end(self, conversation: Conversation) -> ChatUpdate:
        """The customer leaves: an agent's item moves to wrap-up (the agent finishes it), a
        waiting or offered one closes. Idempotent."""
        for _ in range(3):  # again only if routing changed the item between read and write
            item = await self._store.open_work_item(conversation.id)
            if item is None or _status(item)[0] is ChatStatus.ENDED:
                break
            await self._system_message(conversation.id, CUSTOMER_LEFT, key="customer-left")
            if item.status == WorkItemStatus.ACTIVE:
                if await self._store.wrap_up_work_item(item.id, self._clock.now()) is not None:
                    break
                continue
            closed = await self._store.close_work_item(item.id, self._clock.now())
            if closed is not None:
                await close_with_item(self._store, closed)
                # An offer held an agent's capacity: its queue may serve someone else now.
                await self._routing.request_routing([item.queue_id])
                break
        return await self._update(conversation.id, 0)

    async def typing(self, conversation: Conversation) -> None:
        """The customer types: the agent sees it for a few seconds."""
        if _status(await self._store.open_work_item(conversation.id))[0] is ChatStatus.ENDED:
            raise Conflict("this conversation has ended")
        await self._typing.started(conversation.id, TypingParty.CUSTOMER)

    # --- views ----------------------------------------------------------------------------

    async def _update(self, conversation_id: str, after: int) -> ChatUpdate:
        item = await self._store.open_work_item(conversation_id)
        messages = await self._store.list_messages(
            conversation_id, after_sequence=after, include_internal=False
        )
        status, agent_id = _status(item)
        agent_name = None
        if agent_id is not None:
            agent = await self._store.get_agent(agent_id)
            agent_name = None if agent is None else agent.display_name
        views = await self._views(messages)
        agent_typing = status is ChatStatus.CONNECTED and (
            TypingParty.AGENT in await self._typing.who(conversation_id)
        )
        # Typing is part of the state: a held read answers at once when it starts or stops.
        state = hashlib.sha256(
            f"{status}:{agent_id or ''}:{int(agent_typing)}".encode()
        ).hexdigest()[:16]
        return ChatUpdate(
            conversation_id=conversation_id,
            status=status,
            agent_name=agent_name,
            state=state,
            messages=tuple(views),
            next_after=max((m.sequence for m in views), default=after),
            agent_typing=agent_typing,
        )

    async def _views(self, messages: Sequence[Message]) -> list[ChatMessageView]:
        names: dict[str, str | None] = {}
        views = []
        for message in messages:
            if message.internal:  # the store left them out; never risk one (invariant 5)
                continue
            name = None
            if message.sender == SenderKind.AGENT and message.agent_id is not None:
                if message.agent_id not in names:
                    agent = await self._store.get_agent(message.agent_id)
                    names[message.agent_id] = None if agent is None else agent.display_name
                name = names[message.agent_id]
            elif message.sender == SenderKind.BOT and message.bot_id is not None:
                key = f"bot:{message.bot_id}"
                if key not in names:
                    names[key] = await self._bot_name(message.conversation_id, message.bot_id)
                name = names[key]
            views.append(
                ChatMessageView(
                    id=message.id,
                    sequence=message.sequence,
                    sender=_SENDERS[message.sender],
                    sender_name=name,
                    text=message.text,
                    attachments=tuple(
                        [
                            ChatAttachmentView(
                                name=m.name,
                                content_type=m.content_type,
                                size=m.size,
                                url=await self._media_links.customer_url(m)
                                if self._media_links
                                else m.url,
                            )
                            for m in message.media
                        ]
                    ),
                    created_at=message.created_at,
                )
            )
        return views

    async def _bot_name(self, conversation_id: str, bot_id: str) -> str | None:
        """The display name of the conversation's workstream bot, if it is that one."""
        conversation = await self._store.get_conversation(conversation_id)
        workstream = (
            None
            if conversation is None
            else await self._store.get_workstream(conversation.workstream_id)
        )
        bot = None if workstream is None else workstream.bot
        return bot.name if bot is not None and bot.id == bot_id else None

    async def _system_message(self, conversation_id: str, text: str, *, key: str) -> None:
        """An automated message, once per key and conversation. It is in the transcript the
        widget reads: no provider to send it through."""
        await self._store.append_message(
            Message(
                id=new_message_id(conversation_id),
                conversation_id=conversation_id,
                direction=Direction.OUTBOUND,
                sender=SenderKind.SYSTEM,
                text=text,
                provider_message_id=f"chat:{conversation_id}:{key}",
                status=DeliveryStatus.SENT,
                created_at=self._clock.now(),
            )
        )


_SENDERS: dict[SenderKind, Literal["customer", "agent", "system", "bot"]] = {
    SenderKind.CUSTOMER: "customer",
    SenderKind.AGENT: "agent",
    SenderKind.SYSTEM: "system",
    SenderKind.BOT: "bot",
}
_MESSAGE_EVENTS: dict[str, Literal["message", "agent_message", "system_message", "bot_message"]] = {
    "customer": "message",
    "agent": "agent_message",
    "system": "system_message",
    "bot": "bot_message",
}


def _status(item: WorkItem | None) -> tuple[ChatStatus, str | None]:
    if item is None or item.status in (WorkItemStatus.WRAP_UP, WorkItemStatus.CLOSED):
        return ChatStatus.ENDED, None
    if item.status == WorkItemStatus.ACTIVE:
        return ChatStatus.CONNECTED, item.agent_id
    return ChatStatus.WAITING, None


def _state_data(update: ChatUpdate) -> dict[str, object]:
    return {
        "status": str(update.status),
        "agent_name": update.agent_name,
        "state": update.state,
        "agent_typing": update.agent_typing,
    }


def _answers(widget: ChatWidget, given: Mapping[str, str]) -> dict[str, str]:
    """The pre-chat answers as text, checked against the widget's form when it has one."""
    answers = {key: plain_text(value) for key, value in given.items()}
    if widget.pre_chat:
        known = {q.key for q in widget.pre_chat}
        unknown = sorted(set(answers) - known)
        if unknown:
            raise BadRequest(f"unknown pre-chat questions: {', '.join(unknown)}")
        missing = [q.key for q in widget.pre_chat if q.required and not answers.get(q.key)]
        if missing:
            raise BadRequest(f"pre-chat answers required: {', '.join(missing)}")
    return {key: value for key, value in answers.items() if value}


def _typed(value: bool | float | str) -> bool | float | str:
    return plain_text(value) if isinstance(value, str) else value


def _field(customer: Customer, name: str) -> str | None:
    value: str | None = getattr(customer, name)
    return value.lower() if name == "email" and value is not None else value


def _contact_facts(customer: Customer | None) -> dict[str, str]:
    if customer is None:
        return {}
    fields = {
        "id": customer.id,
        "display_name": customer.display_name,
        "mobile_phone": customer.mobile_phone,
        "email": customer.email,
    }
    return {key: value for key, value in fields.items() if value}


def _account_facts(customer: Customer | None) -> dict[str, str]:
    if customer is None or not customer.account_phone:
        return {}
    return {"phone": customer.account_phone}
