"""Typing indicators and read state: the customer's typing shown to the agent, the agent's to
the customer, and when the customer last read the conversation shown to the agent. Typing is
ephemeral: a signal lasts a few seconds unless repeated, and is stored as a small record with
its expiry so every instance serving either side sees it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from pydantic import Field

from shared.domain.base import Model
from shared.domain.conversations import TypingParty
from shared.errors import Conflict
from shared.ports import Clock, ConversationStore, ReadMarkStore, WorkItemStore
from shared.services.agent_work import WorkRole, involvement


class AgentTypingView(Model):
    """What an agent's console shows of the other side."""

    customer_typing: bool
    customer_last_read_at: datetime | None = Field(
        default=None, description="chat: when the customer last had the conversation in view"
    )


class CustomerReadMark(Model):
    read_at: datetime = Field(description="the latest time the customer read it")


class TypingPorts(ConversationStore, WorkItemStore, ReadMarkStore, Protocol):
    """The store ports this service needs."""


class TypingService:
    def __init__(self, store: TypingPorts, clock: Clock, *, ttl_seconds: float) -> None:
        self._store = store
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_seconds)

    async def started(self, conversation_id: str, party: TypingParty) -> None:
        """The party types: shown for the configured seconds; a client repeats it while the
        person keeps typing."""
        await self._store.set_typing(conversation_id, party, self._clock.now() + self._ttl)

    async def stopped(self, conversation_id: str, party: TypingParty) -> None:
        """The party sent its message (or cleared its text): no longer typing."""
        await self._store.set_typing(conversation_id, party, self._clock.now())

    async def who(self, conversation_id: str) -> frozenset[TypingParty]:
        return await self._store.typing(conversation_id, self._clock.now())

    # --- the agent's side ------------------------------------------------------------------------

    async def agent_types(self, agent_id: str, conversation_id: str) -> None:
        """Only the primary agent's typing reaches the customer (a consultant writes notes)."""
        part = await involvement(self._store, agent_id, conversation_id)
        if part.role is not WorkRole.PRIMARY:
            raise Conflict("only the primary agent's typing is shown to the customer")
        await self.started(conversation_id, TypingParty.AGENT)

    async def agent_view(self, agent_id: str, conversation_id: str) -> AgentTypingView:
        await involvement(self._store, agent_id, conversation_id)
        typing = await self.who(conversation_id)
        return AgentTypingView(
            customer_typing=TypingParty.CUSTOMER in typing,
            customer_last_read_at=await self._store.customer_read_at(conversation_id),
        )

    # --- the customer's side ---------------------------------------------------------------------

    async def customer_read(self, conversation_id: str) -> CustomerReadMark:
        """The widget had the conversation's messages in view: the agent sees when."""
        return CustomerReadMark(
            read_at=await self._store.mark_customer_read(conversation_id, self._clock.now())
        )
