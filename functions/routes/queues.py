"""A queue's waiting work, for agents who pick it (pick mode)."""

from __future__ import annotations

from fastapi import APIRouter

from functions.dependencies import AgentCaller, PageSize, Services
from functions.problems import problem_responses
from shared.services.agent_work import WorkView

router = APIRouter(prefix="/api", tags=["routing"])


@router.get("/queues/{queue_id}/items", responses=problem_responses(404))
async def waiting_work(
    queue_id: str,
    caller: AgentCaller,
    services: Services,
    limit: PageSize = 50,
) -> list[WorkView]:
    return await services.assignments.waiting_work(caller.subject, queue_id, limit=limit)
