"""Supervisors' resources: live monitoring of conversations and agents, any conversation's messages
(internal notes included) and routing decisions, take-over, intraday and historical figures."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from functions.csv_export import CSV_RESPONSE, csv_response, wants_csv
from functions.dependencies import PageSize, Services, SupervisorCaller, require
from functions.problems import WORK_ACTION_PROBLEMS, problem_responses
from shared.domain.channels import ChannelKind
from shared.domain.conversations import Conversation, Message
from shared.domain.figures import AgentFilter, AgentMonitor, ConversationFilter, ConversationState
from shared.domain.history import GroupBy
from shared.domain.identity import Principal, Role
from shared.domain.presence import Presence
from shared.domain.sentiment import SentimentLabel
from shared.domain.work import RoutingDecision, WorkItemStatus
from shared.services.agent_work import WorkView
from shared.services.figures import History, HistoryRow, Intraday
from shared.services.listing import Page
from shared.services.supervisor import Monitored

router = APIRouter(prefix="/api", tags=["supervisor"])


@router.get("/supervisor/conversations/{conversation_id}/routing", responses=problem_responses(404))
async def routing_history(
    conversation_id: str, caller: SupervisorCaller, services: Services
) -> list[RoutingDecision]:
    return list(await services.assignments.routing_history(conversation_id))


@router.get("/supervisor/conversations")
async def ongoing_conversations(
    _: SupervisorCaller,
    services: Services,
    status: WorkItemStatus | None = None,
    queue: str | None = None,
    agent: str | None = None,
    channel: ChannelKind | None = None,
    sentiment: SentimentLabel | None = None,
    cursor: str | None = None,
    limit: PageSize = 100,
) -> Page[ConversationState]:
    """Every open conversation of every channel, with its work item and its rolling
    sentiment (a lexicon score), in id order."""
    where = ConversationFilter(
        status=status, queue_id=queue, agent_id=agent, channel=channel, sentiment=sentiment
    )
    return await services.supervisor.conversations(where, after=cursor, limit=limit)


@router.get("/supervisor/customers/{customer_id}/conversations", responses=problem_responses(404))
async def customer_history(
    customer_id: str,
    _: SupervisorCaller,
    services: Services,
    cursor: str | None = None,
    limit: PageSize = 100,
) -> Page[Conversation]:
    """History by customer: every conversation identified as the customer's, open or closed
    (with when and why it closed), on every channel, in id order."""
    return await services.supervisor.customer_history(customer_id, after=cursor, limit=limit)


@router.get(
    "/supervisor/conversations/{conversation_id}/messages", responses=problem_responses(404)
)
async def conversation_messages(
    conversation_id: str, _: SupervisorCaller, services: Services
) -> list[Message]:
    return list(await services.supervisor.messages(conversation_id))


@router.get("/supervisor/agents")
async def agents(
    _: SupervisorCaller,
    services: Services,
    presence: Presence | None = None,
    queue: str | None = None,
    cursor: str | None = None,
    limit: PageSize = 100,
) -> Page[AgentMonitor]:
    """Every agent (no cap), with presence, used and free capacity and the work it holds."""
    where = AgentFilter(presence=presence, queue_id=queue)
    return await services.supervisor.agents(where, after=cursor, limit=limit)


@router.get("/supervisor/intraday")
async def intraday(_: SupervisorCaller, services: Services) -> Intraday:
    """Today (in the organization's time zone) per queue and per agent: the stored figures
    the aggregates timer refreshes every minute, with the live backlog and availability."""
    return await services.figures.intraday()


@router.get(
    "/supervisor/history",
    response_model=History,
    response_model_by_alias=True,
    responses=CSV_RESPONSE,
)
async def history(
    _: SupervisorCaller,
    services: Services,
    request: Request,
    first: Annotated[date, Query(alias="from")],
    last: Annotated[date, Query(alias="to")],
    group_by: GroupBy = GroupBy.DAY,
    format: Literal["json", "csv"] | None = None,
) -> Response | History:
    """From `from` to `to` (inclusive, up to ten years), one row per day, per queue or per
    agent. CSV with `format=csv` or `Accept: text/csv` (streamed a day at a time)."""
    rows = services.figures.history(first, last, group_by)
    if wants_csv(request, format):
        name = f"history-{first}-{last}-by-{group_by}.csv"
        return csv_response(HistoryRow, rows, filename=name)
    return History(first=first, last=last, group_by=group_by, rows=[r async for r in rows])


@router.get("/supervisor/conversations/{conversation_id}", responses=problem_responses(404))
async def monitor_conversation(
    conversation_id: str, _: SupervisorCaller, services: Services
) -> Monitored:
    """Join a conversation to monitor it, read-only: its work item and every message, internal
    notes included. Poll it to follow the conversation live."""
    return await services.supervisor.monitor(conversation_id)


@router.post(
    "/supervisor/conversations/{conversation_id}/take-over", responses=WORK_ACTION_PROBLEMS
)
async def take_over(
    conversation_id: str,
    caller: Annotated[Principal, require(Role.SUPERVISOR)],
    services: Services,
) -> WorkView:
    """The calling supervisor becomes the conversation's primary agent (its active work is
    transferred from its agent, waiting work assigned), then works it with the agent API. The
    supervisor needs an agent record with its token's subject as id, a presence the workstream
    allows and room for the work."""
    return await services.collaboration.take_over(caller.subject, conversation_id)
