"""Supervisors' HTTP API: live monitoring of conversations and agents, any conversation's
messages (internal notes included), intraday and historical figures; and an agent's own
figures (an agent reads only its own)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from functions.dependencies import AgentCaller, Services, SupervisorCaller
from shared.domain.figures import AgentFilter, AgentMonitor, ConversationFilter, ConversationState
from shared.domain.models import ChannelKind, Message, Presence, WorkItemStatus
from shared.services.figures import DayReport, FiguresView, Intraday
from shared.services.supervisor import Page

router = APIRouter(prefix="/api", tags=["supervisor"])
PageSize = Annotated[int, Query(ge=1, le=500)]


@router.get("/supervisor/conversations")
async def ongoing_conversations(
    _: SupervisorCaller,
    services: Services,
    status: WorkItemStatus | None = None,
    queue: str | None = None,
    agent: str | None = None,
    channel: ChannelKind | None = None,
    cursor: str | None = None,
    limit: PageSize = 100,
) -> Page[ConversationState]:
    """Every open conversation of every channel, with its work item, in id order."""
    where = ConversationFilter(status=status, queue_id=queue, agent_id=agent, channel=channel)
    return await services.supervisor.conversations(where, after=cursor, limit=limit)


@router.get("/supervisor/conversations/{conversation_id}/messages")
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


@router.get("/supervisor/history")
async def history(
    _: SupervisorCaller,
    services: Services,
    first: Annotated[date, Query(alias="from")],
    last: Annotated[date, Query(alias="to")],
) -> list[DayReport]:
    """Per day from `from` to `to` (inclusive), per queue and per agent."""
    return await services.figures.history(first, last)


@router.get("/agents/me/figures")
async def my_figures(
    caller: AgentCaller, services: Services, day: date | None = None
) -> FiguresView:
    """The calling agent's own figures for a day (today by default)."""
    return await services.figures.agent_figures(caller.subject, day)
