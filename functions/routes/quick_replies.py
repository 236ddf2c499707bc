"""Quick replies as agents use them: found by a few letters, filled for a conversation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query

from functions.dependencies import AgentCaller, Services
from functions.problems import problem_responses
from shared.domain.quick_replies import QuickReply, RenderedQuickReply

router = APIRouter(prefix="/api", tags=["quick replies"])


@router.get("/quick-replies", responses=problem_responses(404))
async def search_quick_replies(
    caller: AgentCaller,
    services: Services,
    q: Annotated[str, Query(max_length=200, description="a piece of the title or text")] = "",
    conversation_id: Annotated[
        str | None,
        Query(description="that conversation's workstream and language only (404 if not yours)"),
    ] = None,
) -> Sequence[QuickReply]:
    return await services.quick_replies.search(caller.subject, q, conversation_id=conversation_id)


@router.get(
    "/conversations/{conversation_id}/quick-replies/{reply_id}",
    responses=problem_responses((404, "Not your conversation, or not its workstream's reply")),
)
async def render_quick_reply(
    conversation_id: str, reply_id: str, caller: AgentCaller, services: Services
) -> RenderedQuickReply:
    return await services.quick_replies.render_for(caller.subject, reply_id, conversation_id)
