"""The chat widget API: sessions, messages (long-poll and Server-Sent Events), leaving; and
the widget script with its demo pages. The conversation token authenticates every call on a
session; widgets call from any site, so /api/chat/ answers CORS (bearer tokens, no cookies)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, status
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from functions.dependencies import Services
from functions.problems import problem_responses
from shared.domain.chat import CustomerMessage, StartChat
from shared.domain.conversations import Conversation
from shared.domain.outcomes import CsatAnswer
from shared.errors import NotFound, Unauthorized
from shared.services.chat import (
    ChatEvent,
    ChatMessageView,
    ChatService,
    ChatSession,
    ChatUpdate,
    WidgetView,
)
from shared.services.outcomes import AfterChatView, TranscriptEmailed
from shared.services.typing import CustomerReadMark

router = APIRouter(tags=["chat"])

CHAT_PREFIX = "/api/chat/"
_STATIC = resources.files("shared.channels") / "chat_widget"
# Our pages run our script only; whatever a customer wrote can never become markup or code.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' "
    "'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
DEMO_PAGES = {"": "demo.html", "second.html": "second.html"}


class ChatCors:
    """CORS for the chat API alone: the agent and admin APIs stay same-origin."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._cors = CORSMiddleware(
            app,
            allow_origins=["*"],
            allow_methods=["GET", "POST"],
            allow_headers=["authorization", "content-type", "last-event-id"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope["path"]).startswith(CHAT_PREFIX):
            await self._cors(scope, receive, send)
        else:
            await self._app(scope, receive, send)


