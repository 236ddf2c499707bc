"""The agent API: presence, own work, conversation messages."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from functions.dependencies import AgentCaller, Services
from shared.domain.models import Message, Presence
from shared.services.agent_work import WorkView

router = APIRouter(prefix="/api", tags=["agent"])


class PresenceChange(BaseModel):
    presence: Presence


class NewMessage(BaseModel):
    text: str = Field(min_length=1, max_length=4000)
    internal: bool = Field(default=False, description="an internal note: agents only")


@router.put("/agents/me/presence", status_code=status.HTTP_204_NO_CONTENT)
async def set_presence(change: PresenceChange, caller: AgentCaller, services: Services) -> None:
    await services.agent_work.set_presence(caller.subject, change.presence)


@router.get("/agents/me/work")
async def my_work(caller: AgentCaller, services: Services) -> list[WorkView]:
    return await services.agent_work.my_work(caller.subject)


@router.get("/conversations/{conversation_id}/messages")
async def conversation_messages(
    conversation_id: str, caller: AgentCaller, services: Services
) -> list[Message]:
    return list(await services.agent_work.messages(caller.subject, conversation_id))


@router.post("/conversations/{conversation_id}/messages", status_code=status.HTTP_201_CREATED)
async def post_message(
    conversation_id: str, new: NewMessage, caller: AgentCaller, services: Services
) -> Message:
    return await services.agent_work.post_message(
        caller.subject, conversation_id, new.text, internal=new.internal
    )
