"""What the Cosmos store asks of Cosmos DB: operations by kind, and their request units.

Every call goes through `MeteredContainer`, which counts it and adds up two figures:
- the request charge the response reports (`x-ms-request-charge`), when it reports one;
- an estimate from Cosmos DB's documented costs, always, so figures exist even where a server
  reports no charge or a flat one (the local protocol server answers 1 for everything).

Documented costs used for the estimate ("Understand request units consumption", Azure Cosmos
DB docs, April 2026, session consistency, one region):
- a point read of 1 KB is 1 RU (1.04 at 2 KB, 1.14 at 4 KB, ...);
- a create is the document's write charge (4.95 at 1 KB, 6.29 at 2 KB, 6.67 at 4 KB, ...)
  plus 0.2 RU per indexed term it adds;
- a replace deletes and inserts: twice the write charge, plus 0.4 RU per indexed term it
  changes; an upsert is charged as a replace (the response does not say which it was); a
  patch is a replace plus 0.4 RU per patch operation;
- a delete is the write charge plus 0.2 RU per indexed term it removes;
- a query, which the docs price by the work it does, is taken as 2.5 RU plus 1 RU per KB it
  returns (what single-partition queries on an index cost in practice);
- a request that fails (404, 409, 412) as ~1 RU.
Indexed terms are counted from the container's indexing policy (`layout.ContainerSpec`),
`id` and `_ts` included, which Cosmos DB always indexes. A transactional batch costs the sum
of its operations.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import Any

from azure.core import MatchConditions
from azure.cosmos import exceptions
from azure.cosmos.aio import ContainerProxy
from pydantic import BaseModel, ConfigDict


class OperationKind(StrEnum):
    POINT_READ = "point_read"
    CREATE = "create"
    UPSERT = "upsert"
    REPLACE = "replace"
    PATCH = "patch"
    DELETE = "delete"
    QUERY_SINGLE_PARTITION = "query_single_partition"
    QUERY_CROSS_PARTITION = "query_cross_partition"


# (document size in KB, point read RU, document write RU), from the documented table.
DOCUMENTED_CHARGES = (
    (1, 1.00, 4.95),
    (2, 1.04, 6.29),
    (4, 1.14, 6.67),
    (8, 1.33, 7.04),
    (16, 1.67, 9.52),
    (32, 2.19, 11.23),
    (64, 4.76, 22.67),
    (128, 9.95, 48.19),
    (256, 20.28, 98.29),
    (512, 40.95, 184.57),
    (1024, 145.90, 625.00),
    (2048, 291.80, 1250.00),
)
INDEX_TERM_WRITE_RU = 0.2
"""Per indexed term a create adds or a delete removes; a replace removes and adds: twice."""
PATCH_OPERATION_RU = 0.4
ALWAYS_INDEXED_TERMS = 2
"""`id` and `_ts`."""
QUERY_BASE_RU = 2.5
QUERY_RU_PER_KB = 1.0
FAILED_REQUEST_RU = 1.0

_WRITES = frozenset(
    {
        OperationKind.CREATE,
        OperationKind.UPSERT,
        OperationKind.REPLACE,
        OperationKind.PATCH,
        OperationKind.DELETE,
    }
)


def _charges(payload_bytes: int) -> tuple[float, float]:
    """(point read, document write) RU for a document of this size: the documented row of
    the smallest size that holds it."""
    kilobytes = payload_bytes / 1024
    for size, read, write in DOCUMENTED_CHARGES:
        if kilobytes <= size:
            return read, write
    size, read, write = DOCUMENTED_CHARGES[-1]
    return read * kilobytes / size, write * kilobytes / size


def estimate_request_units(
    kind: OperationKind,
    payload_bytes: int,
    *,
    failed: bool,
    indexed_terms: int = 0,
    patch_operations: int = 0,
) -> float:
    """`indexed_terms`: the terms a write adds, changes or removes (id and _ts included)."""
    if failed:
        return FAILED_REQUEST_RU
    read, write = _charges(payload_bytes)
    if kind in (OperationKind.CREATE, OperationKind.DELETE):
        return write + INDEX_TERM_WRITE_RU * indexed_terms
    if kind in (OperationKind.REPLACE, OperationKind.UPSERT, OperationKind.PATCH):
        return (
            2 * write
            + 2 * INDEX_TERM_WRITE_RU * indexed_terms
            + PATCH_OPERATION_RU * patch_operations
        )
    if kind == OperationKind.POINT_READ:
        return read
    return QUERY_BASE_RU + QUERY_RU_PER_KB * math.ceil(payload_bytes / 1024)


def indexed_terms(indexed_paths: Sequence[str], body: Mapping[str, Any]) -> int:
    """The index terms a document has under an indexing policy that includes only these
    paths (`/a/b`, `/a/[]` for each element of an array), plus id and _ts."""
    return ALWAYS_INDEXED_TERMS + sum(len(_values_at(body, path)) for path in indexed_paths)


def changed_terms(
    indexed_paths: Sequence[str], before: Mapping[str, Any], after: Mapping[str, Any]
) -> int:
    """The indexed terms a replace changes: paths whose values differ, plus _ts."""
    changed = 1
    for path in indexed_paths:
        if _values_at(before, path) != _values_at(after, path):
            changed += max(1, len(_values_at(after, path)))
    return changed


def _values_at(body: Mapping[str, Any], path: str) -> list[Any]:
    values: list[Any] = [body]
    for part in path.strip("/").split("/"):
        if part == "[]":
            values = [v for value in values if isinstance(value, list) for v in value]
        else:
            values = [value[part] for value in values if isinstance(value, dict) and part in value]
    return values


class MetricsSnapshot(BaseModel):
    model_config = ConfigDict(frozen=True)

    operations: dict[OperationKind, int]
    reported_request_units: float
    """Sum of the charges responses reported."""
    responses_with_reported_charge: int
    responses_without_reported_charge: int
    estimated_request_units: float
    """Sum of the documented-cost estimates, for every request."""

    def count(self, kind: OperationKind) -> int:
        return self.operations.get(kind, 0)


class CosmosMetrics:
    """Counters one store (or several sharing it) adds to; read with snapshot(), zero with
    reset(). Updated from the event loop only, so plain counters are enough."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._operations: Counter[OperationKind] = Counter()
        self._reported = 0.0
        self._with_charge = 0
        self._without_charge = 0
        self._estimated = 0.0

    def record(
        self,
        kind: OperationKind,
        responses: Sequence[Mapping[str, Any] | None],
        payload_bytes: int,
        *,
        failed: bool = False,
        indexed_terms: int = 0,
        patch_operations: int = 0,
    ) -> None:
        """One operation; `responses` are the headers of its responses (a query may take
        several pages), whose reported charges add up."""
        self._operations[kind] += 1
        self._estimated += estimate_request_units(
            kind,
            payload_bytes,
            failed=failed,
            indexed_terms=indexed_terms,
            patch_operations=patch_operations,
        )
        charges = [c for c in map(_reported_charge, responses) if c is not None]
        if not charges:
            self._without_charge += 1
        else:
            self._with_charge += 1
            self._reported += sum(charges)

    def snapshot(self) -> MetricsSnapshot:
        return MetricsSnapshot(
            operations=dict(self._operations),
            reported_request_units=round(self._reported, 2),
            responses_with_reported_charge=self._with_charge,
            responses_without_reported_charge=self._without_charge,
            estimated_request_units=round(self._estimated, 2),
        )


