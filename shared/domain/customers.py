"""Customers (contacts and accounts) and what a customer's SMS consent keywords mean. Pure data."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from shared.domain.base import Model


class ConsentAction(StrEnum):
    """Keyword replies carriers and providers recognise (STOP, START, HELP)."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


class Customer(Model):
    id: str
    display_name: str
    mobile_phone: str | None = None
    account_phone: str | None = None
    email: str | None = Field(
        default=None,
        max_length=254,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="identifies a chat visitor; compared case-insensitively",
    )
