"""Conversation search for the desk: agents find their own conversations and their queues',
supervisors and admins every one; by customer, number, words of the messages, channel, queue,
agent, opening days and status, newest first (shared/domain/search.py has the rules, each
store an index for them).

Internal notes: their words are searched for supervisors and admins only. An agent's search
never matches a note, so it never reveals one (an agent reads notes in the conversations it
works on, through the conversation's messages).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from pydantic import Field

from shared.domain.base import Model
from shared.domain.channels import ChannelKind
from shared.domain.conversations import ClosingReason, ConversationStatus
from shared.domain.identity import Principal
from shared.domain.phone import InvalidPhoneNumber, to_e164
from shared.domain.search import (
    DEFAULT_RANGE_DAYS,
    MAX_QUERY_WORDS,
    MAX_RANGE_DAYS,
    ConversationQuery,
    SearchHit,
    SearchPosition,
    agent_party,
    queue_party,
    search_words,
)
from shared.errors import BadRequest, UnprocessableEntity
from shared.ports import Clock, ConversationSearchStore, RoutingConfigStore, WorkItemStore
from shared.services.customers import sees_everything, transcript_url
from shared.services.listing import Page


class SearchPorts(ConversationSearchStore, RoutingConfigStore, WorkItemStore, Protocol):
    """The store ports this service needs."""


class SearchCriteria(Model):
    """What a caller searches by; every one given must hold."""

    customer_id: str | None = None
    number: str | None = Field(default=None, description="the customer's number or address")
    text: str | None = Field(default=None, description="words its messages hold, each whole")
    channel: ChannelKind | None = None
    queue_id: str | None = None
    agent_id: str | None = None
    status: ConversationStatus | None = None
    opened_from: date | None = Field(
        default=None, description=f"first opening day (UTC); default {DEFAULT_RANGE_DAYS} before"
    )
    opened_to: date | None = Field(default=None, description="last opening day; default today")


class FoundConversation(Model):
    """A conversation a search found, as agents and supervisors see it in a list."""

    conversation_id: str
    channel: ChannelKind
    customer_id: str | None
    customer_address: str
    business_address: str
    status: ConversationStatus
    opened_at: datetime
    closed_at: datetime | None
    outcome: ClosingReason | None
    transcript_url: str | None


class ConversationSearchService:
    def __init__(self, store: SearchPorts, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def search(
        self, caller: Principal, criteria: SearchCriteria, *, after: str | None, limit: int
    ) -> Page[FoundConversation]:
        query = await self.query_for(caller, criteria)
        position = None if after is None else SearchPosition.parse(after)
        if after is not None and position is None:
            raise BadRequest(f"cursor {after!r} is not one a page gave")
        hits = list(await self._store.search_conversations(query, after=position, limit=limit))
        found = [await self._found(caller, hit) for hit in hits]
        cursor = hits[-1].position.cursor() if len(hits) == limit else None
        return Page(items=found, next_cursor=cursor)

    async def query_for(self, caller: Principal, criteria: SearchCriteria) -> ConversationQuery:
        """The store's query: defaults filled, input checked (422 naming what is refused),
        and the caller's scope."""
        last = criteria.opened_to or self._clock.now().astimezone(UTC).date()
        first = criteria.opened_from or last - timedelta(days=DEFAULT_RANGE_DAYS)
        if first > last:
            raise UnprocessableEntity(f"opened_from {first} is after opened_to {last}")
        if (last - first).days >= MAX_RANGE_DAYS:
            raise UnprocessableEntity(f"a search spans at most {MAX_RANGE_DAYS} days")
        words: tuple[str, ...] = ()
        if criteria.text is not None:
            words = search_words(criteria.text)
            if not words:
                raise UnprocessableEntity("text has no word to search for")
            if len(words) > MAX_QUERY_WORDS:
                raise UnprocessableEntity(f"text has more than {MAX_QUERY_WORDS} words")
        visible_to = None
        if not sees_everything(caller):
            agent = await self._store.get_agent(caller.subject)
            queues = () if agent is None else agent.queue_ids
            visible_to = (agent_party(caller.subject), *(queue_party(q) for q in queues))
        return ConversationQuery(
            customer_id=criteria.customer_id,
            number=None if criteria.number is None else _address(criteria.number),
            words=words,
            channel=criteria.channel,
            queue_id=criteria.queue_id,
            agent_id=criteria.agent_id,
            status=criteria.status,
            opened_from=first,
            opened_to=last,
            visible_to=visible_to,
            include_notes=sees_everything(caller),
        )

    async def _found(self, caller: Principal, hit: SearchHit) -> FoundConversation:
        conversation = hit.conversation
        item = await self._store.last_work_item(conversation.id)
        return FoundConversation(
            conversation_id=conversation.id,
            channel=conversation.channel,
            customer_id=conversation.customer_id,
            customer_address=conversation.customer_address,
            business_address=conversation.business_address,
            status=conversation.status,
            opened_at=conversation.opened_at,
            closed_at=conversation.closed_at,
            outcome=conversation.closing_reason,
            transcript_url=transcript_url(caller, conversation.id, item),
        )


def _address(number: str) -> str:
    """A phone number in any form is searched as E.164; anything else (a chat visitor's
    address) as given."""
    try:
        return to_e164(number)
    except InvalidPhoneNumber:
        return number.strip()
