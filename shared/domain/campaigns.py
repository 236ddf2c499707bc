"""Message templates and bulk outbound jobs. Pure data."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from shared.domain.base import Model


class Template(Model):
    """A message with {placeholders}, filled from the customer's fields and given values."""

    id: str
    name: str
    body: str = Field(min_length=1, max_length=1600)


class RecipientState(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    SKIPPED_OPTED_OUT = "skipped_opted_out"
    SKIPPED_NO_PHONE = "skipped_no_phone"
    FAILED = "failed"


class Recipient(Model):
    customer_id: str
    state: RecipientState = RecipientState.PENDING
    message_id: str | None = None
    detail: str | None = None


class OutboundJob(Model):
    """A template sent to a list of customers through one SMS channel."""

    id: str
    template_id: str
    channel_id: str
    values: dict[str, str] = Field(default_factory=dict)
    recipients: tuple[Recipient, ...]
    created_at: datetime
