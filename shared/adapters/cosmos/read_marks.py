"""ReadMarkStore on Cosmos DB: one document per conversation in `lookups`, its own partition
(pk = id = `customer-read:<conversation id>`), moved forward only under its ETag."""

from __future__ import annotations

from datetime import datetime

from shared.adapters.cosmos.containers import CosmosBase
from shared.adapters.cosmos.documents import Doc, create_if_absent, read_or_none, update
from shared.adapters.cosmos.layout import customer_read_key, document, epoch_micros


class CosmosReadMarks(CosmosBase):
    async def mark_customer_read(self, conversation_id: str, at: datetime) -> datetime:
        key = customer_read_key(conversation_id)
        micros = epoch_micros(at)
        fields: Doc = {"read_at": at.isoformat(), "read_micros": micros}
        if await create_if_absent(
            self._lookups, document(key, key, "customer_read", None, **fields)
        ):
            return at

        def later(doc: Doc) -> Doc | None:
            return None if int(doc["read_micros"]) >= micros else {**doc, **fields}

        await update(self._lookups, key, key, later)
        stored = await self.customer_read_at(conversation_id)
        return at if stored is None else stored

    async def customer_read_at(self, conversation_id: str) -> datetime | None:
        key = customer_read_key(conversation_id)
        doc = await read_or_none(self._lookups, key, key)
        return None if doc is None else datetime.fromisoformat(doc["read_at"])
