"""Channels: provider accounts with their numbers, and the chat widget. Secrets are write-only."""

from __future__ import annotations

from fastapi import Response, status

from functions.dependencies import PageSize, Services
from functions.problems import problem_responses
from functions.routes.admin import admin_router
from shared.services.channels import ChannelInput, ChannelView, NumberCheck
from shared.services.listing import Page

router = admin_router("channels")


@router.get("/channels")
async def list_channels(
    services: Services, cursor: str | None = None, limit: PageSize = 100
) -> Page[ChannelView]:
    return await services.channels.list_channels(after=cursor, limit=limit)


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
    await services.channels.delete(channel_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/channels/{channel_id}/validate", responses=problem_responses(404))
async def validate_channel(channel_id: str, services: Services) -> list[NumberCheck]:
    return await services.channels.validate(channel_id)
