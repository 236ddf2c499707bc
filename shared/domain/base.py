"""The base of every domain record: immutable, and strict about unknown fields."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


SAFE_INT = 2**53 - 1
"""The largest integer every JSON reader keeps exactly (JavaScript's, so Cosmos DB's): a larger
one comes back as a float, which an int field then refuses. Unbounded int fields take this."""


def _nothing(_: object) -> None:
    return None


Withheld = Annotated[SkipJsonSchema[None], BeforeValidator(_nothing), Field(exclude=True)]
"""A record's field that a view of it leaves out (`field: Withheld = None` in the view's
class, which subclasses the record): whatever the record holds there, the view holds nothing,
answers nothing and has no such field in its schema: a write-only secret, for one."""


def view_of[V: BaseModel](view: type[V], record: BaseModel) -> V:
    """The record as `view`, a subclass withholding some of its fields, shows it."""
    return view.model_validate(record.model_dump())
