"""The admin API: channels, templates and templated bulk SMS, and the sentiment switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel

from functions.dependencies import Services, require
from functions.problems import problem_responses
from shared.auth import Role
from shared.domain.campaigns import Template
from shared.domain.sentiment import SentimentSettings
from shared.errors import NotFound
from shared.services.campaigns import BulkOutboundRequest, JobProgress, TemplateInput
from shared.services.channels import ChannelInput, ChannelView, NumberCheck

router = APIRouter(
    prefix="/api/admin",
    tags=["admin"],
    dependencies=[require(Role.ADMIN)],
)
PageSize = Annotated[int, Query(ge=1, le=500)]


class ChannelPage(BaseModel):
    items: list[ChannelView]
    next_cursor: str | None


class TemplatePage(BaseModel):
    items: list[Template]
    next_cursor: str | None


def next_cursor(ids: list[str], limit: int) -> str | None:
    return ids[-1] if len(ids) == limit else None


@router.get("/channels")
async def list_channels(
    services: Services, cursor: str | None = None, limit: PageSize = 100
) -> ChannelPage:
    channels = await services.store.list_channels(after=cursor, limit=limit)
    return ChannelPage(
        items=[ChannelView.of(c) for c in channels],
        next_cursor=next_cursor([c.id for c in channels], limit),
    )


@router.get("/channels/{channel_id}", responses=problem_responses(404))
async def get_channel(channel_id: str, services: Services) -> ChannelView:
    return ChannelView.of(await services.channels.get(channel_id))


@router.put(
    "/channels/{channel_id}",
    responses=problem_responses(
        (404, "No such workstream"), (409, "An address belongs to another channel")
    ),
)
async def put_channel(channel_id: str, given: ChannelInput, services: Services) -> ChannelView:
    return ChannelView.of(await services.channels.put(channel_id, given))


@router.delete(
    "/channels/{channel_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404),
)
async def delete_channel(channel_id: str, services: Services) -> Response:
    if not await services.store.delete_channel(channel_id):
        raise NotFound(f"channel {channel_id} does not exist")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/channels/{channel_id}/validate", responses=problem_responses(404))
async def validate_channel(channel_id: str, services: Services) -> list[NumberCheck]:
    return await services.channels.validate(channel_id)


@router.get("/templates")
async def list_templates(
    services: Services, cursor: str | None = None, limit: PageSize = 100
) -> TemplatePage:
    templates = list(await services.store.list_templates(after=cursor, limit=limit))
    return TemplatePage(items=templates, next_cursor=next_cursor([t.id for t in templates], limit))


@router.get("/templates/{template_id}", responses=problem_responses(404))
async def get_template(template_id: str, services: Services) -> Template:
    template = await services.store.get_template(template_id)
    if template is None:
        raise NotFound(f"template {template_id} does not exist")
    return template


@router.put("/templates/{template_id}")
async def put_template(template_id: str, given: TemplateInput, services: Services) -> Template:
    return await services.campaigns.put_template(template_id, given)


@router.delete(
    "/templates/{template_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404),
)
async def delete_template(template_id: str, services: Services) -> Response:
    if not await services.store.delete_template(template_id):
        raise NotFound(f"template {template_id} does not exist")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/outbound",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses((404, "No such template, or SMS channel")),
)
async def start_outbound(request: BulkOutboundRequest, services: Services) -> JobProgress:
    return await services.campaigns.start(request)


@router.get("/outbound/{job_id}", responses=problem_responses(404))
async def outbound_progress(job_id: str, services: Services) -> JobProgress:
    return await services.campaigns.progress(job_id)


@router.get("/sentiment")
async def sentiment_settings(services: Services) -> SentimentSettings:
    """Whether customer messages are scored for supervisors (before any admin choice: the
    deployment's SENTIMENT_ENABLED)."""
    return await services.sentiment.settings()


@router.put("/sentiment")
async def put_sentiment_settings(
    settings: SentimentSettings, services: Services
) -> SentimentSettings:
    """Switch scoring on or off: it applies to messages from now on (every instance within
    30 seconds); scores already given stay."""
    return await services.sentiment.put(settings)
