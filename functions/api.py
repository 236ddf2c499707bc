"""The one FastAPI application holding every HTTP route."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import FastAPI

from functions.body_limit import BodyLimit
from functions.dependencies import ContainerProvider
from functions.http_spans import ServerSpans
from functions.openapi import document_problems
from functions.problems import install_problem_handlers
from functions.routes import (
    after,
    agents,
    attachments,
    chat,
    conversations,
    customers,
    ops,
    pages,
    queues,
    quick_replies,
    sms,
    supervisor,
)
from functions.routes.admin import campaigns, channels, routing_config, settings
from functions.routes.admin import quick_replies as admin_quick_replies
from shared.bootstrap import get_container


def _without_native_telemetry() -> dict[str, Any]:
    """Recent FastAPI traces requests itself once OpenTelemetry is installed: its spans record
    query strings (webhook secrets, searched numbers), and its request data hands bodies and
    validation inputs to processors and logs. Off, where FastAPI has it; the app's own server
    span (functions/http_spans.py) names the route template only."""
    if "telemetry" not in inspect.signature(FastAPI).parameters:
        return {}
    off = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}
    return {"telemetry": off}


def create_api(container_provider: ContainerProvider = get_container) -> FastAPI:
    api = FastAPI(
        title="Omnichannel customer service",
        version="0.1.0",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        **_without_native_telemetry(),
    )
    api.state.container_provider = container_provider
    install_problem_handlers(api)
    document_problems(api)
    for module in (
        ops,
        sms,
        chat,
        conversations,
        customers,
        attachments,
        after,
        agents,
        queues,
        supervisor,
        channels,
        campaigns,
        routing_config,
        settings,
        admin_quick_replies,
        quick_replies,
        pages,
    ):
        api.include_router(module.router)
    # Inside the chat CORS layer, so a widget can read its 413.
    api.add_middleware(BodyLimit)
    api.add_middleware(chat.ChatCors)
    # Outermost: the span covers every answer, a refused body or a CORS preflight too.
    api.add_middleware(ServerSpans)
    return api
