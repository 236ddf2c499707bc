"""The agent API: presence (sign-in, heartbeat, choice), own work, conversation messages."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from functions.dependencies import AgentCaller, Services
from functions.http_routing import WORK_ACTION_PROBLEMS
from functions.problems import problem_responses
from shared.domain.conversations import Message
from shared.domain.presence import Presence, PresenceChange
from shared.services.agent_work import PresenceView, WorkView

router = APIRouter(prefix="/api", tags=["agent"])


class PresenceChoice(BaseModel):
    """A base state, or the id of a custom presence an admin defined."""

    presence: Presence | None = None
    custom_presence_id: str | None = Field(default=None, min_length=1)


class NewMessage(BaseModel):
    text: str = Field(min_length=1, max_length=4000)
    internal: bool = Field(default=False, description="an internal note: agents only")


@router.put(
    "/agents/me/presence", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(404)
)
async def set_presence(choice: PresenceChoice, caller: AgentCaller, services: Services) -> None:
    """A manual choice: it holds until sign-out or inactivity."""
    await services.agent_work.set_presence(
        caller.subject, choice.presence, choice.custom_presence_id
    )


@router.get("/agents/me/presence", responses=problem_responses(404))
async def get_presence(caller: AgentCaller, services: Services) -> PresenceView:
    return await services.agent_work.presence(caller.subject)


@router.post("/agents/me/sign-in", responses=problem_responses(404))
async def sign_in(caller: AgentCaller, services: Services) -> PresenceChange:
    return await services.agent_work.sign_in(caller.subject)


@router.post("/agents/me/sign-out", responses=problem_responses(404))
async def sign_out(caller: AgentCaller, services: Services) -> PresenceChange:
    return await services.agent_work.sign_out(caller.subject)


@router.post("/agents/me/heartbeat", responses=problem_responses(404))
async def heartbeat(caller: AgentCaller, services: Services) -> PresenceChange:
    return await services.agent_work.heartbeat(caller.subject)


@router.get("/agents/me/work")
async def my_work(caller: AgentCaller, services: Services) -> list[WorkView]:
    return await services.agent_work.my_work(caller.subject)


@router.get("/conversations/{conversation_id}/messages", responses=problem_responses(404))
async def conversation_messages(
    conversation_id: str, caller: AgentCaller, services: Services
) -> list[Message]:
    return list(await services.agent_work.messages(caller.subject, conversation_id))


@router.post(
    "/conversations/{conversation_id}/messages",
    status_code=status.HTTP_201_CREATED,
    responses=WORK_ACTION_PROBLEMS,
)
async def post_message(
    conversation_id: str, new: NewMessage, caller: AgentCaller, services: Services
) -> Message:
    return await services.agent_work.post_message(
        caller.subject, conversation_id, new.text, internal=new.internal
    )
