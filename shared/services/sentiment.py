"""The sentiment switch: the admin's choice, else the deployment's default (SENTIMENT_ENABLED).

Ingest asks on every customer message, so the answer is kept for a short while: a switch
made on one instance reaches every other within `ttl` (the instance that made it at once)."""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.domain.sentiment import SentimentSettings
from shared.ports import Clock, SettingsStore


class SentimentSwitch:
    def __init__(
        self,
        store: SettingsStore,
        clock: Clock,
        *,
        default: bool,
        ttl: timedelta = timedelta(seconds=30),
    ) -> None:
        self._store = store
        self._clock = clock
        self._default = SentimentSettings(enabled=default)
        self._ttl = ttl
        self._known: tuple[SentimentSettings, datetime] | None = None

    async def settings(self) -> SentimentSettings:
        """As stored now (an admin's read is never stale)."""
        settings = await self._store.get_sentiment_settings() or self._default
        self._known = (settings, self._clock.now())
        return settings

    async def put(self, settings: SentimentSettings) -> SentimentSettings:
        await self._store.put_sentiment_settings(settings)
        self._known = (settings, self._clock.now())
        return settings

    async def enabled(self) -> bool:
        if self._known is not None:
            settings, read_at = self._known
            if self._clock.now() - read_at < self._ttl:
                return settings.enabled
        return (await self.settings()).enabled
