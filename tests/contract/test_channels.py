"""What every store adapter must do as a ChannelStore: channels and the addresses they own."""

from __future__ import annotations

import pytest

from shared.domain.channels import Channel, ChannelKind
from shared.errors import Conflict
from shared.ports import Store


async def test_a_number_belongs_to_one_channel(store: Store) -> None:
    first = Channel(id="a", kind=ChannelKind.SMS, addresses=("+12025550100",), workstream_id="ws")
    await store.put_channel(first)
    with pytest.raises(Conflict):
        await store.put_channel(first.model_copy(update={"id": "b"}))
    moved = first.model_copy(update={"addresses": ("+12025550111",)})
    await store.put_channel(moved)
    assert await store.find_channel(ChannelKind.SMS, "+12025550111") == moved
    # Reads of what is not there come last, so a store that cannot answer them (the local
    # Cosmos server) still runs the rest.
    assert await store.get_channel("b") is None
    assert await store.find_channel(ChannelKind.SMS, "+12025550100") is None


async def test_channels_list_by_cursor_and_delete(store: Store) -> None:
    for n in range(5):
        await store.put_channel(
            Channel(
                id=f"ch{n}",
                kind=ChannelKind.SMS,
                addresses=(f"+1202555010{n}",),
                workstream_id="ws",
            )
        )
    first = await store.list_channels(after=None, limit=2)
    rest = await store.list_channels(after=first[-1].id, limit=10)
    assert [c.id for c in first] == ["ch0", "ch1"]
    assert [c.id for c in rest] == ["ch2", "ch3", "ch4"]
    assert await store.delete_channel("ch2")
    assert not await store.delete_channel("ch2")
    assert await store.find_channel(ChannelKind.SMS, "+12025550102") is None
    await store.put_channel(
        Channel(id="new", kind=ChannelKind.SMS, addresses=("+12025550102",), workstream_id="ws")
    )
