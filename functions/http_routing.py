"""Routed work through HTTP: agents accept or decline offers, list a queue's waiting work and
pick from it, close their work; supervisors read why a conversation went where it went."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from functions.dependencies import AgentCaller, Services, SupervisorCaller
from functions.problems import problem_responses
from shared.domain.work import RoutingDecision
from shared.services.agent_work import WorkView

router = APIRouter(prefix="/api", tags=["routing"])
NO_CONTENT = status.HTTP_204_NO_CONTENT
# An agent's action on a conversation: 404 when it is not the caller's to act on (as if it
# did not exist), 409 when its state does not allow the action or changed meanwhile.
WORK_ACTION_PROBLEMS = problem_responses(404, 409)


@router.post("/conversations/{conversation_id}/accept", responses=WORK_ACTION_PROBLEMS)
async def accept_offer(conversation_id: str, caller: AgentCaller, services: Services) -> WorkView:
    return await services.assignments.accept(caller.subject, conversation_id)


@router.post(
    "/conversations/{conversation_id}/decline",
    status_code=NO_CONTENT,
    responses=WORK_ACTION_PROBLEMS,
)
async def decline_offer(conversation_id: str, caller: AgentCaller, services: Services) -> None:
    await services.assignments.decline(caller.subject, conversation_id)


@router.get("/queues/{queue_id}/items", responses=problem_responses(404))
async def waiting_work(
    queue_id: str,
    caller: AgentCaller,
    services: Services,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[WorkView]:
    return await services.assignments.waiting_work(caller.subject, queue_id, limit=limit)


@router.post("/conversations/{conversation_id}/pick", responses=WORK_ACTION_PROBLEMS)
async def pick(conversation_id: str, caller: AgentCaller, services: Services) -> WorkView:
    return await services.assignments.pick(caller.subject, conversation_id)


@router.post(
    "/conversations/{conversation_id}/close", status_code=NO_CONTENT, responses=WORK_ACTION_PROBLEMS
)
async def close(conversation_id: str, caller: AgentCaller, services: Services) -> None:
    await services.assignments.close(caller.subject, conversation_id)


@router.get("/supervisor/conversations/{conversation_id}/routing", responses=problem_responses(404))
async def routing_history(
    conversation_id: str, caller: SupervisorCaller, services: Services
) -> list[RoutingDecision]:
    return list(await services.assignments.routing_history(conversation_id))
