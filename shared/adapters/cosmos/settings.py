"""SettingsStore on Cosmos DB: presence policy and the sentiment switch."""

from __future__ import annotations

from shared.adapters.cosmos import layout
from shared.adapters.cosmos.containers import CosmosBase
from shared.domain.presence import (
    PresenceSettings,
)
from shared.domain.sentiment import SentimentSettings


class CosmosSettings(CosmosBase):
    async def get_presence_settings(self) -> PresenceSettings:
        # A point read even while no admin has written it: a 404 costs ~1 RU, a query 2.5+.
        stored = await self._get_config(
            PresenceSettings, layout.PRESENCE_SETTINGS_PARTITION, _PRESENCE_ID
        )
        return stored or PresenceSettings()

    async def put_presence_settings(self, settings: PresenceSettings) -> None:
        await self._put_config(layout.PRESENCE_SETTINGS_PARTITION, _PRESENCE_ID, settings)

    async def get_sentiment_settings(self) -> SentimentSettings | None:
        return await self._get_config(
            SentimentSettings, layout.SENTIMENT_SETTINGS_PARTITION, _SENTIMENT_ID
        )

    async def put_sentiment_settings(self, settings: SentimentSettings) -> None:
        await self._put_config(layout.SENTIMENT_SETTINGS_PARTITION, _SENTIMENT_ID, settings)


_PRESENCE_ID = "presence"
_SENTIMENT_ID = "sentiment"
"""The one document of each settings partition (ids as written from the start)."""
