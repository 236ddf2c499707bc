"""Routed work through HTTP: agents accept or decline offers, list a queue's waiting work and
pick from it, close their work; supervisors read why a conversation went where it went."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from functions.dependencies import AgentCaller, Services, SupervisorCaller
from shared.domain.models import RoutingDecision
from shared.services.agent_work import WorkView

router = APIRouter(prefix="/api", tags=["routing"])
NO_CONTENT = status.HTTP_204_NO_CONTENT


@router.post("/conversations/{conversation_id}/accept")
async def accept_offer(conversation_id: str, caller: AgentCaller, services: Services) -> WorkView:
    return await services.assignments.accept(caller.subject, conversation_id)


@router.post("/conversations/{conversation_id}/decline", status_code=NO_CONTENT)
async def decline_offer(conversation_id: str, caller: AgentCaller, services: Services) -> None:
    await services.assignments.decline(caller.subject, conversation_id)


@router.get("/queues/{queue_id}/items")
async def waiting_work(
    queue_id: str,
    caller: AgentCaller,
    services: Services,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[WorkView]:
    return await services.assignments.waiting_work(caller.subject, queue_id, limit=limit)


@router.post("/conversations/{conversation_id}/pick")
async def pick(conversation_id: str, caller: AgentCaller, services: Services) -> WorkView:
    return await services.assignments.pick(caller.subject, conversation_id)


@router.post("/conversations/{conversation_id}/close", status_code=NO_CONTENT)
async def close(conversation_id: str, caller: AgentCaller, services: Services) -> None:
    await services.assignments.close(caller.subject, conversation_id)


@router.get("/supervisor/conversations/{conversation_id}/routing")
async def routing_history(
    conversation_id: str, caller: SupervisorCaller, services: Services
) -> list[RoutingDecision]:
    return list(await services.assignments.routing_history(conversation_id))