def _bearer(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _conversation(
    conversation_id: str,
    services: Services,
    authorization: Annotated[str | None, Header()] = None,
) -> Conversation:
    token = _bearer(authorization)
    if token is None:
        raise Unauthorized("a conversation token is required")
    return await services.chat.authorize(token, conversation_id)


ChatConversation = Annotated[Conversation, Depends(_conversation)]
# A session's own token: none or a bad one is 401, another conversation's 404 (as if none).
SESSION_PROBLEMS = (401, 404)
ENDED = (409, "The conversation has ended")


# The page embedding the widget, as the browser names it: a widget may admit only some sites.
PageOrigin = Annotated[str | None, Header(alias="origin")]
NOT_ON_THIS_SITE = (403, "The widget does not allow the calling page's origin")


@router.get("/api/chat/widgets/{widget_id}", responses=problem_responses(404, NOT_ON_THIS_SITE))
async def widget(widget_id: str, services: Services, origin: PageOrigin = None) -> WidgetView:
    """The widget's pre-chat form."""
    return await services.chat.widget(widget_id, origin=origin)


@router.post(
    "/api/chat/sessions",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(404, NOT_ON_THIS_SITE),
)
async def start_session(
    request: StartChat, services: Services, origin: PageOrigin = None
) -> ChatSession:
    return await services.chat.start(request, origin=origin)


@router.post(
    "/api/chat/sessions/{conversation_id}/messages",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(*SESSION_PROBLEMS, ENDED),
)
async def send_message(
    sent: CustomerMessage, conversation: ChatConversation, services: Services
) -> ChatMessageView:
    return await services.chat.post(conversation, sent)


@router.get(
    "/api/chat/sessions/{conversation_id}/messages",
    responses=problem_responses(*SESSION_PROBLEMS),
)
async def read_messages(
    conversation: ChatConversation,
    services: Services,
    after: Annotated[int, Query(ge=0, description="the last sequence the widget has")] = 0,
    wait: Annotated[
        float, Query(ge=0, description="hold the read this long for news (capped)")
    ] = 0.0,
    state: Annotated[
        str | None, Query(max_length=64, description="the `state` the widget has")
    ] = None,
) -> ChatUpdate:
    return await services.chat.read(conversation, after=after, wait=wait, known_state=state)


@router.get(
    "/api/chat/sessions/{conversation_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}},
        **problem_responses(*SESSION_PROBLEMS),
    },
)
async def events(
    conversation_id: str,
    services: Services,
    authorization: Annotated[str | None, Header()] = None,
    last_event_id: Annotated[str | None, Header()] = None,
    access_token: Annotated[
        str | None, Query(description="for EventSource, which cannot send headers")
    ] = None,
    after: Annotated[int, Query(ge=0)] = 0,
) -> StreamingResponse:
    """Server-Sent Events: state, agent_joined, typing, message, agent_message,
    system_message, ended.
    A connection lasts at most the configured wait; reconnect with Last-Event-ID."""
    token = _bearer(authorization) or access_token
    if token is None:
        raise Unauthorized("a conversation token is required")
    conversation = await services.chat.authorize(token, conversation_id)
    if last_event_id is not None and last_event_id.isdigit():
        after = max(after, int(last_event_id))
    return StreamingResponse(
        _sse(services.chat, conversation, after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _sse(chat: ChatService, conversation: Conversation, after: int) -> AsyncIterator[str]:
    yield "retry: 1000\n\n"
    async for event in chat.events(conversation, after=after):
        yield sse_frame(event)


def sse_frame(event: ChatEvent) -> str:
    """One event in the text/event-stream format. The data is one line of JSON: newlines in
    a message's text are escaped by JSON, so they cannot forge fields or events."""
    lines = [f"event: {event.event}"]
    if event.id is not None:
        lines.append(f"id: {event.id}")
    lines.append("data: " + json.dumps(event.data, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


@router.post(
    "/api/chat/sessions/{conversation_id}/typing",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(*SESSION_PROBLEMS, ENDED),
)
async def customer_typing(conversation: ChatConversation, services: Services) -> None:
    """The visitor is typing: repeat every few seconds while they type."""
    await services.chat.typing(conversation)


@router.post(
    "/api/chat/sessions/{conversation_id}/read", responses=problem_responses(*SESSION_PROBLEMS)
)
async def customer_read(conversation: ChatConversation, services: Services) -> CustomerReadMark:
    """The visitor has the conversation's messages in view: the agent sees when it last did."""
    return await services.typing.customer_read(conversation.id)


@router.post(
    "/api/chat/sessions/{conversation_id}/end", responses=problem_responses(*SESSION_PROBLEMS)
)
async def end_session(conversation: ChatConversation, services: Services) -> ChatUpdate:
    return await services.chat.end(conversation)


# --- after the chat: the survey and the transcript by email -------------------------------


class SurveyAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: int = Field(
        description="1 (poor) to 5 (excellent); any other number is 422",
        json_schema_extra={"minimum": 1, "maximum": 5},
    )
    comment: str = Field(default="", max_length=1000)


class TranscriptEmailRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@router.get(
    "/api/chat/sessions/{conversation_id}/after", responses=problem_responses(*SESSION_PROBLEMS)
)
async def after_chat(conversation: ChatConversation, services: Services) -> AfterChatView:
    """What the widget offers once the chat has ended: the survey, the transcript by email."""
    return await services.outcomes.after_chat(conversation)


@router.post(
    "/api/chat/sessions/{conversation_id}/survey",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(
        *SESSION_PROBLEMS, (409, "Not ended, no survey, or answered already")
    ),
)
async def answer_survey(
    answer: SurveyAnswer, conversation: ChatConversation, services: Services
) -> CsatAnswer:
    """The customer's satisfaction, once per conversation, after the chat has ended."""
    return await services.outcomes.chat_survey(conversation, answer.score, answer.comment)


@router.post(
    "/api/chat/sessions/{conversation_id}/transcript-email",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(
        *SESSION_PROBLEMS,
        (409, "Not ended yet, or emailed too often"),
        (503, "The email could not be sent now"),
    ),
)
async def email_transcript(
    request: TranscriptEmailRequest, conversation: ChatConversation, services: Services
) -> TranscriptEmailed:
    """The transcript (never an internal note) to the customer's address, after the chat."""
    return await services.outcomes.email_transcript(conversation, request.email)


# --- the widget and its demo --------------------------------------------------------------------


@router.get("/api/chat/widget.js", include_in_schema=False)
async def widget_script() -> Response:
    return Response(
        (_STATIC / "widget.js").read_text(encoding="utf-8"),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/demo/", include_in_schema=False)
@router.get("/demo/{page}", include_in_schema=False)
async def demo_page(page: str = "") -> Response:
    """Two pages embedding the widget, to see a conversation follow the visitor."""
    name = DEMO_PAGES.get(page)
    if name is None:
        raise NotFound(f"no demo page {page!r}")
    return Response(
        (_STATIC / name).read_text(encoding="utf-8"),
        media_type="text/html; charset=utf-8",
        headers=PAGE_HEADERS,
    )
