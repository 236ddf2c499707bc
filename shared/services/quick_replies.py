"""Quick replies: an admin writes them per workstream and locale (checked at save), an agent
finds them within the workstreams of the conversations it holds and fills one for a
conversation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pydantic import Field

from shared.domain.conversations import Conversation
from shared.domain.placeholders import PlaceholderError
from shared.domain.quick_replies import (
    QuickReply,
    QuickReplyText,
    RenderedQuickReply,
    for_locale,
    render,
)
from shared.domain.work import AGENT_WORKING
from shared.errors import NotFound, UnprocessableEntity, existing
from shared.ports import (
    ChannelStore,
    CollaborationStore,
    ConversationStore,
    CustomerStore,
    QuickReplyStore,
    RoutingConfigStore,
    WorkItemStore,
)
from shared.services.agent_work import involvement
from shared.services.listing import Page, page_of


class QuickReplyPorts(
    QuickReplyStore,
    ChannelStore,
    RoutingConfigStore,
    ConversationStore,
    WorkItemStore,
    CollaborationStore,
    CustomerStore,
    Protocol,
):
    """The store ports this service needs."""


MAX_SEARCH_RESULTS = 20
"""What a keystroke search shows at most: the agent types more to narrow it."""


class QuickReplyInput(QuickReplyText):
    """A quick reply as an admin writes it: what GET shows can be written back as it is."""

    id: str | None = Field(default=None, description="the path's, if given")


class QuickReplyService:
    def __init__(self, store: QuickReplyPorts) -> None:
        self._store = store

    async def put_reply(self, reply_id: str, given: QuickReplyInput) -> QuickReply:
        """Refused (422) for a placeholder the text may not use or a workstream that does not
        exist: nothing is stored."""
        reply = QuickReply.model_validate(given.model_dump() | {"id": reply_id})
        try:
            reply.check_placeholders()
        except PlaceholderError as exc:
            raise UnprocessableEntity(str(exc)) from exc
        if await self._store.get_workstream(reply.workstream_id) is None:
            raise UnprocessableEntity(f"workstream {reply.workstream_id} does not exist")
        await self._store.put_quick_reply(reply)
        return reply

    async def list_replies(self, *, after: str | None, limit: int) -> Page[QuickReply]:
        return await page_of(self._store.list_quick_replies, after=after, limit=limit)

    async def get_reply(self, reply_id: str) -> QuickReply:
        return existing(await self._store.get_quick_reply(reply_id), f"quick reply {reply_id}")

    async def delete_reply(self, reply_id: str) -> None:
        if not await self._store.delete_quick_reply(reply_id):
            raise NotFound(f"quick reply {reply_id} does not exist")

    async def search(
        self, agent_id: str, text: str, *, conversation_id: str | None
    ) -> Sequence[QuickReply]:
        """For one conversation of the agent's (404 otherwise): its workstream's replies in its
        customer's language or any. Without one: the replies of every workstream whose
        conversations the agent holds or consults on now."""
        if conversation_id is not None:
            part = await involvement(self._store, agent_id, conversation_id)
            found = await self._store.search_quick_replies(
                [part.conversation.workstream_id], text, limit=MAX_SEARCH_RESULTS * 4
            )
            return for_locale(found, part.conversation.locale)[:MAX_SEARCH_RESULTS]
        held = [
            item for item in await self._store.agent_items(agent_id) if item.status in AGENT_WORKING
        ]
        items = [*held, *await self._store.consulted_items(agent_id)]
        workstreams = sorted({item.workstream_id for item in items})
        found = await self._store.search_quick_replies(workstreams, text, limit=MAX_SEARCH_RESULTS)
        return sorted(found, key=lambda reply: reply.title.casefold())

    async def render_for(
        self, agent_id: str, reply_id: str, conversation_id: str
    ) -> RenderedQuickReply:
        """The reply filled for a conversation of the agent's: a reply of another workstream
        is not this conversation's to use (404)."""
        part = await involvement(self._store, agent_id, conversation_id)
        reply = await self._store.get_quick_reply(reply_id)
        if reply is None or reply.workstream_id != part.conversation.workstream_id:
            raise NotFound(f"quick reply {reply_id} is not one of this conversation's")
        agent = await self._store.get_agent(agent_id)
        return render(
            reply,
            customer_name=await self._customer_name(part.conversation),
            agent_name="" if agent is None else agent.display_name,
            context=part.conversation.context,
        )

    async def _customer_name(self, conversation: Conversation) -> str:
        """The customer record's name; for a chat visitor not identified yet, the name the
        pre-chat form asked for (its question that identifies by display name)."""
        if conversation.customer_id is not None:
            customer = await self._store.get_customer(conversation.customer_id)
            if customer is not None:
                return customer.display_name
        channel = await self._store.get_channel(conversation.channel_id)
        questions = () if channel is None or channel.chat is None else channel.chat.pre_chat
        for question in questions:
            if question.identifies == "display_name" and question.key in conversation.pre_chat:
                return conversation.pre_chat[question.key].strip()
        return ""
