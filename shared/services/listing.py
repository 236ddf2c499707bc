"""Walking a store's cursor listings (`list_*(after=, limit=)`) to their end, a page at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Protocol

from pydantic import BaseModel


class Identified(Protocol):
    @property
    def id(self) -> str: ...


class Page[V](BaseModel):
    """One page of a listing in id order: every listing of the API answers with one."""

    items: list[V]
    next_cursor: str | None = None
    """Pass as `cursor` for the next page; None when this page is the last."""


async def page_of[I: Identified](
    listing: Callable[..., Awaitable[Sequence[I]]], *, after: str | None, limit: int
) -> Page[I]:
    """A page of a store listing whose cursor is the record's id."""
    records = list(await listing(after=after, limit=limit))
    return Page(items=records, next_cursor=records[-1].id if len(records) == limit else None)


PAGE = 200


async def every[I: Identified](listing: Callable[..., Awaitable[Sequence[I]]]) -> AsyncIterator[I]:
    """Every record of a listing whose cursor is the record's id."""
    async for record in every_by(listing, lambda record: record.id):
        yield record


async def every_by[R](
    listing: Callable[..., Awaitable[Sequence[R]]], cursor_of: Callable[[R], str]
) -> AsyncIterator[R]:
    """Every record of a listing, `cursor_of` giving the cursor that follows a record."""
    after: str | None = None
    while True:
        page = await listing(after=after, limit=PAGE)
        for record in page:
            yield record
        if len(page) < PAGE:
            return
        after = cursor_of(page[-1])
