"""ChannelStore on Cosmos DB: channels, each address claimed in the lookups container first."""

from __future__ import annotations

import time
from collections.abc import Sequence

from azure.cosmos import exceptions

from shared.adapters.cosmos import layout
from shared.adapters.cosmos.containers import CosmosBase
from shared.adapters.cosmos.documents import (
    create_if_absent,
    create_or_replace,
    delete_if_present,
    read_or_none,
)
from shared.adapters.cosmos.layout import document
from shared.domain.channels import Channel, ChannelKind
from shared.errors import Conflict

CLAIM_GRACE_SECONDS = 120.0
"""A number's claim younger than this, whose channel is not written yet, belongs to a write in
flight (claims are taken before the channel is written)."""


class CosmosChannels(CosmosBase):
    async def put_channel(self, channel: Channel) -> None:
        claimed: list[str] = []
        try:
            for address in channel.addresses:
                if await self._claim_address(channel, address):
                    claimed.append(address)
        except Conflict:
            for address in claimed:  # compensation: this write changes nothing
                key = layout.channel_address_key(channel.kind, address)
                await delete_if_present(self._lookups, key, key)
            raise
        replaced = await create_or_replace(
            self._config, document(channel.id, "channel", "channel", channel)
        )
        if replaced is not None:
            previous = Channel.model_validate(replaced["data"])
            for address in set(previous.addresses) - set(channel.addresses):
                key = layout.channel_address_key(previous.kind, address)
                await delete_if_present(self._lookups, key, key)

    async def _claim_address(self, channel: Channel, address: str) -> bool:
        """Take the number for the channel; True if this call took it. A claim whose channel
        no longer lists the number, or never got written past the grace period (an
        interrupted write), is free to take."""
        key = layout.channel_address_key(channel.kind, address)
        claim = document(key, key, "channel-address", channel_id=channel.id)
        while True:
            if await create_if_absent(self._lookups, claim):
                return True
            current = await read_or_none(self._lookups, key, key)
            if current is None:
                continue
            owner_id = str(current["channel_id"])
            if owner_id == channel.id:
                return False
            owner = await self.get_channel(owner_id)
            if owner is not None and owner.kind == channel.kind and address in owner.addresses:
                raise Conflict(f"{address} already belongs to another channel")
            if owner is None and time.time() - float(current["_ts"]) < CLAIM_GRACE_SECONDS:
                raise Conflict(f"{address} is being given to another channel right now")
            try:
                await self._lookups.replace(claim, etag=current["_etag"])
            except exceptions.CosmosAccessConditionFailedError:
                continue
            return True

    async def get_channel(self, channel_id: str) -> Channel | None:
        return await self._get_config(Channel, "channel", channel_id)

    async def find_channel(self, kind: ChannelKind, address: str) -> Channel | None:
        key = layout.channel_address_key(kind, address)
        claim = await read_or_none(self._lookups, key, key)
        if claim is None:
            return None
        channel = await self.get_channel(str(claim["channel_id"]))
        # The claim is a pointer; the channel is the truth (a stale claim points elsewhere).
        if channel is None or channel.kind != kind or address not in channel.addresses:
            return None
        return channel

    async def list_channels(self, *, after: str | None, limit: int) -> Sequence[Channel]:
        return await self._list_config(Channel, "channel", after, limit)

    async def delete_channel(self, channel_id: str) -> bool:
        current = await read_or_none(self._config, channel_id, "channel")
        if current is None:
            return False
        try:
            await self._config.delete(channel_id, "channel", etag=current["_etag"])
        except (
            exceptions.CosmosAccessConditionFailedError,
            exceptions.CosmosResourceNotFoundError,
        ):
            return await self.delete_channel(channel_id)
        channel = Channel.model_validate(current["data"])
        for address in channel.addresses:
            key = layout.channel_address_key(channel.kind, address)
            await delete_if_present(self._lookups, key, key)
        return True
