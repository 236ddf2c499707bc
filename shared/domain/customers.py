"""Customers (contacts and accounts) and what a customer's SMS consent keywords mean. Pure data."""

from __future__ import annotations

import unicodedata
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
    merged_into: str | None = Field(
        default=None,
        description="set when an admin merged this record into another: the record stays so "
        "old references resolve, but no search or lookup finds it any more",
    )

    @property
    def phones(self) -> tuple[str, ...]:
        return tuple(p for p in (self.mobile_phone, self.account_phone) if p)

    def merged(self, other: Customer) -> Customer:
        """This record after `other` merged into it: its own details win, and the fields it
        lacks are taken from `other` (a phone or email other holds and it cannot keep stays on
        the merged-away record, shown there, found no more)."""
        taken = {
            field: getattr(other, field)
            for field in ("mobile_phone", "account_phone", "email")
            if getattr(self, field) is None and getattr(other, field) not in (None, *self.phones)
        }
        if taken.get("mobile_phone") is not None and taken.get("mobile_phone") == taken.get(
            "account_phone"
        ):
            del taken["account_phone"]
        return self.model_copy(update=taken)


def name_key(display_name: str) -> str:
    """A name as name search compares it: case-folded words without accents (Ádám: adam),
    each after one space, so "any word of the name starts with the text asked for" is a
    substring test for " <text>"."""
    decomposed = unicodedata.normalize("NFD", display_name.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "".join(" " + word for word in plain.split())
