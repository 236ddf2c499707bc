"""The agent's actions on a conversation besides replying (issue 6): consult, transfer, end
(wrap-up), reopen; and the admin's presence settings. Close is in http_routing."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from functions.dependencies import AgentCaller, Services, require
from functions.http_routing import WORK_ACTION_PROBLEMS
from functions.problems import problem_responses
from shared.auth import Role
from shared.domain.presence import PresenceSettings
from shared.services.agent_work import WorkView
from shared.services.collaboration import ConsultCandidate, TransferTarget
from shared.services.typing import AgentTypingView

router = APIRouter(prefix="/api", tags=["agent"])
admin = APIRouter(prefix="/api/admin", tags=["admin"], dependencies=[require(Role.ADMIN)])


class ConsultRequest(BaseModel):
    agent_id: str = Field(min_length=1)


@router.get("/conversations/{conversation_id}/consult-candidates", responses=WORK_ACTION_PROBLEMS)
async def consult_candidates(
    conversation_id: str, caller: AgentCaller, services: Services
) -> list[ConsultCandidate]:
    return await services.collaboration.consult_candidates(caller.subject, conversation_id)


@router.post("/conversations/{conversation_id}/consult", responses=WORK_ACTION_PROBLEMS)
async def consult(
    conversation_id: str, request: ConsultRequest, caller: AgentCaller, services: Services
) -> WorkView:
    return await services.collaboration.consult(caller.subject, conversation_id, request.agent_id)


@router.post(
    "/conversations/{conversation_id}/consult/leave",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=WORK_ACTION_PROBLEMS,
)
async def leave_consult(conversation_id: str, caller: AgentCaller, services: Services) -> None:
    await services.collaboration.leave_consult(caller.subject, conversation_id)


@router.post("/conversations/{conversation_id}/transfer", responses=WORK_ACTION_PROBLEMS)
async def transfer(
    conversation_id: str, target: TransferTarget, caller: AgentCaller, services: Services
) -> WorkView:
    return await services.collaboration.transfer(caller.subject, conversation_id, target)


@router.post("/conversations/{conversation_id}/end", responses=WORK_ACTION_PROBLEMS)
async def end(conversation_id: str, caller: AgentCaller, services: Services) -> WorkView:
    return await services.collaboration.end(caller.subject, conversation_id)


@router.post("/conversations/{conversation_id}/reopen", responses=WORK_ACTION_PROBLEMS)
async def reopen(conversation_id: str, caller: AgentCaller, services: Services) -> WorkView:
    return await services.collaboration.reopen(caller.subject, conversation_id)


# --- typing indicators (issue 7) -----------------------------------------------------------------


@router.post(
    "/conversations/{conversation_id}/typing",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=WORK_ACTION_PROBLEMS,
)
async def agent_typing(conversation_id: str, caller: AgentCaller, services: Services) -> None:
    """The primary agent is typing: the customer sees it for a few seconds; repeat while
    typing."""
    await services.typing.agent_types(caller.subject, conversation_id)


@router.get("/conversations/{conversation_id}/typing", responses=problem_responses(404))
async def customer_typing(
    conversation_id: str, caller: AgentCaller, services: Services
) -> AgentTypingView:
    """Whether the customer is typing now."""
    return await services.typing.agent_view(caller.subject, conversation_id)


@admin.get("/presences")
async def presence_settings(services: Services) -> PresenceSettings:
    """The presence policy (inactivity timeout, default presence) and custom presences."""
    return await services.presence.settings()


@admin.put("/presences")
async def put_presence_settings(settings: PresenceSettings, services: Services) -> PresenceSettings:
    return await services.presence.put_settings(settings)
