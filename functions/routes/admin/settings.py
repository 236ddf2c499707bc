"""Organization-wide settings: the presence policy and the sentiment switch."""

from __future__ import annotations

from functions.dependencies import Services
from functions.routes.admin import admin_router
from shared.domain.presence import PresenceSettings
from shared.domain.sentiment import SentimentSettings

router = admin_router("settings")


@router.get("/presences")
async def presence_settings(services: Services) -> PresenceSettings:
    """The presence policy (inactivity timeout, default presence) and custom presences."""
    return await services.presence.settings()


@router.put("/presences")
async def put_presence_settings(settings: PresenceSettings, services: Services) -> PresenceSettings:
    return await services.presence.put_settings(settings)


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
