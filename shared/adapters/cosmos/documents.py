"""Document operations with the outcomes the Cosmos store builds on: a missing document is
None, an existing one on create is False, read-modify-write is guarded by the ETag, and a
query's rows come back as records."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from azure.cosmos import exceptions
from pydantic import BaseModel

from shared.adapters.cosmos.layout import stored_fields
from shared.adapters.cosmos.metrics import MeteredContainer

Doc = dict[str, Any]


async def read_or_none(container: MeteredContainer, doc_id: str, pk: str) -> Doc | None:
    try:
        return await container.read(doc_id, pk)
    except exceptions.CosmosResourceNotFoundError:
        return None


async def query_records[M: BaseModel](
    container: MeteredContainer,
    kind: type[M],
    sql: str,
    parameters: Mapping[str, Any],
    *,
    partition_key: str | None,
) -> list[M]:
    """The records a `SELECT VALUE c.data` query selects, in its order."""
    rows = await container.query(sql, parameters, partition_key=partition_key)
    return [kind.model_validate(row) for row in rows]


async def create_if_absent(container: MeteredContainer, body: Doc) -> bool:
    """Create the document; False if its id is already taken in its partition."""
    try:
        await container.create(body)
    except exceptions.CosmosResourceExistsError:
        return False
    return True


async def delete_if_present(container: MeteredContainer, doc_id: str, pk: str) -> bool:
    try:
        await container.delete(doc_id, pk)
    except exceptions.CosmosResourceNotFoundError:
        return False
    return True


async def update(
    container: MeteredContainer,
    doc_id: str,
    pk: str,
    change: Callable[[Doc], Doc | None],
    *,
    read: Doc | None = None,
) -> Doc | None:
    """Read, change, replace if unchanged since the read (ETag), else again with fresh
    state. `change` returns the new document, or None to leave it as it is. None also
    when the document does not exist. `read`: the document as the caller just read it
    (with its ETag), which saves the first read."""
    while True:
        current = read if read is not None else await read_or_none(container, doc_id, pk)
        read = None  # a retry reads fresh state
        if current is None:
            return None
        changed = change(stored_fields(current))
        if changed is None:
            return None
        try:
            return await container.replace(changed, etag=current["_etag"], previous=current)
        except exceptions.CosmosAccessConditionFailedError:
            continue


async def create_or_replace(container: MeteredContainer, body: Doc) -> Doc | None:
    """Write the document whole; return the one it replaced, if any."""
    while True:
        if await create_if_absent(container, body):
            return None
        current = await read_or_none(container, body["id"], body["pk"])
        if current is None:
            continue  # deleted in between: create again
        try:
            await container.replace(body, etag=current["_etag"])
        except exceptions.CosmosAccessConditionFailedError:
            continue
        return stored_fields(current)
