"""What every Cosmos DB port shares: the metered container handles, config documents, reading work
items, and the capacity-hold machinery (claims, pointers, settling) several ports change items
through."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.cosmos import exceptions
from azure.cosmos.aio import CosmosClient, DatabaseProxy
from azure.identity.aio import DefaultAzureCredential
from pydantic import BaseModel

from shared.adapters.cosmos import layout
from shared.adapters.cosmos.documents import (
    Doc,
    create_if_absent,
    delete_if_present,
    query_records,
    read_or_none,
    update,
)
from shared.adapters.cosmos.layout import document, epoch_micros, stored_fields
from shared.adapters.cosmos.metrics import CosmosMetrics, MeteredContainer
from shared.adapters.cosmos.search_index import OpeningDays
from shared.domain.routing_config import Agent
from shared.domain.work import CAPACITY_HOLDING, WorkItem, WorkItemStatus

HOLD_GRACE = timedelta(minutes=2)
"""A capacity hold younger than this may belong to an assignment still in flight: reconcile
leaves it alone. Far longer than the two writes take."""

SETTLE_TIMEOUT_SECONDS = 2.0

SETTLE_POLL_SECONDS = 0.01
"""How long, and how often, an assignment waits for others in flight on the same agent."""

MOVING = "moving"
"""An item document's status while the item moves to another queue's partition."""


class CosmosBase:
    def __init__(
        self,
        client: CosmosClient,
        database: DatabaseProxy,
        *,
        credential: DefaultAzureCredential | None = None,
        metrics: CosmosMetrics | None = None,
        hold_grace: timedelta = HOLD_GRACE,
    ) -> None:
        self._client = client
        self._credential = credential
        self.metrics = metrics or CosmosMetrics()
        self._hold_grace = hold_grace

        def container(spec: layout.ContainerSpec) -> MeteredContainer:
            return MeteredContainer(
                database.get_container_client(spec.name), self.metrics, spec.indexed_paths
            )

        self._config = container(layout.CONFIG)
        self._lookups = container(layout.LOOKUPS)
        self._customers = container(layout.CUSTOMERS)
        self._conversations = container(layout.CONVERSATIONS)
        self._work = container(layout.WORK)
        self._jobs = container(layout.JOBS)
        self._outbox = container(layout.OUTBOX)
        self._search = container(layout.SEARCH)
        self._opening_days = OpeningDays()

    async def close(self) -> None:
        await self._client.close()
        if self._credential is not None:
            await self._credential.close()

    async def _get_config[M: BaseModel](
        self, kind: type[M], doc_type: str, record_id: str
    ) -> M | None:
        doc = await read_or_none(self._config, record_id, doc_type)
        return None if doc is None else load_record(kind, doc)

    async def _put_config(self, doc_type: str, record_id: str, model: BaseModel) -> None:
        await self._config.upsert(document(record_id, doc_type, doc_type, model))

    async def _list_config[M: BaseModel](
        self, kind: type[M], doc_type: str, after: str | None, limit: int
    ) -> list[M]:
        return await query_records(
            self._config,
            kind,
            "SELECT TOP @limit VALUE c.data FROM c WHERE c.pk = @pk AND c.id > @after "
            "ORDER BY c.id",
            {"@pk": doc_type, "@after": after or "", "@limit": limit},
            partition_key=doc_type,
        )

    async def _materialize_item(self, pointer: Doc) -> WorkItem:
        """Write the pointed item and its locator, or find them written (idempotent)."""
        item = WorkItem.model_validate(pointer["item"])
        key = layout.work_item_key(item.id)
        await create_if_absent(
            self._lookups, document(key, key, "work-item", queue_id=item.queue_id)
        )
        partition = layout.queue_partition(item.queue_id)
        if await create_if_absent(self._work, item_document(item)):
            return item
        return load_record(WorkItem, await self._work.read(item.id, partition))

    async def _item_doc(self, item_id: str) -> Doc | None:
        key = layout.work_item_key(item_id)
        locator = await read_or_none(self._lookups, key, key)
        if locator is None:
            return None
        doc = await read_or_none(
            self._work, item_id, layout.queue_partition(str(locator["queue_id"]))
        )
        if doc is not None and doc["status"] == MOVING:
            return await self._finish_move(doc)
        return doc

    async def get_work_item(self, item_id: str) -> WorkItem | None:
        doc = await self._item_doc(item_id)
        return None if doc is None else load_record(WorkItem, doc)

    async def _item_pointer(self, conversation_id: str) -> Doc | None:
        """The conversation's open-item pointer document (None: it never had an item)."""
        return await read_or_none(self._conversations, layout.OPEN_ITEM_POINTER_ID, conversation_id)

    async def open_work_item(self, conversation_id: str) -> WorkItem | None:
        pointers = await self._item_pointer(conversation_id)
        pointer = None if pointers is None else pointers.get("open_item")
        if pointer is None:
            return None
        doc = await read_or_none(
            self._work, str(pointer["id"]), layout.queue_partition(str(pointer["queue_id"]))
        )
        if doc is not None and doc["status"] == MOVING:
            doc = await self._finish_move(doc)
        item = await self._materialize_item(pointer) if doc is None else load_record(WorkItem, doc)
        return None if item.status == WorkItemStatus.CLOSED else item

    async def _hold_capacity(self, agent_id: str, item: WorkItem, now: datetime) -> bool:
        """First write: the agent holds the item's units, if they fit (under its ETag).

        Holds of assignments in flight count, since they may win. When they alone make the
        item not fit, wait for them to settle (milliseconds) rather than refuse on a count
        that is about to drop: a router that lost its item is releasing its hold."""
        deadline = asyncio.get_running_loop().time() + SETTLE_TIMEOUT_SECONDS
        while True:
            doc = await read_or_none(self._work, agent_id, layout.AGENTS_PARTITION)
            if doc is None:
                return False
            maximum = load_record(Agent, doc).max_capacity
            holds: dict[str, Any] = doc["holds"]
            if item.id in holds:
                # Holds are keyed by item: another router is giving this very item to this
                # agent, or its release is still on the way. Sharing that hold would let the
                # loser's compensating release take away the winner's capacity.
                return False
            if held_units(holds) + item.capacity_units > maximum:
                holds, in_flight = await self._settled_holds(agent_id, holds)
                if held_units(holds) + item.capacity_units > maximum:
                    if not in_flight or asyncio.get_running_loop().time() > deadline:
                        return False
                    await asyncio.sleep(SETTLE_POLL_SECONDS)
                    continue
            entry = {
                "units": item.capacity_units,
                "queue_id": item.queue_id,
                "assigned_at": now.isoformat(),
                "held_at": datetime.now(UTC).isoformat(),
            }
            changed = {**stored_fields(doc), "holds": {**holds, item.id: entry}}
            try:
                await self._work.replace(changed, etag=doc["_etag"], previous=doc)
            except exceptions.CosmosAccessConditionFailedError:
                continue
            return True

    async def _settled_holds(
        self, agent_id: str, holds: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        """The holds that count: those whose item is the agent's, and those of assignments in
        flight (item still waiting, hold recent); the flag says whether any is in flight. A
        hold whose item went to another agent, or whose assignment died, counts no more."""
        cutoff = datetime.now(UTC) - self._hold_grace
        counting: dict[str, Any] = {}
        in_flight = False
        for item_id, hold in holds.items():
            doc = await read_or_none(
                self._work, item_id, layout.queue_partition(str(hold["queue_id"]))
            )
            if doc is None:
                continue
            item = load_record(WorkItem, doc)
            if item.agent_id == agent_id and item.status in CAPACITY_HOLDING:
                counting[item_id] = hold
            elif (
                # An assignment (item waiting) or a transfer (item still the sender's) in flight.
                item.status != WorkItemStatus.CLOSED
                and datetime.fromisoformat(hold["held_at"]) > cutoff
            ):
                counting[item_id] = hold
                in_flight = True
        return counting, in_flight

    async def _release_hold(
        self,
        agent_id: str,
        item_id: str,
        *,
        kept_assignment: bool = False,
        released_at: datetime | None = None,
    ) -> None:
        """Give the item's units back. A real assignment (not a compensated one) keeps its
        time on the agent (least active); a release of work marks when the agent freed up."""

        def release(doc: Doc) -> Doc | None:
            hold = doc["holds"].get(item_id)
            if hold is None:
                return None
            changed = {
                **doc,
                "holds": {key: value for key, value in doc["holds"].items() if key != item_id},
            }
            if kept_assignment:
                changed["last_assigned_at"] = max(
                    filter(None, (doc.get("last_assigned_at"), hold["assigned_at"])),
                    key=datetime.fromisoformat,
                )
            if released_at is not None:
                changed["released_at"] = released_at.isoformat()
            return changed

        await update(self._work, agent_id, layout.AGENTS_PARTITION, release)

    async def _change_item(
        self, item_id: str, change: Callable[[WorkItem], WorkItem | None]
    ) -> WorkItem | None:
        """Read-modify-write of one item under its ETag (one partition)."""
        doc = await self._item_doc(item_id)
        if doc is None:
            return None

        def apply(current: Doc) -> Doc | None:
            if current["status"] == MOVING:
                return None
            changed = change(load_record(WorkItem, current))
            return None if changed is None else item_document(changed)

        updated = await update(self._work, item_id, str(doc["pk"]), apply)
        return None if updated is None else load_record(WorkItem, updated)

    async def _finish_move(self, moving: Doc) -> Doc:
        """Idempotent steps: the item in its new partition, the locator, the conversation's
        pointer, then the old document goes."""
        item = load_record(WorkItem, moving).model_copy(update={"queue_id": moving["moving_to"]})
        body = item_document(item)
        if not await create_if_absent(self._work, body):
            body = await self._work.read(item.id, body["pk"])
        key = layout.work_item_key(item.id)
        await self._lookups.upsert(document(key, key, "work-item", queue_id=item.queue_id))

        def repoint(doc: Doc) -> Doc | None:
            pointer = doc.get("open_item")
            if pointer is None or pointer["id"] != item.id or pointer["queue_id"] == item.queue_id:
                return None
            return {
                **doc,
                "open_item": open_item_pointer(item),
            }

        await update(
            self._conversations, layout.OPEN_ITEM_POINTER_ID, item.conversation_id, repoint
        )
        await delete_if_present(self._work, item.id, str(moving["pk"]))
        return body


def load_record[M: BaseModel](kind: type[M], doc: Doc) -> M:
    return kind.model_validate(doc["data"])


def open_item_pointer(item: WorkItem) -> Doc:
    """The conversation's pointer to its open item, with a copy to create the item from if
    its own write never happened. The copy leaves out default values: a document past 1 KB
    costs more to write."""
    return {
        "id": item.id,
        "queue_id": item.queue_id,
        "item": item.model_dump(mode="json", exclude_defaults=True),
    }


def item_pointer_document(conversation_id: str, item: WorkItem) -> Doc:
    return document(
        layout.OPEN_ITEM_POINTER_ID,
        conversation_id,
        "item-pointer",
        seq=layout.OPEN_ITEM_POINTER_SEQ,
        open_item=open_item_pointer(item),
    )


def item_document(item: WorkItem) -> Doc:
    return document(
        item.id,
        layout.queue_partition(item.queue_id),
        "item",
        item,
        queue_id=item.queue_id,
        status=str(item.status),
        priority=item.priority,
        enqueued_at=epoch_micros(item.enqueued_at),
        closed_at=None if item.closed_at is None else epoch_micros(item.closed_at),  # figures
    )


def held_units(holds: dict[str, Any]) -> int:
    return sum(int(hold["units"]) for hold in holds.values())
