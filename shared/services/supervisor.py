"""What supervisors monitor: every ongoing conversation and every agent, filtered and paged
without a cap, and any conversation's messages, internal notes included."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from shared.domain.conversations import Conversation, Message
from shared.domain.figures import AgentFilter, AgentMonitor, ConversationFilter, ConversationState
from shared.domain.presence import Presence
from shared.domain.work import AGENT_WORKING, WorkItem
from shared.errors import NotFound, existing
from shared.ports import AgentStateStore, Clock, ConversationStore, CustomerStore, WorkItemStore
from shared.services.listing import Page, page_of


class SupervisorPorts(CustomerStore, ConversationStore, WorkItemStore, AgentStateStore, Protocol):
    """The store ports this service needs."""


class Monitored(ConversationState):
    """A conversation as a supervisor monitoring it sees it: its last work item (open, else
    the one closed last) and every message, internal notes included. Read-only."""

    messages: list[Message]


async def filtered_page[S](
    fetch: Callable[[str | None, int], Awaitable[Sequence[S]]],
    key: Callable[[S], str],
    admits: Callable[[S], bool],
    *,
    after: str | None,
    limit: int,
) -> tuple[list[S], str | None]:
    """Up to `limit` records the filter admits, read in key order from `after` in batches of
    `limit`, and the cursor to resume from (the key of the last record examined)."""
    found: list[S] = []
    cursor = after
    while True:
        batch = await fetch(cursor, limit)
        for record in batch:
            cursor = key(record)
            if admits(record):
                found.append(record)
                if len(found) == limit:
                    return found, cursor
        if len(batch) < limit:
            return found, None


def attention(item: WorkItem | None, offline: frozenset[str]) -> str | None:
    """Work a supervisor should see: held by an agent who is offline (kept at sign-out, or
    disconnected), or returned to its queue by an agent now offline (a sign-out's policy)."""
    if item is None:
        return None
    if item.agent_id in offline and item.status in AGENT_WORKING:
        return f"held by agent {item.agent_id}, who is offline"
    last = item.transfers[-1] if item.transfers else None
    if last is not None and last.to_queue_id is not None and last.from_agent_id in offline:
        return f"returned to its queue: agent {last.from_agent_id} went offline"
    return None


class SupervisorService:
    def __init__(self, store: SupervisorPorts, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def conversations(
        self, where: ConversationFilter, *, after: str | None, limit: int
    ) -> Page[ConversationState]:
        states, cursor = await filtered_page(
            lambda after, limit: self._store.list_ongoing_conversations(after=after, limit=limit),
            lambda state: state.conversation.id,
            where.admits,
            after=after,
            limit=limit,
        )
        offline = await self._offline_agents(states)
        flagged = [
            state.model_copy(update={"attention": attention(state.item, offline)})
            for state in states
        ]
        return Page[ConversationState](items=flagged, next_cursor=cursor)

    async def _offline_agents(self, states: Sequence[ConversationState]) -> frozenset[str]:
        """The agents among those the items name (holding or last handing one on) who are
        offline now."""
        named = {state.item.agent_id for state in states if state.item is not None}
        named |= {
            state.item.transfers[-1].from_agent_id
            for state in states
            if state.item is not None and state.item.transfers
        }
        offline = set()
        for agent_id in sorted(a for a in named if a is not None):
            state = await self._store.agent_state(agent_id)
            if state is not None and state.presence == Presence.OFFLINE:
                offline.add(agent_id)
        return frozenset(offline)

    async def customer_history(
        self, customer_id: str, *, after: str | None, limit: int
    ) -> Page[Conversation]:
        """The customer's conversations, open and closed, on every channel, in id order;
        NotFound for an unknown customer."""
        if await self._store.get_customer(customer_id) is None:
            raise NotFound(f"customer {customer_id} does not exist")
        return await page_of(
            lambda *, after, limit: self._store.customer_conversations(
                customer_id, after=after, limit=limit
            ),
            after=after,
            limit=limit,
        )

    async def agents(
        self, where: AgentFilter, *, after: str | None, limit: int
    ) -> Page[AgentMonitor]:
        states, cursor = await filtered_page(
            lambda after, limit: self._store.list_agent_states(after=after, limit=limit),
            lambda state: state.agent.id,
            where.admits,
            after=after,
            limit=limit,
        )
        now = self._clock.now()
        monitors = []
        for state in states:
            monitors.append(
                AgentMonitor.of(state, await self._store.agent_items(state.agent.id), now=now)
            )
        return Page[AgentMonitor](items=monitors, next_cursor=cursor)

    async def messages(self, conversation_id: str) -> Sequence[Message]:
        """A supervisor reads any conversation, internal notes included (never the customer:
        customer-facing routes filter notes out, invariant 5)."""
        if await self._store.get_conversation(conversation_id) is None:
            raise NotFound(f"conversation {conversation_id} does not exist")
        return await self._store.list_messages(conversation_id, include_internal=True)

    # --- monitor one conversation ---------------------------------------------------

    async def monitor(self, conversation_id: str) -> Monitored:
        """Join to monitor: read-only (no supervisor route writes to a customer; taking over
        is CollaborationService.take_over, after which the supervisor replies as its agent)."""
        conversation = existing(
            await self._store.get_conversation(conversation_id), f"conversation {conversation_id}"
        )
        return Monitored(
            conversation=conversation,
            item=await self._store.last_work_item(conversation_id),
            messages=list(await self._store.list_messages(conversation_id, include_internal=True)),
        )
