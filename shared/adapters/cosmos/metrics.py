"""What the Cosmos store asks of Cosmos DB: operations by kind, and their request units.

Every call goes through `MeteredContainer`, which counts it and adds up two figures:
- the request charge the response reports (`x-ms-request-charge`), when it reports one;
- an estimate from Cosmos DB's documented costs, always, so figures exist even where a server
  reports no charge or a flat one (the local protocol server answers 1 for everything).
Documented costs used for the estimate: a point read of 1 KB is 1 RU; a write (create,
upsert, replace, patch, delete) of 1 KB is about 5.5 RU with the indexing policies here; a
query is about 2.5 RU plus 1 RU per KB it returns; a request that fails (404, 409, 412) ~1 RU.
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


READ_RU_PER_KB = 1.0
WRITE_RU_PER_KB = 5.5
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


def estimate_request_units(kind: OperationKind, payload_bytes: int, *, failed: bool) -> float:
    kilobytes = max(1, math.ceil(payload_bytes / 1024))
    if failed:
        return FAILED_REQUEST_RU
    if kind in _WRITES:
        return WRITE_RU_PER_KB * kilobytes
    if kind == OperationKind.POINT_READ:
        return READ_RU_PER_KB * kilobytes
    returned_kb = math.ceil(payload_bytes / 1024)
    return QUERY_BASE_RU + QUERY_RU_PER_KB * returned_kb


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
    ) -> None:
        """One operation; `responses` are the headers of its responses (a query may take
        several pages), whose reported charges add up."""
        self._operations[kind] += 1
        self._estimated += estimate_request_units(kind, payload_bytes, failed=failed)
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


def _size(body: Any) -> int:
    return len(json.dumps(body, separators=(",", ":"), default=str))


class MeteredContainer:
    """A container whose every call is counted. Only the calls the store uses, with the
    options it uses: ETag conditions always mean "if not modified since I read it"."""

    def __init__(self, container: ContainerProxy, metrics: CosmosMetrics) -> None:
        self._container = container
        self._metrics = metrics

    async def _call(
        self,
        kind: OperationKind,
        request_bytes: int,
        call: Callable[[Callable[[Mapping[str, Any], Any], None]], Any],
    ) -> Any:
        headers: list[Mapping[str, Any]] = []

        def hook(response_headers: Mapping[str, Any], _result: Any = None) -> None:
            headers.append(dict(response_headers))

        try:
            result = await call(hook)
        except exceptions.CosmosHttpResponseError as error:
            self._metrics.record(kind, [*headers, error.headers], request_bytes, failed=True)
            raise
        size = request_bytes if kind in _WRITES else _size(result)
        self._metrics.record(kind, headers, size)
        return result

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
        )
        return dict(result)

    async def upsert(self, body: dict[str, Any]) -> None:
        await self._call(
            OperationKind.UPSERT,
            _size(body),
            lambda hook: self._container.upsert_item(body, response_hook=hook),
        )

    async def replace(self, body: dict[str, Any], *, etag: str) -> dict[str, Any]:
        """Replace the document if it is still the version read (its ETag); 412 otherwise."""
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
