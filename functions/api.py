"""The one FastAPI application holding every HTTP route."""

from __future__ import annotations

from fastapi import FastAPI

from functions.body_limit import BodyLimit
from functions.dependencies import ContainerProvider
from functions.openapi import document_problems
from functions.problems import install_problem_handlers
from functions.routes import (
    after,
    agents,
    chat,
    conversations,
    ops,
    pages,
    queues,
    sms,
    supervisor,
)
from functions.routes.admin import campaigns, channels, routing_config, settings
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
        ops,
        sms,
        chat,
        conversations,
        after,
        agents,
        queues,
        supervisor,
        channels,
        campaigns,
        routing_config,
        settings,
        pages,
    ):
        api.include_router(module.router)
    # Inside the chat CORS layer, so a widget can read its 413.
    api.add_middleware(BodyLimit)
    api.add_middleware(chat.ChatCors)
    return api
