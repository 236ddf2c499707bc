"""Customers (contacts and accounts) as the desk manages them: create, read, change, search by
name, phone or email, delete and merge, and a customer's timeline of conversations.

Who may do what: admins everything; supervisors read; agents read, and change the contact
details of a customer whose conversation they hold or held. Phone numbers are stored in E.164
(shared/domain/phone.py); one number belongs to one live record: a second is refused (409)
naming the first. Ingest and chat identification keep finding customers by phone and email
through the same store lookups, which never find a merged record.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from pydantic import Field, ValidationError

from shared.domain.base import Model
from shared.domain.channels import ChannelKind
from shared.domain.conversations import ClosingReason, Conversation, ConversationStatus
from shared.domain.customers import Customer, name_key
from shared.domain.identity import Principal, Role
from shared.domain.outcomes import CsatAnswer, WrapUp
from shared.domain.phone import InvalidPhoneNumber, to_e164
from shared.domain.search import SearchPosition, epoch_ms
from shared.domain.work import WorkItem, WorkItemStatus
from shared.errors import BadRequest, Conflict, Forbidden, UnprocessableEntity, existing
from shared.ports import ConversationSearchStore, ConversationStore, CustomerStore, WorkItemStore
from shared.services.listing import Page, every_by


class CustomerPorts(
    CustomerStore, ConversationStore, ConversationSearchStore, WorkItemStore, Protocol
):
    """The store ports this service needs."""


class CustomerInput(Model):
    """A new customer. Phones in any form with their country code (+44 20 7946 0958 or
    442079460958), stored in E.164."""

    display_name: str = Field(min_length=1, max_length=200)
    mobile_phone: str | None = Field(default=None, max_length=40)
    account_phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)


class CustomerChange(Model):
    """A change to a customer: the fields given are changed (null clears a phone or email);
    those left out stay as they are. The record as read may be sent back whole: its `id` and
    `merged_into` are checked against the record, never changed here."""

    id: str | None = Field(default=None, description="the record's id, if given: the path's")
    merged_into: str | None = Field(
        default=None, description="as read, if given: a merge is `POST .../merge`"
    )
    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    mobile_phone: str | None = Field(default=None, max_length=40)
    account_phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)


class DuplicateCustomer(Conflict):
    """A number (or the record asked for) already belongs to another customer: the problem
    names it (`existing_id`), so the caller can open it instead."""

    def __init__(self, detail: str, existing_id: str) -> None:
        super().__init__(detail)
        self.extensions = {"existing_id": existing_id}


class TimelineEntry(Model):
    """One conversation of the customer's, as the timeline lists it."""

    conversation_id: str
    channel: ChannelKind
    status: ConversationStatus
    queue_id: str | None = Field(description="the queue its (last) work waited in")
    agent_id: str | None = Field(description="the agent who held its (last) work")
    opened_at: datetime
    closed_at: datetime | None = None
    duration_seconds: int | None = Field(
        default=None, description="from opening (or the last reopening) to close; None while open"
    )
    outcome: ClosingReason | None = Field(default=None, description="why it closed")
    transcript_url: str | None = Field(
        description="its messages, for this caller: the supervisor's route for supervisors and "
        "admins; for an agent the agent's route when the agent held it, else None"
    )
    wrap_up: WrapUp | None = Field(
        default=None, description="the agent's disposition and summary, once written"
    )
    csat: CsatAnswer | None = Field(default=None, description="the customer's satisfaction")


def sees_everything(caller: Principal) -> bool:
    return bool(caller.roles & {Role.SUPERVISOR, Role.ADMIN})


def held_by(item: WorkItem | None, agent_id: str) -> bool:
    """Whether the agent holds or held the conversation's (last) work item as its primary:
    it holds it now, held it last, or handed it on by a transfer."""
    if item is None:
        return False
    if item.agent_id == agent_id and item.status != WorkItemStatus.OFFERED:
        return True
    return any(transfer.from_agent_id == agent_id for transfer in item.transfers)


def transcript_url(caller: Principal, conversation_id: str, item: WorkItem | None) -> str | None:
    """Where the caller reads the conversation's messages: the supervisor's route for
    supervisors and admins; the agent's route for the agent holding or last holding it (the
    route agents read through), else none."""
    if sees_everything(caller):
        return f"/api/supervisor/conversations/{conversation_id}/messages"
    if item is not None and item.agent_id == caller.subject:
        return f"/api/conversations/{conversation_id}/messages"
    return None


