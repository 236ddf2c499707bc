"""Sentiment: the lexicon method on clear examples, the rolling score of a
conversation, scoring at ingest (SMS and chat), the supervisors' view and filter, and the
customer never seeing any of it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from devserver.seed import CHAT_WIDGET_ID
from shared.bootstrap import Container
from shared.domain.identity import Role
from shared.domain.sentiment import (
    ConversationSentiment,
    Sentiment,
    SentimentLabel,
    SentimentSettings,
    roll,
    score_text,
)
from tests.api.test_agent_flow import arrive, inbound
from tests.support import ManualClock, bearer

NEG, NEU, POS = SentimentLabel.NEGATIVE, SentimentLabel.NEUTRAL, SentimentLabel.POSITIVE


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Thanks, that was really helpful!", POS),
        ("I love it 😍", POS),
        ("This is terrible service", NEG),
        ("My order is late and nobody answers, this is terrible", NEG),
        ("Where is my order?", NEU),
        ("I ordered two items on Monday", NEU),
        ("The app is not good", NEG),
        ("Not bad at all", POS),
        ("I don't hate it", POS),
        (":(", NEG),
        ("", NEU),
    ],
)
def test_clear_examples_get_their_label(text: str, label: SentimentLabel) -> None:
    scored = score_text(text)
    assert scored.label is label
    assert -1.0 <= scored.score <= 1.0


def test_negation_flips_and_damps_a_word() -> None:
    good, not_good = score_text("it is good"), score_text("it is not good")
    assert good.score > 0 > not_good.score
    assert abs(not_good.score) < abs(good.score)
    assert score_text("this is never helpful").score < 0  # up to three words before


def test_intensifiers_strengthen_and_downtoners_weaken() -> None:
    plain, very, slightly = (score_text(f"it was {w}bad") for w in ("", "very ", "slightly "))
    assert very.score < plain.score < slightly.score < 0
    assert score_text("it was GREAT, truly").score > score_text("it was great, truly").score


def test_exclamations_and_but_shift_the_score() -> None:
    assert score_text("awful!!!").score < score_text("awful").score
    # After "but", the second clause leads.
    assert score_text("The delivery was late but the support was great").label is POS
    assert score_text("The support was nice but the delivery was awful").label is NEG


def test_scores_stay_within_bounds_however_much_is_said() -> None:
    assert 0.99 <= score_text("great " * 200 + "!!!").score <= 1.0
    assert -1.0 <= score_text("awful " * 200).score <= -0.99


def test_a_conversation_rolls_its_messages_scores_latest_weighing_most() -> None:
    first = roll(None, 1, Sentiment(score=-0.8, label=NEG))
    assert first == ConversationSentiment(score=-0.8, label=NEG, messages=1, last_sequence=1)
    second = roll(first, 3, Sentiment(score=0.9, label=POS))
    assert second is not None
    assert second.score == pytest.approx(0.6 * -0.8 + 0.4 * 0.9)
    assert (second.messages, second.last_sequence) == (2, 3)
    # The same message again (a retry), or an older one, changes nothing.
    assert roll(second, 3, Sentiment(score=0.9, label=POS)) is None
    assert roll(second, 2, Sentiment(score=-1.0, label=NEG)) is None


# --- scored at ingest, shown to supervisors, filtered, never sent to the customer ---------------


async def supervisor_list(
    client: httpx.AsyncClient, services: Container, **params: str
) -> list[Any]:
    response = await client.get(
        "/api/supervisor/conversations",
        params=params,
        headers=bearer(services, "sue", Role.SUPERVISOR),
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_sms_and_chat_messages_are_scored_and_supervisors_filter_on_them(
    client: httpx.AsyncClient, services: Container
) -> None:
    await arrive(services, inbound("SM1", "This is terrible, I want a refund", "+14155550101"))
    await arrive(services, inbound("SM2", "still waiting, awful service", "+14155550101"))
    await arrive(services, inbound("SM3", "Thanks, great help!", "+14155550102"))
    started = await client.post(
        "/api/chat/sessions", json={"widget_id": CHAT_WIDGET_ID, "pre_chat": {"name": "V"}}
    )
    chat = started.json()
    chat_auth = {"Authorization": f"Bearer {chat['token']}"}
    sent = await client.post(
        f"/api/chat/sessions/{chat['conversation_id']}/messages",
        json={"text": "Where is my parcel?"},
        headers=chat_auth,
    )
    assert sent.status_code == 201
    assert "sentiment" not in sent.json()  # the customer's view of its own message

    everything = await supervisor_list(client, services)
    by_address = {s["conversation"]["customer_address"]: s for s in everything}
    angry = by_address["+14155550101"]["conversation"]
    assert angry["sentiment"]["label"] == "negative"
    assert angry["sentiment"]["messages"] == 2
    assert by_address["+14155550102"]["conversation"]["sentiment"]["label"] == "positive"

    negative = await supervisor_list(client, services, sentiment="negative")
    assert [s["conversation"]["customer_address"] for s in negative] == ["+14155550101"]
    neutral = await supervisor_list(client, services, sentiment="neutral")
    assert [s["conversation"]["id"] for s in neutral] == [chat["conversation_id"]]
    bad = await client.get(
        "/api/supervisor/conversations",
        params={"sentiment": "grumpy"},
        headers=bearer(services, "sue", Role.SUPERVISOR),
    )
    assert bad.status_code == 400

    # Each message carries its own score for supervisors; the widget's transcript has none.
    conversation_id = angry["id"]
    read = await client.get(
        f"/api/supervisor/conversations/{conversation_id}/messages",
        headers=bearer(services, "sue", Role.SUPERVISOR),
    )
    assert [m["sentiment"]["label"] for m in read.json()] == ["negative", "negative"]
    transcript = await client.get(
        f"/api/chat/sessions/{chat['conversation_id']}/messages", headers=chat_auth
    )
    assert all("sentiment" not in m for m in transcript.json()["messages"])


async def test_a_redelivered_message_rolls_in_once(services: Container) -> None:
    await arrive(services, inbound("SM1", "awful", "+14155550101"))
    await arrive(services, inbound("SM1", "awful", "+14155550101"))  # the provider retries
    outcome = await services.ingest.ingest(inbound("SM1", "awful", "+14155550101"))
    conversation = await services.store.get_conversation(outcome.conversation.id)
    assert conversation is not None and conversation.sentiment is not None
    assert conversation.sentiment.messages == 1


async def scored(services: Container, sid: str, sender: str) -> bool:
    await arrive(services, inbound(sid, "awful", sender))
    outcome = await services.ingest.ingest(inbound(sid, "awful", sender))
    messages = await services.store.list_messages(outcome.conversation.id, include_internal=True)
    return messages[-1].sentiment is not None


async def test_an_admin_switches_sentiment_off_and_on(
    client: httpx.AsyncClient, services: Container
) -> None:
    admin = bearer(services, "ada", Role.ADMIN)
    url = "/api/admin/sentiment"
    assert (await client.get(url, headers=admin)).json() == {"enabled": True}  # the default
    assert await scored(services, "SM1", "+14155550101")

    off = await client.put(url, json={"enabled": False}, headers=admin)
    assert off.status_code == 200 and off.json() == {"enabled": False}
    assert not await scored(services, "SM2", "+14155550102")
    ongoing = await services.store.list_ongoing_conversations(after=None, limit=5)
    first = next(s.conversation for s in ongoing if s.conversation.customer_address.endswith("101"))
    assert first.sentiment is not None  # scores already given stay

    await client.put(url, json={"enabled": True}, headers=admin)
    assert await scored(services, "SM3", "+14155550102")
    # Only an admin switches it, and only with a well-formed body.
    supervisor = bearer(services, "sue", Role.SUPERVISOR)
    refused = await client.put(url, json={"enabled": False}, headers=supervisor)
    assert refused.status_code == 403
    malformed = await client.put(url, json={"enabled": "sometimes"}, headers=admin)
    assert malformed.status_code in (400, 422)
    assert (await client.get(url, headers=admin)).json() == {"enabled": True}


async def test_other_instances_see_a_switch_within_the_cache_time(
    clocked: Container, clock: ManualClock, services: Container
) -> None:
    """Two instances on one store: a switch made on one reaches the other once its cached
    answer (30 s) runs out."""
    assert await clocked.sentiment.enabled()
    await services.sentiment.put(SentimentSettings(enabled=False))
    assert await clocked.sentiment.enabled()  # still its cached answer
    clock.advance(timedelta(seconds=31))
    assert not await clocked.sentiment.enabled()


class TestSwitchedOffByDefault:
    @pytest.fixture
    def extra_settings(self) -> dict[str, str]:
        return {"SENTIMENT_ENABLED": "false"}

    async def test_nothing_is_scored_until_an_admin_switches_it_on(
        self, client: httpx.AsyncClient, services: Container
    ) -> None:
        assert not await scored(services, "SM1", "+14155550101")
        outcome = await services.ingest.ingest(inbound("SM1", "awful", "+14155550101"))
        conversation = await services.store.get_conversation(outcome.conversation.id)
        assert conversation is not None and conversation.sentiment is None
        admin = bearer(services, "ada", Role.ADMIN)
        assert (await client.get("/api/admin/sentiment", headers=admin)).json() == {
            "enabled": False
        }
        await client.put("/api/admin/sentiment", json={"enabled": True}, headers=admin)
        assert await scored(services, "SM2", "+14155550101")