def _reported_charge(headers: Mapping[str, Any] | None) -> float | None:
    if not headers:
        return None
    value = headers.get("x-ms-request-charge")
    return None if value is None else float(value)


def _touches_index(patched: str, indexed_paths: Sequence[str]) -> bool:
    return any(
        path == patched or path.startswith(patched + "/") or patched.startswith(path + "/")
        for path in indexed_paths
    )


def _size(body: Any) -> int:
    return len(json.dumps(body, separators=(",", ":"), default=str))


class MeteredContainer:
    """A container whose every call is counted. Only the calls the store uses, with the
    options it uses: ETag conditions always mean "if not modified since I read it"."""

    def __init__(
        self,
        container: ContainerProxy,
        metrics: CosmosMetrics,
        indexed_paths: Sequence[str] = (),
    ) -> None:
        self._container = container
        self._metrics = metrics
        self._indexed_paths = tuple(indexed_paths)
        """The container's indexing policy: what a write's index terms are counted from."""

    async def _call(
        self,
        kind: OperationKind,
        request_bytes: int,
        call: Callable[[Callable[[Mapping[str, Any], Any], None]], Any],
        *,
        indexed_terms: int = 0,
        patch_operations: int = 0,
    ) -> Any:
        headers: list[Mapping[str, Any]] = []

        def hook(response_headers: Mapping[str, Any], _result: Any = None) -> None:
            headers.append(dict(response_headers))

        try:
            result = await call(hook)
        except exceptions.CosmosHttpResponseError as error:
            self._metrics.record(kind, [*headers, error.headers], request_bytes, failed=True)
            raise
        # A patch rewrites the whole document: its size is the document's, not the patch's.
        written = kind in _WRITES and kind != OperationKind.PATCH
        size = request_bytes if written else _size(result)
        self._metrics.record(
            kind,
            headers,
            size,
            indexed_terms=indexed_terms,
            patch_operations=patch_operations,
        )
        return result

    def _terms(self, body: Mapping[str, Any]) -> int:
        return indexed_terms(self._indexed_paths, body)

    async def read(self, item_id: str, partition_key: str) -> dict[str, Any]:
        result = await self._call(
            OperationKind.POINT_READ,
            0,
            lambda hook: self._container.read_item(item_id, partition_key, response_hook=hook),
        )
        return dict(result)

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        result = await self._call(
            OperationKind.CREATE,
            _size(body),
            lambda hook: self._container.create_item(body, response_hook=hook),
            indexed_terms=self._terms(body),
        )
        return dict(result)

    async def upsert(self, body: dict[str, Any]) -> None:
        await self._call(
            OperationKind.UPSERT,
            _size(body),
            lambda hook: self._container.upsert_item(body, response_hook=hook),
            indexed_terms=self._terms(body),
        )

    async def replace(
        self, body: dict[str, Any], *, etag: str, previous: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Replace the document if it is still the version read (its ETag); 412 otherwise.
        `previous`: that version, when the caller has it, so only changed index terms count
        (without it, every term of the new version is counted as changed)."""
        terms = (
            self._terms(body)
            if previous is None
            else changed_terms(self._indexed_paths, previous, body)
        )
        result = await self._call(
            OperationKind.REPLACE,
            _size(body),
            lambda hook: self._container.replace_item(
                body["id"],
                body,
                etag=etag,
                match_condition=MatchConditions.IfNotModified,
                response_hook=hook,
            ),
            indexed_terms=terms,
        )
        return dict(result)

    async def patch(
        self,
        item_id: str,
        partition_key: str,
        operations: list[dict[str, Any]],
        *,
        filter_predicate: str | None = None,
    ) -> dict[str, Any]:
        result = await self._call(
            OperationKind.PATCH,
            _size(operations),
            lambda hook: self._container.patch_item(
                item_id,
                partition_key,
                operations,
                filter_predicate=filter_predicate,
                response_hook=hook,
            ),
            indexed_terms=1
            + sum(_touches_index(op["path"], self._indexed_paths) for op in operations),
            patch_operations=len(operations),
        )
        return dict(result)

    async def delete(self, item_id: str, partition_key: str, *, etag: str | None = None) -> None:
        await self._call(
            OperationKind.DELETE,
            0,
            lambda hook: self._container.delete_item(
                item_id,
                partition_key,
                etag=etag,
                match_condition=None if etag is None else MatchConditions.IfNotModified,
                response_hook=hook,
            ),
            # The document is not at hand: each indexed path is taken as one term.
            indexed_terms=ALWAYS_INDEXED_TERMS + len(self._indexed_paths),
        )

    async def query(
        self,
        sql: str,
        parameters: Mapping[str, Any],
        *,
        partition_key: str | None,
    ) -> list[Any]:
        """All results of a query. With a partition key it is served by that one partition
        (the query must also filter on c.pk); None fans out to every partition."""
        kind = (
            OperationKind.QUERY_CROSS_PARTITION
            if partition_key is None
            else OperationKind.QUERY_SINGLE_PARTITION
        )
        params = [{"name": name, "value": value} for name, value in parameters.items()]

        async def run(hook: Callable[[Mapping[str, Any], Any], None]) -> list[Any]:
            if partition_key is None:
                pages = self._container.query_items(sql, parameters=params, response_hook=hook)
            else:
                pages = self._container.query_items(
                    sql, parameters=params, partition_key=partition_key, response_hook=hook
                )
            return [row async for row in pages]

        result: list[Any] = await self._call(kind, _size(sql), run)
        return result
