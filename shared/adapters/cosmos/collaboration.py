"""CollaborationStore on Cosmos DB: transfers and consultants."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from azure.cosmos import exceptions

from shared.adapters.cosmos import layout
from shared.adapters.cosmos.containers import MOVING, CosmosBase, item_document, load_record
from shared.adapters.cosmos.documents import (
    Doc,
    read_or_none,
    update,
)
from shared.adapters.cosmos.search_index import index_work
from shared.domain.work import AGENT_WORKING, WorkItem, WorkItemStatus


class CosmosCollaboration(CosmosBase):
    async def _set_consult_pointer(self, agent_id: str, item_id: str, present: bool) -> None:
        """The consultant's document lists its consults (its console finds them with point
        reads); the item is the truth, so a stale entry is skipped on read."""

        def point(doc: Doc) -> Doc | None:
            consults = dict(doc.get("consults") or {})
            if (item_id in consults) == present:
                return None
            if present:
                consults[item_id] = True
            else:
                consults.pop(item_id, None)
            return {**doc, "consults": consults}

        await update(self._work, agent_id, layout.AGENTS_PARTITION, point)

    async def add_consultant(
        self, item_id: str, primary_agent_id: str, consultant_id: str
    ) -> WorkItem | None:
        def add(item: WorkItem) -> WorkItem | None:
            if (
                item.status not in AGENT_WORKING
                or item.agent_id != primary_agent_id
                or consultant_id == primary_agent_id
                or consultant_id in item.consultants
            ):
                return None
            return item.model_copy(update={"consultants": (*item.consultants, consultant_id)})

        changed = await self._change_item(item_id, add)
        if changed is None:
            current = await self.get_work_item(item_id)
            if (
                current is None
                or current.agent_id != primary_agent_id
                or current.status not in AGENT_WORKING
                or consultant_id not in current.consultants
            ):
                return None
            changed = current  # consulted already: idempotent
        await self._set_consult_pointer(consultant_id, item_id, True)
        return changed

    async def remove_consultant(self, item_id: str, consultant_id: str) -> WorkItem | None:
        def remove(item: WorkItem) -> WorkItem | None:
            if consultant_id not in item.consultants:
                return None
            return item.model_copy(
                update={"consultants": tuple(c for c in item.consultants if c != consultant_id)}
            )

        changed = await self._change_item(item_id, remove)
        await self._set_consult_pointer(consultant_id, item_id, False)
        return changed

    async def consulted_items(self, agent_id: str) -> Sequence[WorkItem]:
        doc = await read_or_none(self._work, agent_id, layout.AGENTS_PARTITION)
        items = []
        for item_id in (doc or {}).get("consults") or {}:
            item = await self.get_work_item(item_id)
            if item is None or item.status == WorkItemStatus.CLOSED:
                continue
            if agent_id in item.consultants:
                items.append(item)
        return sorted(items, key=lambda i: (i.enqueued_at, i.id))

    async def transfer_to_agent(
        self, item_id: str, from_agent_id: str, to_agent_id: str, now: datetime
    ) -> WorkItem | None:
        """Two partitions, as an assignment: the receiver's hold first (capacity checked under
        its ETag), then the item under its own ETag, then the sender's hold is released. A lost
        race (the item closed or moved meanwhile) releases the receiver's hold; a crash leaves
        holds whose items are not their agents', which reconcile releases."""
        doc = await self._item_doc(item_id)
        if doc is None or to_agent_id == from_agent_id:
            return None
        item = load_record(WorkItem, doc)
        if item.status != WorkItemStatus.ACTIVE or item.agent_id != from_agent_id:
            return None
        if not await self._hold_capacity(to_agent_id, item, now):
            return None

        def hand_over(current: WorkItem) -> WorkItem | None:
            if current.status != WorkItemStatus.ACTIVE or current.agent_id != from_agent_id:
                return None
            return current.transferred_to_agent(to_agent_id, now)

        try:
            moved = await self._change_item(item_id, hand_over)
        except exceptions.CosmosHttpResponseError:
            await self._release_hold(to_agent_id, item_id)
            raise
        if moved is None:
            await self._release_hold(to_agent_id, item_id)  # compensation
            return None
        await self._release_hold(from_agent_id, item_id, kept_assignment=True, released_at=now)
        await index_work(self._conversations, self._search, self._opening_days, moved)
        return moved

    async def transfer_to_queue(
        self, item_id: str, from_agent_id: str, queue_id: str, now: datetime
    ) -> WorkItem | None:
        """The item waits again, first (in its own partition, or marked moving to the new
        queue's, which whoever reads it finishes), then the sender's hold is released."""
        while True:
            doc = await self._item_doc(item_id)
            if doc is None:
                return None
            item = load_record(WorkItem, doc)
            if item.status != WorkItemStatus.ACTIVE or item.agent_id != from_agent_id:
                return None
            # Written in its current partition first: _finish_move carries it to the new one.
            waiting = item.transferred_to_queue(queue_id, now).model_copy(
                update={"queue_id": item.queue_id}
            )
            if queue_id == item.queue_id:
                body = item_document(waiting)
            else:
                body = {
                    **item_document(waiting),
                    "status": MOVING,
                    "moving_to": queue_id,
                }
            try:
                await self._work.replace(body, etag=doc["_etag"], previous=doc)
            except exceptions.CosmosAccessConditionFailedError:
                continue
            if queue_id != item.queue_id:
                body = await self._finish_move(body)
            await self._release_hold(from_agent_id, item_id, kept_assignment=True)
            waiting = load_record(WorkItem, body)
            await index_work(self._conversations, self._search, self._opening_days, waiting)
            return waiting
