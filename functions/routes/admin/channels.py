"""Channels: provider accounts with their numbers, and the chat widget. Secrets are write-only."""

from __future__ import annotations

from functions.dependencies import Services
from functions.problems import problem_responses
from functions.routes.admin import Resource, admin_router, resource_routes
from shared.services.channels import ChannelInput, ChannelView, NumberCheck

router = admin_router("channels")
resource_routes(
    router,
    Resource(
        name="channel",
        plural="channels",
        body=ChannelInput,
        view=ChannelView,
        list=lambda services: services.channels.list_channels,
        get=lambda services: services.channels.get,
        put=lambda services: services.channels.put,
        delete=lambda services: services.channels.delete,
        put_problems=((404, "No such workstream"), (409, "An address belongs to another channel")),
    ),
)


@router.post("/channels/{channel_id}/validate", responses=problem_responses(404))
async def validate_channel(channel_id: str, services: Services) -> list[NumberCheck]:
    """Send a test SMS to each of the channel's numbers and report what the provider said."""
    return await services.channels.validate(channel_id)
