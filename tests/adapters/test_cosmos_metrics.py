"""The request-unit estimate: Cosmos DB's documented charges, with index terms counted from a
container's indexing policy."""

from __future__ import annotations

import pytest

from shared.adapters.cosmos import layout
from shared.adapters.cosmos.metrics import (
    OperationKind,
    changed_terms,
    estimate_request_units,
    indexed_terms,
)


def test_index_terms_are_the_indexed_paths_present_plus_id_and_ts() -> None:
    item = {"id": "i", "pk": "queue:q", "type": "item", "status": "waiting", "data": {"x": 1}}
    assert indexed_terms(layout.WORK.indexed_paths, item) == 2 + 3
    agent = {"id": "a", "pk": "agents", "type": "agent", "queue_ids": ["q1", "q2", "q3"]}
    assert indexed_terms(layout.WORK.indexed_paths, agent) == 2 + 2 + 3  # one per element
    message = {"id": "m", "pk": "c", "type": "message", "seq": 1, "data": {"status": "sent"}}
    assert indexed_terms(layout.CONVERSATIONS.indexed_paths, message) == 2 + 4


def test_a_replace_changes_only_the_terms_whose_values_differ_and_ts() -> None:
    before = {"id": "i", "pk": "queue:q", "type": "item", "status": "waiting", "priority": 1}
    after = {**before, "status": "active", "data": {"agent_id": "a"}}
    assert changed_terms(layout.WORK.indexed_paths, before, after) == 1 + 1


@pytest.mark.parametrize(
    ("kind", "size", "terms", "operations", "expected"),
    [
        (OperationKind.POINT_READ, 900, 0, 0, 1.0),
        (OperationKind.POINT_READ, 1500, 0, 0, 1.04),
        (OperationKind.CREATE, 900, 3, 0, 4.95 + 0.6),
        (OperationKind.CREATE, 1500, 3, 0, 6.29 + 0.6),
        (OperationKind.REPLACE, 900, 1, 0, 2 * 4.95 + 0.4),
        (OperationKind.UPSERT, 900, 3, 0, 2 * 4.95 + 1.2),
        (OperationKind.PATCH, 900, 1, 1, 2 * 4.95 + 0.4 + 0.4),
        (OperationKind.DELETE, 0, 5, 0, 4.95 + 1.0),
        (OperationKind.QUERY_SINGLE_PARTITION, 3, 0, 0, 3.5),
        (OperationKind.QUERY_SINGLE_PARTITION, 1500, 0, 0, 4.5),
    ],
)
def test_documented_charges(
    kind: OperationKind, size: int, terms: int, operations: int, expected: float
) -> None:
    estimate = estimate_request_units(
        kind, size, failed=False, indexed_terms=terms, patch_operations=operations
    )
    assert estimate == pytest.approx(expected)


def test_a_failed_request_costs_about_one() -> None:
    assert estimate_request_units(OperationKind.CREATE, 900, failed=True) == 1.0
