"""QuickReplyStore on SQLite: one row per reply, its workstream and folded text as columns."""

from __future__ import annotations

from collections.abc import Sequence

from shared.adapters.sqlite.tables import SqliteBase, doc_json
from shared.domain.quick_replies import QuickReply


class SqliteQuickReplies(SqliteBase):
    async def put_quick_reply(self, reply: QuickReply) -> None:
        await self._db.atomic(
            lambda db: db.execute(
                "INSERT INTO quick_replies (id, workstream_id, search, doc) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET workstream_id = excluded.workstream_id, "
                "search = excluded.search, doc = excluded.doc",
                (reply.id, reply.workstream_id, reply.search_text, doc_json(reply)),
            )
        )

    async def get_quick_reply(self, reply_id: str) -> QuickReply | None:
        return await self._get(QuickReply, "quick_replies", reply_id)

    async def list_quick_replies(self, *, after: str | None, limit: int) -> Sequence[QuickReply]:
        return await self._list_docs(QuickReply, "quick_replies", after, limit)

    async def delete_quick_reply(self, reply_id: str) -> bool:
        return await self._delete("quick_replies", reply_id)

    async def search_quick_replies(
        self, workstream_ids: Sequence[str], text: str, *, limit: int
    ) -> Sequence[QuickReply]:
        if not workstream_ids:
            return []
        marks = ",".join("?" for _ in workstream_ids)
        return await self._query(
            QuickReply,
            f"SELECT doc FROM quick_replies WHERE workstream_id IN ({marks}) "  # noqa: S608
            "AND instr(search, ?) > 0 ORDER BY id LIMIT ?",
            (*workstream_ids, text.casefold(), limit),
        )
