"""The agent's own resources: presence (sign-in, heartbeat, a manual choice), its work and its
figures."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from functions.dependencies import AgentCaller, Services
from functions.problems import problem_responses
from shared.domain.presence import Presence, PresenceChange
from shared.services.agent_work import PresenceView, WorkView
from shared.services.figures import FiguresView

router = APIRouter(prefix="/api", tags=["agent"])


class PresenceChoice(BaseModel):
    """A base state, or the id of a custom presence an admin defined."""

    presence: Presence | None = None
    custom_presence_id: str | None = Field(default=None, min_length=1)


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


@router.get("/agents/me/figures")
async def my_figures(
    caller: AgentCaller, services: Services, day: date | None = None
) -> FiguresView:
    """The calling agent's own figures for a day (today by default)."""
    return await services.figures.agent_figures(caller.subject, day)
