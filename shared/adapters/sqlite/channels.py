"""ChannelStore on SQLite: channels, and the addresses each one owns (unique)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from shared.adapters.sqlite.tables import SqliteBase, upsert_doc
from shared.domain.channels import Channel, ChannelKind
from shared.errors import Conflict


class SqliteChannels(SqliteBase):
    async def put_channel(self, channel: Channel) -> None:
        def write(db: sqlite3.Connection) -> None:
            taken = db.execute(
                "SELECT address FROM channel_addresses WHERE kind = ? AND channel_id != ? "  # noqa: S608
                f"AND address IN ({','.join('?' for _ in channel.addresses)})",
                (channel.kind, channel.id, *channel.addresses),
            ).fetchone()
            if taken is not None:
                raise Conflict(f"{taken[0]} already belongs to another channel")
            upsert_doc(db, "channels", channel.id, channel)
            db.execute("DELETE FROM channel_addresses WHERE channel_id = ?", (channel.id,))
            db.executemany(
                "INSERT INTO channel_addresses (kind, address, channel_id) VALUES (?, ?, ?)",
                [(channel.kind, address, channel.id) for address in channel.addresses],
            )

        await self._db.atomic(write)

    async def get_channel(self, channel_id: str) -> Channel | None:
        return await self._get(Channel, "channels", channel_id)

    async def find_channel(self, kind: ChannelKind, address: str) -> Channel | None:
        return await self._query_one(
            Channel,
            "SELECT c.doc FROM channel_addresses a JOIN channels c ON c.id = a.channel_id "
            "WHERE a.kind = ? AND a.address = ?",
            (kind, address),
        )

    async def list_channels(self, *, after: str | None, limit: int) -> Sequence[Channel]:
        return await self._list_docs(Channel, "channels", after, limit)

    async def delete_channel(self, channel_id: str) -> bool:
        def delete(db: sqlite3.Connection) -> bool:
            db.execute("DELETE FROM channel_addresses WHERE channel_id = ?", (channel_id,))
            return db.execute("DELETE FROM channels WHERE id = ?", (channel_id,)).rowcount > 0

        return await self._db.atomic(delete)
