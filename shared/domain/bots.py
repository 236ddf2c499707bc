"""The bot wire contract (docs/bots.md): what a workstream's bot is sent for each customer
message, what it may answer, and how the request is signed. Pure: no I/O here."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.domain.base import Model
from shared.domain.channels import ChannelKind

SIGNATURE_HEADER = "X-Omnichannel-Signature"
"""`sha256=<hex HMAC-SHA256 of the raw request body, keyed with the bot's secret>`."""
IDEMPOTENCY_HEADER = "Idempotency-Key"
"""The customer message's id: the same on every retry of one message."""

MAX_REPLY_LENGTH = 1600
FIRST_RETRY_DELAY = timedelta(seconds=2)
MAX_RETRY_DELAY = timedelta(seconds=30)


class BotAttachment(Model):
    url: str
    content_type: str | None = None
    name: str | None = None


class BotCustomerMessage(Model):
    id: str
    text: str
    attachments: tuple[BotAttachment, ...] = ()
    sent_at: datetime


class BotRequest(Model):
    """The body POSTed to the bot's endpoint, one per customer message."""

    version: Literal[1] = 1
    bot_id: str
    conversation_id: str
    channel: ChannelKind
    business_address: str = Field(description="the number texted, or the chat widget id")
    customer_id: str | None = Field(description="the identified customer's record, if any")
    message: BotCustomerMessage
    pre_chat: dict[str, str] = Field(default_factory=dict)
    context: dict[str, bool | float | str] = Field(default_factory=dict)
    attempt: int = Field(ge=1, description="1 on the first call for this message")
    sent_at: datetime = Field(description="when this call was made: the signature covers it")


class BotAnswer(BaseModel):
    """What the bot answers (HTTP 2xx): a reply, or an escalation to a human with an optional
    last reply. Unknown fields are ignored, so bots may add their own."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    reply: str | None = Field(default=None, min_length=1, max_length=MAX_REPLY_LENGTH)
    escalate: bool = False
    reason: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _says_something(self) -> BotAnswer:
        if self.reply is None and not self.escalate:
            raise ValueError('an answer needs "reply", or "escalate": true')
        return self


def signature(secret: str, body: bytes) -> str:
    """The value of the signature header for this body."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_matches(secret: str, body: bytes, header: str) -> bool:
    """What a bot checks (constant time) before trusting a request."""
    return hmac.compare_digest(signature(secret, body), header)


def retry_delay(failed_attempts: int) -> timedelta:
    """Backoff after the n-th transient failure: 2 s, 4 s, 8 s ... 30 s (a customer waits)."""
    return min(FIRST_RETRY_DELAY * (1 << (failed_attempts - 1)), MAX_RETRY_DELAY)
