"""What every store adapter must do as a ReadMarkStore: when the customer last read a
conversation, moved forward only."""

from __future__ import annotations

from datetime import timedelta

from shared.ports import Store
from tests.contract.builders import T0


async def test_the_customer_read_mark_moves_forward_only(store: Store) -> None:
    assert await store.customer_read_at("c1") is None
    assert await store.mark_customer_read("c1", T0) == T0
    later = T0 + timedelta(seconds=30)
    assert await store.mark_customer_read("c1", later) == later
    assert await store.mark_customer_read("c1", T0) == later  # a late, older mark
    assert await store.customer_read_at("c1") == later
    assert await store.customer_read_at("c2") is None
