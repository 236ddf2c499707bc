"""QuickReplyStore on Cosmos DB: config documents in the `quick_reply` partition, with the
workstream and the folded text as query fields (one single-partition query per search)."""

from __future__ import annotations

from collections.abc import Sequence

from shared.adapters.cosmos.containers import CosmosBase
from shared.adapters.cosmos.documents import delete_if_present, query_records
from shared.adapters.cosmos.layout import document
from shared.domain.quick_replies import QuickReply

QUICK_REPLY = "quick_reply"


class CosmosQuickReplies(CosmosBase):
    async def put_quick_reply(self, reply: QuickReply) -> None:
        await self._config.upsert(
            document(
                reply.id,
                QUICK_REPLY,
                QUICK_REPLY,
                reply,
                workstream_id=reply.workstream_id,
                search=reply.search_text,
            )
        )

    async def get_quick_reply(self, reply_id: str) -> QuickReply | None:
        return await self._get_config(QuickReply, QUICK_REPLY, reply_id)

    async def list_quick_replies(self, *, after: str | None, limit: int) -> Sequence[QuickReply]:
        return await self._list_config(QuickReply, QUICK_REPLY, after, limit)

    async def delete_quick_reply(self, reply_id: str) -> bool:
        return await delete_if_present(self._config, reply_id, QUICK_REPLY)

    async def search_quick_replies(
        self, workstream_ids: Sequence[str], text: str, *, limit: int
    ) -> Sequence[QuickReply]:
        if not workstream_ids:
            return []
        return await query_records(
            self._config,
            QuickReply,
            "SELECT TOP @limit VALUE c.data FROM c WHERE c.pk = @pk "
            "AND ARRAY_CONTAINS(@workstreams, c.workstream_id) AND CONTAINS(c.search, @text) "
            "ORDER BY c.id",
            {
                "@pk": QUICK_REPLY,
                "@workstreams": list(workstream_ids),
                "@text": text.casefold(),
                "@limit": limit,
            },
            partition_key=QUICK_REPLY,
        )
