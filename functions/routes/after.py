"""After the conversation, for staff: the agent's wrap-up, and the transcript (text, or HTML to
print to PDF) for agents (what they hold or held, under /api/conversations) and supervisors
(any, under /api/supervisor: each role area keeps its own roles). The chat customer's
side (survey, transcript by email) is in routes/chat.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from functions.dependencies import AgentCaller, Services, SupervisorCaller
from functions.problems import WORK_ACTION_PROBLEMS, problem_responses
from shared.domain.conversations import ConversationForAgents
from shared.domain.transcripts import TranscriptFormat
from shared.services.outcomes import Transcript, WrapUpForm

router = APIRouter(prefix="/api", tags=["conversations"])


class WrapUpRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    disposition_code: str | None = Field(
        default=None,
        max_length=64,
        description="one of the workstream's disposition codes (required when it has some)",
    )
    summary: str = Field(default="", max_length=4000)


@router.get("/conversations/{conversation_id}/wrap-up", responses=problem_responses(404))
async def wrap_up_form(conversation_id: str, caller: AgentCaller, services: Services) -> WrapUpForm:
    """The workstream's disposition codes to pick from, and the wrap-up written so far."""
    return await services.outcomes.wrap_up_form(caller.subject, conversation_id)


@router.post(
    "/conversations/{conversation_id}/wrap-up",
    responses={**WORK_ACTION_PROBLEMS, **problem_responses((422, "Unknown disposition code"))},
)
async def wrap_up(
    conversation_id: str, request: WrapUpRequest, caller: AgentCaller, services: Services
) -> ConversationForAgents:
    """The primary agent's wrap-up (a disposition code and a summary), while the work is active
    or in wrap-up; sent again, it replaces the earlier one. Closing stays `POST .../close`."""
    return await services.outcomes.wrap_up(
        caller.subject, conversation_id, request.disposition_code, request.summary.strip()
    )


TRANSCRIPT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": {}, "text/html": {}}},
    **problem_responses(404),
}
TranscriptFormatQuery = Annotated[
    TranscriptFormat, Query(description="text, or HTML to print (to PDF)")
]


@router.get(
    "/conversations/{conversation_id}/transcript",
    response_class=Response,
    responses=TRANSCRIPT_RESPONSES,
)
async def agent_transcript(
    conversation_id: str,
    caller: AgentCaller,
    services: Services,
    format: TranscriptFormatQuery = TranscriptFormat.TEXT,
) -> Response:
    """The transcript of a conversation the agent holds, consults on or held last, internal
    notes marked as notes (a customer's copy never has them). HTML is one self-contained page
    with a print stylesheet."""
    result = await services.outcomes.agent_transcript(caller.subject, conversation_id, format)
    return _transcript_response(conversation_id, format, result)


@router.get(
    "/supervisor/conversations/{conversation_id}/transcript",
    response_class=Response,
    responses=TRANSCRIPT_RESPONSES,
    tags=["supervisor"],
)
async def supervisor_transcript(
    conversation_id: str,
    _: SupervisorCaller,
    services: Services,
    format: TranscriptFormatQuery = TranscriptFormat.TEXT,
) -> Response:
    """Any conversation's transcript, for supervisors and admins, notes marked as notes."""
    result = await services.outcomes.supervisor_transcript(conversation_id, format)
    return _transcript_response(conversation_id, format, result)


def _transcript_response(
    conversation_id: str, form: TranscriptFormat, result: Transcript
) -> Response:
    name = f"transcript-{conversation_id[:64]}.{'html' if form is TranscriptFormat.HTML else 'txt'}"
    return Response(
        result.content,
        media_type=result.media_type,
        headers={
            "Content-Disposition": f'inline; filename="{name}"',
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )
