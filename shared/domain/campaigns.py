"""Message templates and bulk outbound jobs. Pure data."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from shared.domain.base import Model

ParameterName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]


class TemplateText(Model):
    """A message with {placeholders}, filled from the customer's fields and, for the names in
    `parameters`, from the values each send gives."""

    name: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=1600)
    parameters: tuple[ParameterName, ...] = Field(
        default=(), max_length=50, description="placeholders each send gives values for"
    )


class Template(TemplateText):
    id: str


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
