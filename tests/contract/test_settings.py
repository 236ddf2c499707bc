"""What every store adapter must do as a SettingsStore: the presence policy and the sentiment
switch."""

from __future__ import annotations

from shared.domain.presence import CustomPresence, Presence, PresenceSettings
from shared.domain.sentiment import SentimentSettings
from shared.ports import Store


async def test_the_sentiment_switch_round_trips(store: Store) -> None:
    assert await store.get_sentiment_settings() is None  # the deployment's default then
    for enabled in (False, True):
        await store.put_sentiment_settings(SentimentSettings(enabled=enabled))
        assert await store.get_sentiment_settings() == SentimentSettings(enabled=enabled)


async def test_presence_settings_round_trip(store: Store) -> None:
    assert await store.get_presence_settings() == PresenceSettings()
    settings = PresenceSettings(
        custom=(CustomPresence(id="training", name="In training", base=Presence.AWAY),)
    )
    await store.put_presence_settings(settings)
    assert await store.get_presence_settings() == settings
