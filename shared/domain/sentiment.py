"""Sentiment of customer messages, for supervisors: VADER (Hutto & Gilbert 2014, the
`vaderSentiment` package from PyPI), a lexicon and rule-based analyser that needs no model
download. Its compound score is in [-1, 1]; below -0.05 is negative, above 0.05 positive,
between neutral (the thresholds its authors recommend).

It reads words, not meaning: sarcasm, domain jargon and languages other than English are
beyond it. Its scores are a hint for supervisors, never shown to the customer.

A conversation's score rolls: an exponentially weighted average of its customer messages'
scores in sequence order, the latest weighing most, so a supervisor sees its mood now.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache

from pydantic import Field
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from shared.domain.base import Model

NEUTRAL_BAND = 0.05
"""Scores within this of zero are neutral."""
ROLLING_WEIGHT = 0.4
"""How much the latest message weighs in a conversation's rolling score."""


class SentimentLabel(StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


class Sentiment(Model):
    """One message's sentiment."""

    score: float = Field(ge=-1.0, le=1.0, description="-1 very negative .. 1 very positive")
    label: SentimentLabel


class ConversationSentiment(Model):
    """A conversation's rolling sentiment over its customer messages."""

    score: float = Field(ge=-1.0, le=1.0)
    label: SentimentLabel
    messages: int = Field(ge=1, description="customer messages folded in")
    last_sequence: int = Field(
        ge=0,
        description="the last message folded in: a retry of it, or an older one, changes nothing",
    )


@cache
def _analyzer() -> SentimentIntensityAnalyzer:
    # Built on first use: it reads its lexicon from the package, never at import time.
    return SentimentIntensityAnalyzer()


def score_text(text: str) -> Sentiment:
    """The sentiment of one text: VADER's compound score and its label."""
    return sentiment_of(float(_analyzer().polarity_scores(text)["compound"]))


def sentiment_of(score: float) -> Sentiment:
    score = max(-1.0, min(1.0, round(score, 4)))
    return Sentiment(score=score, label=label_of(score))


def label_of(score: float) -> SentimentLabel:
    if score <= -NEUTRAL_BAND:
        return SentimentLabel.NEGATIVE
    if score >= NEUTRAL_BAND:
        return SentimentLabel.POSITIVE
    return SentimentLabel.NEUTRAL


def roll(
    previous: ConversationSentiment | None, sequence: int, message: Sentiment
) -> ConversationSentiment | None:
    """The conversation's sentiment with one more customer message (its sequence number);
    None when that message is folded in already (a retry) or older than the last one."""
    if previous is not None and sequence <= previous.last_sequence:
        return None
    if previous is None:
        score = message.score
    else:
        score = (1 - ROLLING_WEIGHT) * previous.score + ROLLING_WEIGHT * message.score
    score = max(-1.0, min(1.0, round(score, 4)))
    return ConversationSentiment(
        score=score,
        label=label_of(score),
        messages=1 if previous is None else previous.messages + 1,
        last_sequence=sequence,
    )


class SentimentSettings(Model):
    """The admin's switch: score customer messages for supervisors, or not."""

    enabled: bool = Field(description="off: new messages are not scored; scores kept stay")
