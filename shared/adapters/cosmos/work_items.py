"""WorkItemStore on Cosmos DB: work items in their queue's partition, offers and assignments held
against the agent's capacity."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from azure.cosmos import exceptions

from shared.adapters.cosmos import layout
from shared.adapters.cosmos.containers import (
    MOVING,
    CosmosBase,
    item_document,
    item_pointer_document,
    load_record,
    open_item_pointer,
)
from shared.adapters.cosmos.documents import (
    Doc,
    create_if_absent,
    query_records,
    read_or_none,
    update,
)
from shared.adapters.cosmos.layout import document, epoch_micros, stored_fields
from shared.adapters.cosmos.routing_log import write_routing_decision
from shared.adapters.cosmos.search_index import index_work
from shared.domain.work import PlannedAssignment, WorkItem, WorkItemStatus


class CosmosWorkItems(CosmosBase):
    async def create_work_item(self, item: WorkItem) -> tuple[WorkItem, bool]:
        """The conversation's pointer document names its unclosed item: created with it (the
        first item), or set under its ETag only if unset; then the item is written where its
        queue is."""
        pointer = open_item_pointer(item)
        if await create_if_absent(
            self._conversations, item_pointer_document(item.conversation_id, item)
        ):
            return await self._new_item(pointer), True
        while True:
            doc = await self._item_pointer(item.conversation_id)
            if doc is None:  # never deleted today
                return await self.create_work_item(item)
            if doc.get("open_item") is not None:
                existing = await self._materialize_item(doc["open_item"])
                if existing.status == WorkItemStatus.CLOSED:
                    # A close stopped before clearing its pointer: finish it, then try again.
                    await self._clear_open_item(existing)
                    continue
                return existing, False
            try:
                await self._conversations.replace(
                    {**stored_fields(doc), "open_item": pointer}, etag=doc["_etag"], previous=doc
                )
            except exceptions.CosmosAccessConditionFailedError:
                continue
            return await self._new_item(pointer), True

    async def _new_item(self, pointer: Doc) -> WorkItem:
        """The item the pointer names, written, and its queue added to its conversation's
        searchable parties."""
        created = await self._materialize_item(pointer)
        await index_work(self._conversations, self._search, self._opening_days, created)
        return created

    async def queues_with_waiting_items(self) -> Sequence[str]:
        """For the sweep timer, not the hot path: this query spans every partition."""
        queue_ids = await self._work.query(
            "SELECT VALUE c.queue_id FROM c WHERE c.type = 'item' AND c.status = @waiting",
            {"@waiting": str(WorkItemStatus.WAITING)},
            partition_key=None,
        )
        return sorted(set(queue_ids))

    async def waiting_items(self, queue_id: str, *, limit: int) -> Sequence[WorkItem]:
        partition = layout.queue_partition(queue_id)
        return await query_records(
            self._work,
            WorkItem,
            "SELECT TOP @limit VALUE c.data FROM c WHERE c.pk = @pk AND c.status = @waiting "
            "ORDER BY c.priority DESC, c.enqueued_at, c.id",
            {"@pk": partition, "@waiting": str(WorkItemStatus.WAITING), "@limit": limit},
            partition_key=partition,
        )

    async def assign(
        self,
        item_id: str,
        agent_id: str,
        now: datetime,
        *,
        offer_until: datetime | None = None,
        round_robin: bool | None = None,
    ) -> WorkItem | None:
        item_doc = await self._item_doc(item_id)
        if item_doc is None or item_doc["status"] != WorkItemStatus.WAITING:
            return None
        item = load_record(WorkItem, item_doc)
        if not await self._hold_capacity(agent_id, item, now):
            return None
        try:
            assigned = await self._take_item(item_doc, agent_id, now, offer_until)
        except exceptions.CosmosAccessConditionFailedError:
            # Another router took the item since it was read: give the capacity back.
            await self._release_hold(agent_id, item.id)
            return None
        except exceptions.CosmosHttpResponseError:
            await self._release_hold(agent_id, item.id)
            raise
        # The item is the agent's now: a failure from here on must not release its hold.
        # Only round robin reads the cursor: a caller that knows the queue is not one saves
        # the write (None, not known: written, as a read of the queue would cost as much).
        if round_robin is not False:
            await self._work.upsert(
                document(
                    layout.ROUND_ROBIN_CURSOR_ID,
                    layout.queue_partition(item.queue_id),
                    "cursor",
                    agent_id=agent_id,
                )
            )
        await index_work(self._conversations, self._search, self._opening_days, assigned)
        return assigned

    async def assign_batch(
        self,
        planned: Sequence[PlannedAssignment],
        now: datetime,
        *,
        round_robin: bool | None = None,
    ) -> list[WorkItem]:
        """One by one, each with `assign`'s guarantees (the agent's hold first, then the item
        by ETag): an item lives in its queue's partition and the agent's holds in the agents'
        partition, so no transactional batch spans an item and its hold (docs/cosmos.md). The
        decision of each one given is written after it, as `record_routing_decision` would; a
        crash between the two loses a log entry, never work or capacity."""
        given: list[WorkItem] = []
        for plan in planned:
            won = await self.assign(
                plan.item_id,
                plan.agent_id,
                now,
                offer_until=plan.offer_until,
                round_robin=round_robin,
            )
            if won is None:
                break
            await write_routing_decision(self._lookups, plan.decision)
            given.append(won)
        return given

    async def _take_item(
        self, item_doc: Doc, agent_id: str, now: datetime, offer_until: datetime | None
    ) -> WorkItem:
        """Second write: the item becomes the agent's, if still the version read (ETag)."""
        assigned = load_record(WorkItem, item_doc).given_to(agent_id, now, offer_until)
        await self._work.replace(item_document(assigned), etag=item_doc["_etag"], previous=item_doc)
        return assigned

    async def agent_items(self, agent_id: str) -> Sequence[WorkItem]:
        agent = await read_or_none(self._work, agent_id, layout.AGENTS_PARTITION)
        if agent is None:
            return []
        items = []
        for item_id, hold in agent["holds"].items():
            doc = await read_or_none(
                self._work, item_id, layout.queue_partition(str(hold["queue_id"]))
            )
            # A hold whose item write is in flight (or never happened) is not work yet.
            if doc is None:
                continue
            item = load_record(WorkItem, doc)
            if item.agent_id == agent_id and item.status != WorkItemStatus.CLOSED:
                items.append(item)
        return sorted(items, key=lambda i: (i.enqueued_at, i.id))

    async def wrap_up_work_item(
        self, item_id: str, now: datetime | None = None, *, agent_id: str | None = None
    ) -> WorkItem | None:
        """One write in the item's queue partition, under its ETag; the agent's hold stays
        (wrap-up holds capacity), and the conversation's pointer still names the item."""
        doc = await self._item_doc(item_id)
        if doc is None:
            return None

        def wrap_up(current: Doc) -> Doc | None:
            item = load_record(WorkItem, current)
            if item.status != WorkItemStatus.ACTIVE:
                return None
            if agent_id is not None and item.agent_id != agent_id:
                return None
            return item_document(
                item.model_copy(update={"status": WorkItemStatus.WRAP_UP, "wrap_up_at": now})
            )

        updated = await update(self._work, item_id, str(doc["pk"]), wrap_up)
        return None if updated is None else load_record(WorkItem, updated)

    async def accept_offer(self, item_id: str, agent_id: str, now: datetime) -> WorkItem | None:
        def accept(item: WorkItem) -> WorkItem | None:
            if item.status != WorkItemStatus.OFFERED or item.agent_id != agent_id:
                return None
            return item.model_copy(
                update={"status": WorkItemStatus.ACTIVE, "offer_expires_at": None}
            )

        accepted = await self._change_item(item_id, accept)
        await index_work(self._conversations, self._search, self._opening_days, accepted)
        return accepted

    async def return_to_queue(
        self, item_id: str, agent_id: str, skip_until: datetime
    ) -> WorkItem | None:
        """The item first, then the hold: a crash between leaves a hold whose item is not the
        agent's, which reconcile releases."""

        def give_back(item: WorkItem) -> WorkItem | None:
            if item.status != WorkItemStatus.OFFERED or item.agent_id != agent_id:
                return None
            return item.model_copy(
                update={
                    "status": WorkItemStatus.WAITING,
                    "agent_id": None,
                    "assigned_at": None,
                    "offer_expires_at": None,
                    "skipped_agents": {**item.skipped_agents, agent_id: skip_until},
                }
            )

        waiting = await self._change_item(item_id, give_back)
        if waiting is not None:
            await self._release_hold(agent_id, item_id, kept_assignment=True)
        return waiting

    async def offered_items(self) -> Sequence[WorkItem]:
        """For the sweep timer, not the hot path: this query spans every partition."""
        items = await query_records(
            self._work,
            WorkItem,
            "SELECT VALUE c.data FROM c WHERE c.type = 'item' AND c.status = @offered",
            {"@offered": str(WorkItemStatus.OFFERED)},
            partition_key=None,
        )
        return sorted(items, key=lambda i: i.id)

    async def close_work_item(
        self, item_id: str, now: datetime, *, agent_id: str | None = None
    ) -> WorkItem | None:
        """The item first (the truth), then the agent's hold, then the conversation's pointer;
        reconcile heals a stopped hold release, create_work_item a stale pointer."""

        def close(item: WorkItem) -> WorkItem | None:
            if item.status == WorkItemStatus.CLOSED:
                return None
            if agent_id is not None and item.agent_id != agent_id:
                return None
            return item.model_copy(
                update={"status": WorkItemStatus.CLOSED, "offer_expires_at": None, "closed_at": now}
            )

        closed = await self._change_item(item_id, close)
        if closed is None:
            return None
        if closed.agent_id is not None:
            await self._release_hold(
                closed.agent_id, item_id, kept_assignment=True, released_at=now
            )
        await self._clear_open_item(closed)
        return closed

    async def _clear_open_item(self, closed: WorkItem) -> None:
        def clear(doc: Doc) -> Doc | None:
            pointer = doc.get("open_item")
            if pointer is None or pointer["id"] != closed.id:
                return None
            # The last item stays named: reopen and history find it (last_work_item).
            return {**doc, "open_item": None, "last_item": {"id": closed.id}}

        await update(
            self._conversations, layout.OPEN_ITEM_POINTER_ID, closed.conversation_id, clear
        )

    async def move_waiting_item(self, item_id: str, queue_id: str) -> WorkItem | None:
        """Items live in their queue's partition, so a move is: mark the old document moving
        (ETag: no router can take it from then on), then `_finish_move`. Whoever meets a
        moving document finishes the move, so a crash midway heals on the next read."""
        while True:
            doc = await self._item_doc(item_id)
            if doc is None or doc["status"] != WorkItemStatus.WAITING:
                return None
            if doc["queue_id"] == queue_id:
                return load_record(WorkItem, doc)
            marked = {**stored_fields(doc), "status": MOVING, "moving_to": queue_id}
            try:
                await self._work.replace(marked, etag=doc["_etag"])
            except exceptions.CosmosAccessConditionFailedError:
                continue
            moved = load_record(WorkItem, await self._finish_move(marked))
            await index_work(self._conversations, self._search, self._opening_days, moved)
            return moved

    async def queue_backlog(self, queue_id: str) -> tuple[int, datetime | None]:
        partition = layout.queue_partition(queue_id)
        where = "FROM c WHERE c.pk = @pk AND c.status = @waiting"
        parameters = {"@pk": partition, "@waiting": str(WorkItemStatus.WAITING)}
        count = await self._work.query(
            f"SELECT VALUE COUNT(1) {where}", parameters, partition_key=partition
        )
        oldest = await self._work.query(
            f"SELECT TOP 1 VALUE c.data.enqueued_at {where} ORDER BY c.enqueued_at",
            parameters,
            partition_key=partition,
        )
        return int(count[0]), datetime.fromisoformat(oldest[0]) if oldest else None

    async def escalate_bot_item(self, item_id: str, now: datetime) -> WorkItem | None:
        """One write in the item's queue partition, under its ETag."""

        def escalate(item: WorkItem) -> WorkItem | None:
            if item.status != WorkItemStatus.BOT:
                return None
            return item.model_copy(update={"status": WorkItemStatus.WAITING, "enqueued_at": now})

        return await self._change_item(item_id, escalate)

    async def last_work_item(self, conversation_id: str) -> WorkItem | None:
        unclosed = await self.open_work_item(conversation_id)
        if unclosed is not None:
            return unclosed
        pointers = await self._item_pointer(conversation_id)
        if pointers is None:
            return None
        # A close that stopped before clearing its pointer left the closed item there.
        pointer = pointers.get("open_item") or pointers.get("last_item")
        return None if pointer is None else await self.get_work_item(str(pointer["id"]))

    async def items_alive(
        self, queue_id: str, start: datetime, end: datetime
    ) -> Sequence[WorkItem]:
        """One single-partition query on the queue's partition (the aggregates timer)."""
        partition = layout.queue_partition(queue_id)
        return await query_records(
            self._work,
            WorkItem,
            "SELECT VALUE c.data FROM c WHERE c.pk = @pk AND c.type = 'item' "
            "AND c.status != @moving AND c.enqueued_at < @end "
            "AND (c.status != @closed OR c.closed_at >= @start) ORDER BY c.id",
            {
                "@pk": partition,
                "@moving": MOVING,
                "@closed": str(WorkItemStatus.CLOSED),
                "@start": epoch_micros(start),
                "@end": epoch_micros(end),
            },
            partition_key=partition,
        )
