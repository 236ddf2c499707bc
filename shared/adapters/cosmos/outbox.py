"""OutboxStore on Cosmos DB: what the sandbox sender sent."""

from __future__ import annotations

from collections.abc import Sequence

from shared.adapters.cosmos import layout
from shared.adapters.cosmos.containers import CosmosBase
from shared.adapters.cosmos.documents import create_if_absent, query_records
from shared.adapters.cosmos.layout import document, epoch_micros
from shared.domain.conversations import SentSms


class CosmosOutbox(CosmosBase):
    async def record_sent_sms(self, sms: SentSms) -> None:
        await create_if_absent(
            self._outbox,
            document(
                sms.provider_message_id,
                layout.SENT_SMS_PARTITION,
                "sent-sms",
                sms,
                sent_at=epoch_micros(sms.sent_at),
            ),
        )

    async def list_sent_sms(self, *, limit: int) -> Sequence[SentSms]:
        return await query_records(
            self._outbox,
            SentSms,
            "SELECT TOP @limit VALUE c.data FROM c WHERE c.pk = @pk ORDER BY c.sent_at DESC, c.id",
            {"@pk": layout.SENT_SMS_PARTITION, "@limit": limit},
            partition_key=layout.SENT_SMS_PARTITION,
        )
