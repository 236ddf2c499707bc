"""Customers and conversation search, `/api/customers` and `/api/search/conversations`: contacts
created, read, changed, searched, deleted and merged; a customer's timeline; conversations found
by customer, number, words, channel, queue, agent, days and status.

Admins everything; supervisors read; agents read, change the customers of conversations they
hold or held (403 otherwise), and search their own and their queues' conversations."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from functions.dependencies import PageSize, Services, require
from functions.problems import problem_responses
from shared.domain.channels import ChannelKind
from shared.domain.conversations import ConversationStatus
from shared.domain.customers import Customer
from shared.domain.identity import Principal, Role
from shared.services.conversation_search import FoundConversation, SearchCriteria
from shared.services.customers import CustomerChange, CustomerInput, TimelineEntry
from shared.services.listing import Page

router = APIRouter(prefix="/api", tags=["customers"])

Reader = Annotated[Principal, require(Role.AGENT, Role.SUPERVISOR, Role.ADMIN)]
Editor = Annotated[Principal, require(Role.AGENT, Role.ADMIN)]
Admin = Annotated[Principal, require(Role.ADMIN)]

REFUSED = (422, "A phone or email that is not one, or a change the record cannot take")
DUPLICATE = (409, "The phone belongs to another customer: `existing_id` names it")


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: str = Field(min_length=1, description="the record merged into this one")


@router.post(
    "/customers",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(DUPLICATE, REFUSED),
)
async def create_customer(given: CustomerInput, _: Admin, services: Services) -> Customer:
    return await services.customers.create(given)


@router.get("/customers", responses=problem_responses(REFUSED))
async def search_customers(
    _: Reader,
    services: Services,
    name: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    phone: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    email: Annotated[str | None, Query(min_length=1, max_length=254)] = None,
    cursor: str | None = None,
    limit: PageSize = 50,
) -> Page[Customer]:
    """Customers in id order, merged records left out: by name (any word of it starting with
    the text), phone (any form with its country code; compared in E.164) or email (case
    aside); all of them without any."""
    return await services.customers.search(
        name=name, phone=phone, email=email, after=cursor, limit=limit
    )


@router.get("/customers/{customer_id}", responses=problem_responses(404))
async def get_customer(customer_id: str, _: Reader, services: Services) -> Customer:
    """A merged-away record answers too, with `merged_into` naming the one it joined."""
    return await services.customers.get(customer_id)


@router.patch("/customers/{customer_id}", responses=problem_responses(403, 404, DUPLICATE, REFUSED))
async def update_customer(
    customer_id: str, change: CustomerChange, caller: Editor, services: Services
) -> Customer:
    return await services.customers.update(caller, customer_id, change)


@router.delete(
    "/customers/{customer_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404),
)
async def delete_customer(customer_id: str, _: Admin, services: Services) -> None:
    """The record goes; its conversations stay, identified as no one."""
    await services.customers.delete(customer_id)


@router.post(
    "/customers/{customer_id}/merge",
    responses=problem_responses(
        404, (409, "A record merged already (elsewhere)"), (422, "A record merged into itself")
    ),
)
async def merge_customers(
    customer_id: str, request: MergeRequest, _: Admin, services: Services
) -> Customer:
    """`customer_id` in the body merges into this customer: its conversations follow, the
    details this one lacks are taken, and it stays as a record `merged_into` this one."""
    return await services.customers.merge(customer_id, request.customer_id)


@router.get("/customers/{customer_id}/timeline", responses=problem_responses(404))
async def customer_timeline(
    customer_id: str,
    caller: Reader,
    services: Services,
    cursor: str | None = None,
    limit: PageSize = 50,
) -> Page[TimelineEntry]:
    """Every conversation of the customer on every channel, newest first, with its channel,
    queue, agent, duration and outcome, and where its transcript is for the caller."""
    return await services.customers.timeline(caller, customer_id, after=cursor, limit=limit)


@router.get("/search/conversations", responses=problem_responses(REFUSED))
async def search_conversations(
    caller: Reader,
    services: Services,
    customer_id: str | None = None,
    number: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    text: Annotated[str | None, Query(min_length=1, max_length=500)] = None,
    channel: ChannelKind | None = None,
    queue_id: str | None = None,
    agent_id: str | None = None,
    conversation_status: Annotated[ConversationStatus | None, Query(alias="status")] = None,
    opened_from: date | None = None,
    opened_to: date | None = None,
    cursor: str | None = None,
    limit: PageSize = 50,
) -> Page[FoundConversation]:
    """Conversations newest first: an agent's own and its queues', everyone's for
    supervisors and admins. `text`: whole words its messages hold (internal notes' words for
    supervisors and admins only). The range of opening days defaults to the last 30 and
    spans at most 366."""
    criteria = SearchCriteria(
        customer_id=customer_id,
        number=number,
        text=text,
        channel=channel,
        queue_id=queue_id,
        agent_id=agent_id,
        status=conversation_status,
        opened_from=opened_from,
        opened_to=opened_to,
    )
    return await services.conversation_search.search(caller, criteria, after=cursor, limit=limit)
