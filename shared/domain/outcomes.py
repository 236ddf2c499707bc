"""After the conversation: the agent's wrap-up (a disposition code from the workstream's list and
a summary) and the customer's satisfaction answer (CSAT). Pure data and rules."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from pydantic import Field

from shared.domain.base import Model

CSAT_SCORES = range(1, 6)

DEFAULT_CSAT_QUESTION = (
    "How satisfied are you with the help you got? Reply with a number from 1 (poor) to 5 "
    "(excellent)."
)

_SMS_SCORE = re.compile(r"^\s*([1-5])\s*[.!]?\s*$")


class CsatSettings(Model):
    """A workstream's satisfaction survey: asked when a conversation an agent handled closes
    (the widget shows it; SMS sends the question and takes the next reply of a number)."""

    enabled: bool = False
    question: str = Field(default=DEFAULT_CSAT_QUESTION, min_length=1, max_length=320)
    sms_reply_window_seconds: int = Field(
        default=86400,
        ge=60,
        le=7 * 86400,
        description="SMS: a reply of 1..5 this soon after the question is its answer; later "
        "it is an ordinary message",
    )


class DispositionCode(Model):
    """One outcome an agent may pick at wrap-up (e.g. `resolved`, `callback`)."""

    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    label: str = Field(min_length=1, max_length=120)


class WrapUp(Model):
    """The agent's account of a conversation, written at its end (stored on it)."""

    agent_id: str
    disposition_code: str | None = None
    disposition_label: str | None = Field(
        default=None, description="the code's label when it was chosen (lists change)"
    )
    summary: str = ""
    at: datetime


class CsatAnswer(Model):
    """The customer's satisfaction answer: one per conversation."""

    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=1000)
    answered_at: datetime
    via: str = Field(description="chat or sms")
    message_id: str | None = Field(
        default=None, description="SMS: the stored reply that answered (retries find it)"
    )


class CsatFact(Model):
    """A CSAT answer as the figures count it: on the day it was answered, for the queue and
    agent that last had the conversation."""

    conversation_id: str
    queue_id: str
    agent_id: str | None
    score: int = Field(ge=1, le=5)
    answered_at: datetime


class UnknownDisposition(ValueError):
    """A disposition code the workstream's list does not have (or none when it needs one)."""


def chosen_disposition(
    codes: tuple[DispositionCode, ...], code: str | None
) -> DispositionCode | None:
    """The code from the workstream's list: required when the list has codes, refused when it
    has none."""
    if not codes:
        if code is not None:
            raise UnknownDisposition("this workstream has no disposition codes: send none")
        return None
    if code is None:
        raise UnknownDisposition(
            "a disposition code is required: one of " + ", ".join(c.code for c in codes)
        )
    for candidate in codes:
        if candidate.code == code:
            return candidate
    raise UnknownDisposition(
        f"unknown disposition code {code!r}: one of " + ", ".join(c.code for c in codes)
    )


def unique_codes(codes: tuple[DispositionCode, ...]) -> tuple[DispositionCode, ...]:
    seen = [c.code for c in codes]
    duplicates = sorted({c for c in seen if seen.count(c) > 1})
    if duplicates:
        raise ValueError("disposition codes repeat: " + ", ".join(duplicates))
    return codes


def sms_score(text: str) -> int | None:
    """The score a customer's SMS reply gives, if it is just a number from 1 to 5."""
    matched = _SMS_SCORE.match(text)
    return None if matched is None else int(matched.group(1))


def awaits_sms_answer(
    requested_at: datetime | None, answered: CsatAnswer | None, now: datetime, window_seconds: int
) -> bool:
    """Whether a reply now is the survey's answer: asked, unanswered, within the window."""
    return (
        requested_at is not None
        and answered is None
        and requested_at <= now <= requested_at + timedelta(seconds=window_seconds)
    )


class Email(Model):
    """One email to send: a transcript to its customer."""

    to: str = Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    subject: str = Field(min_length=1, max_length=200)
    text: str
    html: str
    key: str = Field(description="the same email retried has the same key (idempotency)")


class SentEmail(Email):
    """What the sandbox email sender 'sent': kept for a person or a test to see."""

    operation_id: str
    sent_at: datetime
