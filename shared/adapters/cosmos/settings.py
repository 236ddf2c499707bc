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
        # Absent until an admin writes it, the common case: a single-partition query answers
        # empty where a point read would answer 404.
        rows = await self._config.query(
            "SELECT VALUE c.data FROM c WHERE c.pk = @pk",
            {"@pk": layout.PRESENCE_SETTINGS_PARTITION},
            partition_key=layout.PRESENCE_SETTINGS_PARTITION,
        )
        return PresenceSettings.model_validate(rows[0]) if rows else PresenceSettings()

    async def put_presence_settings(self, settings: PresenceSettings) -> None:
        await self._put_config(layout.PRESENCE_SETTINGS_PARTITION, "presence", settings)

    async def get_sentiment_settings(self) -> SentimentSettings | None:
        # A query, as for presence settings: absent until an admin sets it.
        rows = await self._config.query(
            "SELECT VALUE c.data FROM c WHERE c.pk = @pk",
            {"@pk": layout.SENTIMENT_SETTINGS_PARTITION},
            partition_key=layout.SENTIMENT_SETTINGS_PARTITION,
        )
        return SentimentSettings.model_validate(rows[0]) if rows else None

    async def put_sentiment_settings(self, settings: SentimentSettings) -> None:
        await self._put_config(layout.SENTIMENT_SETTINGS_PARTITION, "sentiment", settings)
