"""SettingsStore on SQLite: presence policy and the sentiment switch."""

from __future__ import annotations

from shared.adapters.sqlite.tables import SqliteBase
from shared.domain.presence import (
    PresenceSettings,
)
from shared.domain.sentiment import SentimentSettings


class SqliteSettings(SqliteBase):
    async def get_presence_settings(self) -> PresenceSettings:
        stored = await self._get(PresenceSettings, "presence_settings", "presence")
        return stored or PresenceSettings()

    async def put_presence_settings(self, settings: PresenceSettings) -> None:
        await self._put_doc("presence_settings", "presence", settings)

    async def get_sentiment_settings(self) -> SentimentSettings | None:
        return await self._get(SentimentSettings, "org_settings", "sentiment")

    async def put_sentiment_settings(self, settings: SentimentSettings) -> None:
        await self._put_doc("org_settings", "sentiment", settings)
