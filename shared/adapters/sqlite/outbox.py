"""OutboxStore on SQLite: what the sandbox sender sent."""

from __future__ import annotations

from collections.abc import Sequence

from shared.adapters.sqlite.tables import SqliteBase, doc_json
from shared.domain.conversations import SentSms


class SqliteOutbox(SqliteBase):
    async def record_sent_sms(self, sms: SentSms) -> None:
        await self._db.atomic(
            lambda db: db.execute(
                "INSERT INTO sent_sms (provider_message_id, sent_at, doc) VALUES (?, ?, ?) "
                "ON CONFLICT (provider_message_id) DO NOTHING",
                (sms.provider_message_id, sms.sent_at.isoformat(), doc_json(sms)),
            )
        )

    async def list_sent_sms(self, *, limit: int) -> Sequence[SentSms]:
        return await self._query(
            SentSms,
            "SELECT doc FROM sent_sms ORDER BY sent_at DESC, provider_message_id LIMIT ?",
            (limit,),
        )