class CustomerService:
    def __init__(self, store: CustomerPorts) -> None:
        self._store = store

    # --- reading -----------------------------------------------------------------------

    async def get(self, customer_id: str) -> Customer:
        return existing(await self._store.get_customer(customer_id), f"customer {customer_id}")

    async def search(
        self,
        *,
        name: str | None,
        phone: str | None,
        email: str | None,
        after: str | None,
        limit: int,
    ) -> Page[Customer]:
        """Customers in id order; a phone or an email is one index lookup, a name the words
        of names starting with it. Given together, every one must hold."""
        if phone is not None or email is not None:
            found: Sequence[Customer]
            if phone is not None:
                found = await self._store.find_customers_by_phone(_e164(phone, "phone"))
            else:
                assert email is not None
                found = await self._store.find_customers_by_email(email)
            admitted = [
                c
                for c in found
                if c.id > (after or "")
                and (email is None or (c.email or "").lower() == email.lower())
                and (name is None or _name_matches(c, name))
            ]
            page = admitted[:limit]
            more = len(admitted) > limit
            return Page(items=page, next_cursor=page[-1].id if more else None)
        records = list(await self._store.list_customers(name=name, after=after, limit=limit))
        return Page(items=records, next_cursor=records[-1].id if len(records) == limit else None)

    async def timeline(
        self, caller: Principal, customer_id: str, *, after: str | None, limit: int
    ) -> Page[TimelineEntry]:
        """Every conversation of the customer on every channel, newest first (opening
        instant, then id); `after` is the last page's cursor. A customer's conversations
        are read whole (they are one index range on both stores) and sorted here."""
        await self.get(customer_id)
        position = None if after is None else SearchPosition.parse(after)
        if after is not None and position is None:
            raise BadRequest(f"cursor {after!r} is not one a page gave")
        conversations = [
            c
            async for c in every_by(
                lambda *, after, limit: self._store.customer_conversations(
                    customer_id, after=after, limit=limit
                ),
                lambda c: c.id,
            )
        ]
        ordered = sorted(conversations, key=lambda c: (epoch_ms(c.opened_at), c.id), reverse=True)
        if position is not None:
            ordered = [
                c
                for c in ordered
                if (epoch_ms(c.opened_at), c.id) < (position.opened_ms, position.conversation_id)
            ]
        page = ordered[:limit]
        entries = [await self._entry(caller, c) for c in page]
        more = len(ordered) > limit
        cursor = (
            SearchPosition(opened_ms=epoch_ms(page[-1].opened_at), conversation_id=page[-1].id)
            if more
            else None
        )
        return Page(items=entries, next_cursor=None if cursor is None else cursor.cursor())

    async def _entry(self, caller: Principal, conversation: Conversation) -> TimelineEntry:
        item = await self._store.last_work_item(conversation.id)
        started = conversation.reopened_at or conversation.opened_at
        duration = (
            None
            if conversation.closed_at is None
            else max(0, round((conversation.closed_at - started).total_seconds()))
        )
        return TimelineEntry(
            conversation_id=conversation.id,
            channel=conversation.channel,
            status=conversation.status,
            queue_id=None if item is None else item.queue_id,
            agent_id=None if item is None else item.agent_id,
            opened_at=conversation.opened_at,
            closed_at=conversation.closed_at,
            duration_seconds=duration,
            outcome=conversation.closing_reason,
            transcript_url=transcript_url(caller, conversation.id, item),
            wrap_up=conversation.wrap_up,
            csat=conversation.csat,
        )

    # --- writing -----------------------------------------------------------------------

    async def create(self, given: CustomerInput) -> Customer:
        customer = _customer(
            {
                "id": f"customer-{uuid.uuid4().hex}",
                "display_name": given.display_name,
                "mobile_phone": given.mobile_phone,
                "account_phone": given.account_phone,
                "email": given.email,
            }
        )
        await self._refuse_duplicates(customer)
        await self._store.put_customer(customer)
        return customer

    async def update(self, caller: Principal, customer_id: str, change: CustomerChange) -> Customer:
        current = await self.get(customer_id)
        if current.merged_into is not None:
            raise DuplicateCustomer(
                f"customer {customer_id} was merged into {current.merged_into}: change that one",
                current.merged_into,
            )
        if Role.ADMIN not in caller.roles and not await self._held_by(caller.subject, customer_id):
            raise Forbidden(
                f"customer {customer_id} is not the customer of a conversation you hold or held"
            )
        given = change.model_dump(include=change.model_fields_set)
        if given.pop("id", customer_id) != customer_id:
            raise UnprocessableEntity(f"the body's id is not {customer_id}: ids do not change")
        if given.pop("merged_into", None) is not None:
            raise UnprocessableEntity("merged_into changes only by a merge (POST .../merge)")
        if given.get("display_name", "") is None:
            raise UnprocessableEntity("display_name cannot be cleared")
        changed = _customer({**current.model_dump(), **given})
        await self._refuse_duplicates(changed)
        await self._store.put_customer(changed)
        return changed

    async def delete(self, customer_id: str) -> None:
        """The record goes; its conversations stay, identified as no one (the customer's
        address still says who wrote). Conversations first, so a retry finishes the job."""
        await self.get(customer_id)
        await self._store.reassign_conversations(customer_id, None)
        await self._store.delete_customer(customer_id)

    async def merge(self, survivor_id: str, merged_id: str) -> Customer:
        """`merged_id` merges into `survivor_id`: the survivor keeps its details and takes the
        ones it lacks; the conversations follow; the merged record stays, marked
        `merged_into`, so old references resolve, and is found by no search or lookup.
        Each step is idempotent and a retry of the same merge resumes it."""
        if survivor_id == merged_id:
            raise UnprocessableEntity(f"customer {survivor_id} cannot be merged into itself")
        survivor = await self.get(survivor_id)
        merged = await self.get(merged_id)
        if survivor.merged_into is not None:
            raise DuplicateCustomer(
                f"customer {survivor_id} was itself merged into {survivor.merged_into}",
                survivor.merged_into,
            )
        if merged.merged_into is not None and merged.merged_into != survivor_id:
            raise DuplicateCustomer(
                f"customer {merged_id} was merged into {merged.merged_into} already",
                merged.merged_into,
            )
        # The merged-away record first: from then on no lookup finds it, so its numbers may
        # move to the survivor without ever being on two live records.
        await self._store.put_customer(merged.model_copy(update={"merged_into": survivor_id}))
        combined = survivor.merged(merged.model_copy(update={"merged_into": None}))
        if combined != survivor:
            await self._store.put_customer(combined)
        await self._store.reassign_conversations(merged_id, survivor_id)
        return combined

    # --- rules -------------------------------------------------------------------------

    async def _refuse_duplicates(self, customer: Customer) -> None:
        """A number on another live record is refused, naming that record. (A check before
        the write: two requests racing with one new number may both pass; ingest then sees two
        candidates and the agent picks, as with records created before this rule.)"""
        for phone in customer.phones:
            for holder in await self._store.find_customers_by_phone(phone):
                if holder.id != customer.id:
                    raise DuplicateCustomer(
                        f"phone {phone} belongs to customer {holder.id} already", holder.id
                    )

    async def _held_by(self, agent_id: str, customer_id: str) -> bool:
        """Whether the agent holds or held (as primary) a conversation of the customer: the
        last work item of each of the customer's conversations says (`held_by`)."""
        async for conversation in every_by(
            lambda *, after, limit: self._store.customer_conversations(
                customer_id, after=after, limit=limit
            ),
            lambda c: c.id,
        ):
            if held_by(await self._store.last_work_item(conversation.id), agent_id):
                return True
        return False


def _name_matches(customer: Customer, name: str) -> bool:
    return name_key(name) in name_key(customer.display_name)


def _e164(raw: str, field: str) -> str:
    try:
        return to_e164(raw)
    except InvalidPhoneNumber as error:
        raise UnprocessableEntity(f"{field} {raw!r} is not a phone number: {error}") from None


def _customer(fields: dict[str, object]) -> Customer:
    """A customer record from given fields, phones in E.164; 422 naming what is refused."""
    for field in ("mobile_phone", "account_phone"):
        value = fields.get(field)
        if isinstance(value, str):
            fields[field] = _e164(value, field)
    if isinstance(fields.get("email"), str):
        fields["email"] = str(fields["email"]).strip()
    try:
        return Customer.model_validate(fields)
    except ValidationError as error:
        said = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()[:3]
        )
        raise UnprocessableEntity(f"the customer is refused: {said}") from None
