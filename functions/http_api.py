"""The one FastAPI application holding every HTTP route."""

from __future__ import annotations

from fastapi import FastAPI

from functions import (
    http_admin,
    http_admin_routing,
    http_agents,
    http_chat,
    http_console,
    http_conversations,
    http_ops,
    http_routing,
    http_sms,
    http_supervisor,
)
from functions.body_limit import BodyLimit
from functions.dependencies import ContainerProvider
from functions.openapi import document_problems
from functions.problems import install_problem_handlers
from shared.bootstrap import get_container


def create_api(container_provider: ContainerProvider = get_container) -> FastAPI:
    api = FastAPI(
        title="Omnichannel customer service",
        version="0.1.0",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    api.state.container_provider = container_provider
    install_problem_handlers(api)
    document_problems(api)
    for module in (
        http_ops,
        http_sms,
        http_agents,
        http_admin,
        http_admin_routing,
        http_routing,
        http_chat,
        http_conversations,
        http_console,
        http_supervisor,
    ):
        api.include_router(module.router)
    api.include_router(http_conversations.admin)
    # Inside the chat CORS layer, so a widget can read its 413.
    api.add_middleware(BodyLimit)
    api.add_middleware(http_chat.ChatCors)
    return api
