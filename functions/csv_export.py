"""CSV exports: rows of one pydantic model streamed as text/csv (RFC 4180), a header of its
field names first. A client asks with `format=csv` or `Accept: text/csv`."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

CSV = "text/csv"
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {CSV: {"schema": {"type": "string"}}}, "description": "JSON, or CSV"}
}
"""A route's `responses=`: OpenAPI then lists text/csv beside its JSON model."""

# A cell a spreadsheet would run as a formula (CSV injection) is quoted as text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def wants_csv(request: Request, format: str | None) -> bool:
    if format is not None:
        return format == "csv"
    return CSV in request.headers.get("accept", "")


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


def _line(values: Iterable[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([_cell(v) for v in values])
    return buffer.getvalue()


async def _lines(model: type[BaseModel], rows: AsyncIterator[BaseModel]) -> AsyncIterator[str]:
    names = list(model.model_fields)
    yield _line(names)
    async for row in rows:
        fields = row.model_dump(mode="json")
        yield _line(fields[name] for name in names)


def csv_response(
    model: type[BaseModel], rows: AsyncIterator[BaseModel], *, filename: str
) -> StreamingResponse:
    return StreamingResponse(
        _lines(model, rows),
        media_type=f"{CSV}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
