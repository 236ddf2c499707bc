"""The Store on Azure Cosmos DB (NoSQL API), with the async SDK.

Layout (containers, partition keys, ids, indexes): shared/adapters/cosmos_layout.py and
docs/cosmos.md. Three patterns carry the port's guarantees without multi-partition
transactions:

- Claims: uniqueness is a document with a deterministic id, created if absent; 409 means the
  key is taken (an open conversation per channel and number, a provider message id, a message
  id, a channel's number). A claim carries a snapshot of what it was taken for, so whoever
  finds a claim whose record is not written yet (its writer is in flight or died) writes that
  record itself; writes of one record are idempotent (same id, same partition: 409 = done).
- ETags: a read-modify-write replaces only the version it read (412 -> read again, retry).
- Assignment touches two partitions (the agent's held capacity, then the item): the hold is
  taken first under the agent's ETag, the item is then taken under its own ETag, a lost race
  releases the hold (compensation), and `reconcile_capacity` recomputes every agent's holds
  from the items, so a crash between the two writes heals.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from azure.cosmos import PartitionKey, exceptions
from azure.cosmos.aio import CosmosClient, DatabaseProxy
from azure.identity.aio import DefaultAzureCredential
from pydantic import BaseModel

from shared.adapters import cosmos_layout as layout
from shared.adapters.cosmos_documents import (
    Doc,
    create_if_absent,
    create_or_replace,
    delete_if_present,
    read_or_none,
    update,
)
from shared.adapters.cosmos_layout import document, epoch_micros, model_json, stored_fields
from shared.adapters.cosmos_metrics import CosmosMetrics, MeteredContainer
from shared.domain.figures import ConversationState, DayFigures, FigureScope
from shared.domain.message_ids import conversation_named_by
from shared.domain.models import (
    AGENT_WORKING,
    CAPACITY_HOLDING,
    Agent,
    AgentState,
    Channel,
    ChannelKind,
    Conversation,
    Customer,
    DeliveryStatus,
    Message,
    OutboundJob,
    Presence,
    Queue,
    Recipient,
    RoutingDecision,
    RoutingRule,
    SentSms,
    Template,
    TypingParty,
    WorkItem,
    WorkItemStatus,
    Workstream,
)
from shared.domain.presence import (
    PresenceChange,
    PresenceSettings,
    PresenceSpan,
    PresenceState,
)
from shared.domain.routing import idle_since
from shared.domain.sentiment import SentimentSettings
from shared.errors import Conflict
from shared.ports import PresenceUpdate, SentimentUpdate
from shared.settings import Settings

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

HOLD_GRACE = timedelta(minutes=2)
"""A capacity hold younger than this may belong to an assignment still in flight: reconcile
leaves it alone. Far longer than the two writes take."""

CLAIM_GRACE_SECONDS = 120.0
"""A number's claim younger than this, whose channel is not written yet, belongs to a write in
flight (claims are taken before the channel is written)."""

SETTLE_TIMEOUT_SECONDS = 2.0
SETTLE_POLL_SECONDS = 0.01
"""How long, and how often, an assignment waits for others in flight on the same agent."""

_HOLDING = [str(status) for status in CAPACITY_HOLDING]
_MOVING = "moving"
"""An item document's status while the item moves to another queue's partition."""
_NO_OPEN_ITEM = "FROM c WHERE NOT IS_DEFINED(c.open_item) OR IS_NULL(c.open_item)"


def _load(kind: type[M], doc: Doc) -> M:
    return kind.model_validate(doc["data"])


class CosmosStore:
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
            return MeteredContainer(database.get_container_client(spec.name), self.metrics)

        self._config = container(layout.CONFIG)
        self._lookups = container(layout.LOOKUPS)
        self._customers = container(layout.CUSTOMERS)
        self._conversations = container(layout.CONVERSATIONS)
        self._work = container(layout.WORK)
        self._jobs = container(layout.JOBS)
        self._outbox = container(layout.OUTBOX)

    async def close(self) -> None:
        await self._client.close()
        if self._credential is not None:
            await self._credential.close()

    async def _get_config(self, kind: type[M], doc_type: str, record_id: str) -> M | None:
        doc = await read_or_none(self._config, record_id, doc_type)
        return None if doc is None else _load(kind, doc)

    async def _put_config(self, doc_type: str, record_id: str, model: BaseModel) -> None:
        await self._config.upsert(document(record_id, doc_type, doc_type, model))

    async def _list_config(
        self, kind: type[M], doc_type: str, after: str | None, limit: int
    ) -> list[M]:
        rows = await self._config.query(
            "SELECT TOP @limit VALUE c.data FROM c WHERE c.pk = @pk AND c.id > @after "
            "ORDER BY c.id",
            {"@pk": doc_type, "@after": after or "", "@limit": limit},
            partition_key=doc_type,
        )
        return [kind.model_validate(row) for row in rows]

    # --- configuration ------------------------------------------------------------------------

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

    async def put_workstream(self, workstream: Workstream) -> None:
        await self._put_config("workstream", workstream.id, workstream)

    async def get_workstream(self, workstream_id: str) -> Workstream | None:
        return await self._get_config(Workstream, "workstream", workstream_id)

    async def put_queue(self, queue: Queue) -> None:
        await self._put_config("queue", queue.id, queue)

    async def get_queue(self, queue_id: str) -> Queue | None:
        return await self._get_config(Queue, "queue", queue_id)

    async def put_rule(self, rule: RoutingRule) -> None:
        await self._config.upsert(
            document(
                rule.id,
                "rule",
                "rule",
                rule,
                workstream_id=rule.workstream_id,
                rule_order=rule.order,
            )
        )

    async def list_rules(self, workstream_id: str) -> Sequence[RoutingRule]:
        rows = await self._config.query(
            "SELECT VALUE c.data FROM c WHERE c.pk = @pk AND c.workstream_id = @workstream "
            "ORDER BY c.rule_order, c.id",
            {"@pk": "rule", "@workstream": workstream_id},
            partition_key="rule",
        )
        return [RoutingRule.model_validate(row) for row in rows]

    async def put_template(self, template: Template) -> None:
        await self._put_config("template", template.id, template)

    async def get_template(self, template_id: str) -> Template | None:
        return await self._get_config(Template, "template", template_id)

    async def list_templates(self, *, after: str | None, limit: int) -> Sequence[Template]:
        return await self._list_config(Template, "template", after, limit)

    async def delete_template(self, template_id: str) -> bool:
        return await delete_if_present(self._config, template_id, "template")

    async def put_agent(self, agent: Agent) -> None:
        """The agent's record and its live state share one document: an edit replaces the
        record (a patch) and keeps presence and held capacity."""
        created = await create_if_absent(
            self._work,
            document(
                agent.id,
                layout.AGENTS_PARTITION,
                "agent",
                agent,
                queue_ids=list(agent.queue_ids),
                presence=None,
                holds={},
                last_assigned_at=None,
                released_at=None,
            ),
        )
        if not created:
            await self._work.patch(
                agent.id,
                layout.AGENTS_PARTITION,
                [
                    {"op": "set", "path": "/data", "value": model_json(agent)},
                    {"op": "set", "path": "/queue_ids", "value": list(agent.queue_ids)},
                ],
            )

    async def get_agent(self, agent_id: str) -> Agent | None:
        doc = await read_or_none(self._work, agent_id, layout.AGENTS_PARTITION)
        return None if doc is None else _load(Agent, doc)

    async def put_customer(self, customer: Customer) -> None:
        """The phone index is written before the customer and pruned after it, so it may
        hold stale entries but never misses one; readers check against the customer."""
        keys = _customer_index(customer)
        for key, doc_type in keys.items():
            await self._lookups.upsert(document(customer.id, key, doc_type))
        replaced = await create_or_replace(
            self._customers, document(customer.id, customer.id, "customer", customer)
        )
        if replaced is not None:
            for key in set(_customer_index(Customer.model_validate(replaced["data"]))) - set(keys):
                await delete_if_present(self._lookups, customer.id, key)

    async def get_customer(self, customer_id: str) -> Customer | None:
        doc = await read_or_none(self._customers, customer_id, customer_id)
        return None if doc is None else _load(Customer, doc)

    async def find_customers_by_phone(self, e164: str) -> Sequence[Customer]:
        key = layout.customer_phone_key(e164)
        ids = await self._lookups.query(
            "SELECT VALUE c.id FROM c WHERE c.pk = @pk", {"@pk": key}, partition_key=key
        )
        found = []
        for customer_id in sorted(ids):
            customer = await self.get_customer(customer_id)
            if customer is not None and e164 in _phones(customer):
                found.append(customer)
        return found

    # --- conversations ------------------------------------------------------------------------

    async def open_conversation(self, candidate: Conversation) -> tuple[Conversation, bool]:
        key = layout.open_conversation_key(candidate.channel_id, candidate.customer_address)
        claim = document(
            key,
            key,
            "open-conversation",
            conversation=model_json(candidate),
            materialized=False,
        )
        if await create_if_absent(self._lookups, claim):
            await self._materialize_conversation(claim)
            return candidate, True
        current = await self._lookups.read(key, key)
        if current["materialized"]:
            conversation = await self.get_conversation(str(current["conversation"]["id"]))
            if conversation is not None:
                return conversation, False
        return await self._materialize_conversation(current), False

    async def _materialize_conversation(self, claim: Doc) -> Conversation:
        """Write the claimed conversation (idempotent), then mark the claim as written."""
        conversation = Conversation.model_validate(claim["conversation"])
        await create_if_absent(
            self._conversations,
            document(
                conversation.id,
                conversation.id,
                "conversation",
                conversation,
                seq=0,
                open_item=None,
            ),
        )
        if not claim["materialized"]:
            await self._lookups.patch(
                claim["id"], claim["pk"], [{"op": "set", "path": "/materialized", "value": True}]
            )
        return conversation

    async def get_conversation(self, conversation_id: str) -> Conversation | None:
        doc = await read_or_none(self._conversations, conversation_id, conversation_id)
        return None if doc is None else _load(Conversation, doc)

    async def append_message(self, message: Message) -> Message | None:
        """A message whose id names its conversation (shared/domain/message_ids.py) is unique
        by that id within the conversation's partition; any other id is claimed first
        (`message:<id>`), which also tells get_message its partition."""
        own_partition = _names_its_conversation(message)
        named = conversation_named_by(message.id)
        if not own_partition and named is not None:
            # Stored elsewhere, it could be stored twice: once here, once in the one it names.
            raise ValueError(f"message id {message.id} names another conversation ({named})")
        provider_id = message.provider_message_id
        if provider_id is not None:
            key = layout.provider_message_key(provider_id)
            provider_claim = document(
                key,
                key,
                "provider-message",
                conversation_id=message.conversation_id,
                message_id=message.id,
                message=model_json(message),
                ttl=layout.PROVIDER_MESSAGE_TTL_SECONDS,
            )
            if not await create_if_absent(self._lookups, provider_claim):
                await self._finish_claimed_message(await self._lookups.read(key, key))
                return None
        if own_partition:
            stored, created = await self._write_message(message)
            if created or (provider_id is not None and stored.provider_message_id == provider_id):
                return stored  # (the second: this call's own write, whose answer was lost)
        else:
            key = layout.message_key(message.id)
            if await create_if_absent(self._lookups, _message_locator(message)):
                stored, _ = await self._write_message(message)
                return stored
            await self._finish_claimed_message(await self._lookups.read(key, key))
        if provider_id is not None:  # the id was taken first: release the provider id
            claim_key = layout.provider_message_key(provider_id)
            await delete_if_present(self._lookups, claim_key, claim_key)
        return None

    async def _finish_claimed_message(self, claim: Doc) -> None:
        """A duplicate found the claim of an earlier delivery: make sure that one is stored
        (its writer may have died between the claim and the message)."""
        if claim.get("message") is None:
            return  # an outbound message's provider id: the message was stored first
        message = Message.model_validate(claim["message"])
        if not _names_its_conversation(message):
            await create_if_absent(self._lookups, _message_locator(message))
        await self._write_message(message)

    async def _write_message(self, message: Message) -> tuple[Message, bool]:
        """Store the message with the next number of its conversation, or find it stored
        (flag False). The unique key on /seq makes two writers pick different numbers."""
        partition = message.conversation_id
        while True:
            last = await self._conversations.query(
                "SELECT TOP 1 VALUE c.seq FROM c WHERE c.pk = @pk ORDER BY c.seq DESC",
                {"@pk": partition},
                partition_key=partition,
            )
            stored = message.model_copy(update={"sequence": int(last[0]) + 1 if last else 1})
            body = document(
                stored.id,
                partition,
                "message",
                stored,
                seq=stored.sequence,
                internal=stored.internal,
            )
            if await create_if_absent(self._conversations, body):
                return stored, True
            # 409: the message is there already (another writer), or the number was taken.
            existing = await read_or_none(self._conversations, stored.id, partition)
            if existing is not None:
                return _load(Message, existing), False

    async def _message_doc(self, message_id: str) -> Doc | None:
        """An id naming its conversation is one point read there; any other, its claim first."""
        named = conversation_named_by(message_id)
        if named is not None:
            doc = await read_or_none(self._conversations, message_id, named)
            if doc is not None and doc["type"] == "message":
                return doc
        key = layout.message_key(message_id)
        locator = await read_or_none(self._lookups, key, key)
        if locator is None:
            return None
        return await read_or_none(self._conversations, message_id, str(locator["conversation_id"]))

    async def get_message(self, message_id: str) -> Message | None:
        doc = await self._message_doc(message_id)
        return None if doc is None else _load(Message, doc)

    async def find_message_by_provider_id(self, provider_message_id: str) -> Message | None:
        key = layout.provider_message_key(provider_message_id)
        claim = await read_or_none(self._lookups, key, key)
        if claim is None:
            return None
        doc = await read_or_none(
            self._conversations, str(claim["message_id"]), str(claim["conversation_id"])
        )
        return None if doc is None else _load(Message, doc)

    async def list_messages(
        self, conversation_id: str, *, after_sequence: int = 0, include_internal: bool
    ) -> Sequence[Message]:
        rows = await self._conversations.query(
            "SELECT VALUE c.data FROM c WHERE c.pk = @pk AND c.type = 'message' "
            "AND c.seq > @after AND (@internal OR c.internal = false) ORDER BY c.seq",
            {"@pk": conversation_id, "@after": after_sequence, "@internal": include_internal},
            partition_key=conversation_id,
        )
        return [Message.model_validate(row) for row in rows]

    async def set_message_delivery(
        self,
        message_id: str,
        status: DeliveryStatus,
        provider_message_id: str | None,
        error: str | None = None,
    ) -> Message | None:
        doc = await self._message_doc(message_id)
        if doc is None:
            return None
        conversation_id = str(doc["pk"])
        if provider_message_id and provider_message_id != doc["data"]["provider_message_id"]:
            # The index first: a delivery report may arrive before this call returns.
            key = layout.provider_message_key(provider_message_id)
            await self._lookups.upsert(
                document(
                    key,
                    key,
                    "provider-message",
                    conversation_id=conversation_id,
                    message_id=message_id,
                    message=None,
                    ttl=layout.PROVIDER_MESSAGE_TTL_SECONDS,
                )
            )

        def deliver(current: Doc) -> Doc:
            message = _load(Message, current)
            changed = message.model_copy(
                update={
                    "status": status,
                    "provider_message_id": provider_message_id or message.provider_message_id,
                    "error": error,
                }
            )
            return {**current, "data": model_json(changed)}

        updated = await update(self._conversations, message_id, conversation_id, deliver, read=doc)
        return None if updated is None else _load(Message, updated)

    async def set_sms_consent(self, address: str, *, opted_out: bool, at: datetime) -> None:
        key = layout.sms_consent_key(address)
        await self._lookups.upsert(
            document(key, key, "sms-consent", opted_out=opted_out, changed_at=at.isoformat())
        )

    async def is_opted_out(self, address: str) -> bool:
        key = layout.sms_consent_key(address)
        doc = await read_or_none(self._lookups, key, key)
        return bool(doc and doc["opted_out"])

    # --- work items ---------------------------------------------------------------------------

    async def create_work_item(self, item: WorkItem) -> tuple[WorkItem, bool]:
        """The conversation document holds the pointer to its unclosed item: set only if
        unset (a conditional patch), then the item is written where its queue is."""
        pointer = _open_item_pointer(item)
        try:
            await self._conversations.patch(
                item.conversation_id,
                item.conversation_id,
                [{"op": "set", "path": "/open_item", "value": pointer}],
                filter_predicate=_NO_OPEN_ITEM,
            )
        except exceptions.CosmosAccessConditionFailedError:
            conversation = await self._conversations.read(
                item.conversation_id, item.conversation_id
            )
            existing = await self._materialize_item(conversation["open_item"])
            if existing.status == WorkItemStatus.CLOSED:
                # A close stopped before clearing its pointer: finish it, then try again.
                await self._clear_open_item(existing)
                return await self.create_work_item(item)
            return existing, False
        return await self._materialize_item(pointer), True

    async def _materialize_item(self, pointer: Doc) -> WorkItem:
        """Write the pointed item and its locator, or find them written (idempotent)."""
        item = WorkItem.model_validate(pointer["item"])
        key = layout.work_item_key(item.id)
        await create_if_absent(
            self._lookups, document(key, key, "work-item", queue_id=item.queue_id)
        )
        partition = layout.queue_partition(item.queue_id)
        if await create_if_absent(self._work, _item_document(item)):
            return item
        return _load(WorkItem, await self._work.read(item.id, partition))

    async def _item_doc(self, item_id: str) -> Doc | None:
        key = layout.work_item_key(item_id)
        locator = await read_or_none(self._lookups, key, key)
        if locator is None:
            return None
        doc = await read_or_none(
            self._work, item_id, layout.queue_partition(str(locator["queue_id"]))
        )
        if doc is not None and doc["status"] == _MOVING:
            return await self._finish_move(doc)
        return doc

    async def get_work_item(self, item_id: str) -> WorkItem | None:
        doc = await self._item_doc(item_id)
        return None if doc is None else _load(WorkItem, doc)

    async def open_work_item(self, conversation_id: str) -> WorkItem | None:
        conversation = await read_or_none(self._conversations, conversation_id, conversation_id)
        pointer = None if conversation is None else conversation.get("open_item")
        if pointer is None:
            return None
        doc = await read_or_none(
            self._work, str(pointer["id"]), layout.queue_partition(str(pointer["queue_id"]))
        )
        if doc is not None and doc["status"] == _MOVING:
            doc = await self._finish_move(doc)
        item = await self._materialize_item(pointer) if doc is None else _load(WorkItem, doc)
        return None if item.status == WorkItemStatus.CLOSED else item

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
        rows = await self._work.query(
            "SELECT TOP @limit VALUE c.data FROM c WHERE c.pk = @pk AND c.status = @waiting "
            "ORDER BY c.priority DESC, c.enqueued_at, c.id",
            {"@pk": partition, "@waiting": str(WorkItemStatus.WAITING), "@limit": limit},
            partition_key=partition,
        )
        return [WorkItem.model_validate(row) for row in rows]

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
        item = _load(WorkItem, item_doc)
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
        return assigned

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
            maximum = _load(Agent, doc).max_capacity
            holds: dict[str, Any] = doc["holds"]
            if item.id in holds:
                # Holds are keyed by item: another router is giving this very item to this
                # agent, or its release is still on the way. Sharing that hold would let the
                # loser's compensating release take away the winner's capacity.
                return False
            if _held_units(holds) + item.capacity_units > maximum:
                holds, in_flight = await self._settled_holds(agent_id, holds)
                if _held_units(holds) + item.capacity_units > maximum:
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
                await self._work.replace(changed, etag=doc["_etag"])
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
            item = _load(WorkItem, doc)
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

    async def _take_item(
        self, item_doc: Doc, agent_id: str, now: datetime, offer_until: datetime | None
    ) -> WorkItem:
        """Second write: the item becomes the agent's, if still the version read (ETag)."""
        assigned = _load(WorkItem, item_doc).given_to(agent_id, now, offer_until)
        await self._work.replace(_item_document(assigned), etag=item_doc["_etag"])
        return assigned

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

    async def reconcile_capacity(self) -> int:
        """Recompute each agent's holds from the items it holds: a hold whose item is not
        the agent's (a crash between the two writes of an assignment) is released, an item
        without its hold gets one back. Holds younger than the grace period may belong to an
        assignment in flight and are kept. Returns how many agents were corrected."""
        rows = await self._work.query(
            "SELECT c.id, c.queue_id, c.data.agent_id AS agent_id, c.data.capacity_units AS units, "
            "c.data.assigned_at AS assigned_at FROM c "
            "WHERE c.type = 'item' AND ARRAY_CONTAINS(@holding, c.status)",
            {"@holding": _HOLDING},
            partition_key=None,
        )
        held_by: dict[str, dict[str, Any]] = defaultdict(dict)
        for row in rows:
            held_by[str(row["agent_id"])][str(row["id"])] = row
        agent_ids = await self._work.query(
            "SELECT VALUE c.id FROM c WHERE c.pk = @pk AND c.type = 'agent'",
            {"@pk": layout.AGENTS_PARTITION},
            partition_key=layout.AGENTS_PARTITION,
        )
        cutoff = datetime.now(UTC) - self._hold_grace
        corrected = 0
        for agent_id in agent_ids:
            items = held_by.get(agent_id, {})

            def reconcile(doc: Doc, items: dict[str, Any] = items) -> Doc | None:
                holds = {
                    item_id: hold
                    for item_id, hold in doc["holds"].items()
                    if item_id in items or datetime.fromisoformat(hold["held_at"]) > cutoff
                }
                for item_id, row in items.items():
                    holds.setdefault(
                        item_id,
                        {
                            "units": row["units"],
                            "queue_id": row["queue_id"],
                            "assigned_at": row["assigned_at"],
                            "held_at": datetime.now(UTC).isoformat(),
                        },
                    )
                return None if holds == doc["holds"] else {**doc, "holds": holds}

            if await update(self._work, agent_id, layout.AGENTS_PARTITION, reconcile):
                log.warning("agent %s: held capacity recomputed from its items", agent_id)
                corrected += 1
        return corrected

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
            item = _load(WorkItem, doc)
            if item.agent_id == agent_id and item.status != WorkItemStatus.CLOSED:
                items.append(item)
        return sorted(items, key=lambda i: (i.enqueued_at, i.id))

    async def queue_agents(self, queue_id: str) -> Sequence[AgentState]:
        # Only what an AgentState is made of: not the rest of the presence state, consults,
        # system fields.
        rows = await self._work.query(
            "SELECT c.data, c.presence, c.holds, c.last_assigned_at, c.released_at, "
            "{'since': c.presence_state.since} AS presence_state "
            "FROM c WHERE c.pk = @pk AND c.type = 'agent' "
            "AND ARRAY_CONTAINS(c.queue_ids, @queue) ORDER BY c.id",
            {"@pk": layout.AGENTS_PARTITION, "@queue": queue_id},
            partition_key=layout.AGENTS_PARTITION,
        )
        return [_agent_state(row) for row in rows]

    async def agent_state(self, agent_id: str) -> AgentState | None:
        doc = await read_or_none(self._work, agent_id, layout.AGENTS_PARTITION)
        return None if doc is None else _agent_state(doc)

    async def set_presence(self, agent_id: str, presence: Presence) -> None:
        await self._work.patch(
            agent_id,
            layout.AGENTS_PARTITION,
            [{"op": "set", "path": "/presence", "value": str(presence)}],
        )

    # --- chat (issue 7) ----------------------------------------------------------------------

    async def wrap_up_work_item(
        self, item_id: str, now: datetime | None = None, *, agent_id: str | None = None
    ) -> WorkItem | None:
        """One write in the item's queue partition, under its ETag; the agent's hold stays
        (wrap-up holds capacity), and the conversation's pointer still names the item."""
        doc = await self._item_doc(item_id)
        if doc is None:
            return None

        def wrap_up(current: Doc) -> Doc | None:
            item = _load(WorkItem, current)
            if item.status != WorkItemStatus.ACTIVE:
                return None
            if agent_id is not None and item.agent_id != agent_id:
                return None
            return _item_document(
                item.model_copy(update={"status": WorkItemStatus.WRAP_UP, "wrap_up_at": now})
            )

        updated = await update(self._work, item_id, str(doc["pk"]), wrap_up)
        return None if updated is None else _load(WorkItem, updated)

    # --- unified routing (issue 5) -------------------------------------------------------------

    async def list_workstreams(self, *, after: str | None, limit: int) -> Sequence[Workstream]:
        return await self._list_config(Workstream, "workstream", after, limit)

    async def delete_workstream(self, workstream_id: str) -> bool:
        return await delete_if_present(self._config, workstream_id, "workstream")

    async def list_queues(self, *, after: str | None, limit: int) -> Sequence[Queue]:
        return await self._list_config(Queue, "queue", after, limit)

    async def delete_queue(self, queue_id: str) -> bool:
        return await delete_if_present(self._config, queue_id, "queue")

    async def get_rule(self, rule_id: str) -> RoutingRule | None:
        return await self._get_config(RoutingRule, "rule", rule_id)

    async def list_all_rules(self, *, after: str | None, limit: int) -> Sequence[RoutingRule]:
        return await self._list_config(RoutingRule, "rule", after, limit)

    async def delete_rule(self, rule_id: str) -> bool:
        return await delete_if_present(self._config, rule_id, "rule")

    async def list_agents(self, *, after: str | None, limit: int) -> Sequence[Agent]:
        rows = await self._work.query(
            "SELECT TOP @limit VALUE c.data FROM c WHERE c.pk = @pk AND c.type = 'agent' "
            "AND c.id > @after ORDER BY c.id",
            {"@pk": layout.AGENTS_PARTITION, "@after": after or "", "@limit": limit},
            partition_key=layout.AGENTS_PARTITION,
        )
        return [Agent.model_validate(row) for row in rows]

    async def delete_agent(self, agent_id: str) -> bool:
        return await delete_if_present(self._work, agent_id, layout.AGENTS_PARTITION)

    async def _change_item(
        self, item_id: str, change: Callable[[WorkItem], WorkItem | None]
    ) -> WorkItem | None:
        """Read-modify-write of one item under its ETag (one partition)."""
        doc = await self._item_doc(item_id)
        if doc is None:
            return None

        def apply(current: Doc) -> Doc | None:
            if current["status"] == _MOVING:
                return None
            changed = change(_load(WorkItem, current))
            return None if changed is None else _item_document(changed)

        updated = await update(self._work, item_id, str(doc["pk"]), apply)
        return None if updated is None else _load(WorkItem, updated)

    async def accept_offer(self, item_id: str, agent_id: str, now: datetime) -> WorkItem | None:
        def accept(item: WorkItem) -> WorkItem | None:
            if item.status != WorkItemStatus.OFFERED or item.agent_id != agent_id:
                return None
            return item.model_copy(
                update={"status": WorkItemStatus.ACTIVE, "offer_expires_at": None}
            )

        return await self._change_item(item_id, accept)

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
        rows = await self._work.query(
            "SELECT VALUE c.data FROM c WHERE c.type = 'item' AND c.status = @offered",
            {"@offered": str(WorkItemStatus.OFFERED)},
            partition_key=None,
        )
        return sorted((WorkItem.model_validate(row) for row in rows), key=lambda i: i.id)

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

        await update(self._conversations, closed.conversation_id, closed.conversation_id, clear)

    async def move_waiting_item(self, item_id: str, queue_id: str) -> WorkItem | None:
        """Items live in their queue's partition, so a move is: mark the old document moving
        (ETag: no router can take it from then on), then `_finish_move`. Whoever meets a
        moving document finishes the move, so a crash midway heals on the next read."""
        while True:
            doc = await self._item_doc(item_id)
            if doc is None or doc["status"] != WorkItemStatus.WAITING:
                return None
            if doc["queue_id"] == queue_id:
                return _load(WorkItem, doc)
            marked = {**stored_fields(doc), "status": _MOVING, "moving_to": queue_id}
            try:
                await self._work.replace(marked, etag=doc["_etag"])
            except exceptions.CosmosAccessConditionFailedError:
                continue
            return _load(WorkItem, await self._finish_move(marked))

    async def _finish_move(self, moving: Doc) -> Doc:
        """Idempotent steps: the item in its new partition, the locator, the conversation's
        pointer, then the old document goes."""
        item = _load(WorkItem, moving).model_copy(update={"queue_id": moving["moving_to"]})
        body = _item_document(item)
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
                "open_item": _open_item_pointer(item),
            }

        await update(self._conversations, item.conversation_id, item.conversation_id, repoint)
        await delete_if_present(self._work, item.id, str(moving["pk"]))
        return body

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

    async def round_robin_cursor(self, queue_id: str) -> str | None:
        doc = await read_or_none(
            self._work, layout.ROUND_ROBIN_CURSOR_ID, layout.queue_partition(queue_id)
        )
        return None if doc is None else str(doc["agent_id"])

    async def record_routing_decision(self, decision: RoutingDecision) -> None:
        key = layout.routing_decisions_key(decision.conversation_id)
        await create_if_absent(
            self._lookups,
            document(
                decision.id,
                key,
                "routing-decision",
                decision,
                ttl=layout.ROUTING_DECISION_TTL_SECONDS,
            ),
        )

    async def routing_decisions(self, conversation_id: str) -> Sequence[RoutingDecision]:
        # Only /pk is indexed in lookups: the few decisions of one conversation sort here.
        key = layout.routing_decisions_key(conversation_id)
        rows = await self._lookups.query(
            "SELECT VALUE c.data FROM c WHERE c.pk = @pk", {"@pk": key}, partition_key=key
        )
        decisions = (RoutingDecision.model_validate(row) for row in rows)
        return sorted(decisions, key=lambda d: (d.decided_at, d.id))

    # --- bots (issue 5) ------------------------------------------------------------------------

    async def escalate_bot_item(self, item_id: str, now: datetime) -> WorkItem | None:
        """One write in the item's queue partition, under its ETag."""

        def escalate(item: WorkItem) -> WorkItem | None:
            if item.status != WorkItemStatus.BOT:
                return None
            return item.model_copy(update={"status": WorkItemStatus.WAITING, "enqueued_at": now})

        return await self._change_item(item_id, escalate)

    # --- presence and the agent's work (issue 6) ------------------------------------------------

    async def get_presence_settings(self) -> PresenceSettings:
        # Absent until an admin writes it, the common case: a single-partition query answers
        # empty where a point read would answer 404.
        rows = await self._config.query(
            "SELECT VALUE c.data FROM c WHERE c.pk = @pk",
            {"@pk": layout.PRESENCE_SETTINGS_PARTITION},
            partition_key=layout.PRESENCE_SETTINGS_PARTITION,
        )
        return PresenceSettings.model_validate(rows[0]) if rows else PresenceSettings()

    async def put_presence_settings(self, settings: PresenceSettings) -> None:
        await self._put_config(layout.PRESENCE_SETTINGS_PARTITION, "presence", settings)

    async def change_presence(self, agent_id: str, change: PresenceUpdate) -> PresenceChange | None:
        """One document holds the agent's presence state, routing's presence and its holds:
        one replace under its ETag (412: read again, apply the rule to fresh state)."""
        while True:
            doc = await read_or_none(self._work, agent_id, layout.AGENTS_PARTITION)
            if doc is None:
                return None
            live = _agent_state(doc)
            raw = doc.get("presence_state")
            state = None if raw is None else PresenceState.model_validate(raw)
            new = change(state, live)
            if new is None:
                return PresenceChange(before=live.presence, after=live.presence, state=state)
            changed = {
                **stored_fields(doc),
                "presence_state": model_json(new),
                "presence": str(new.presence),
            }
            try:
                await self._work.replace(changed, etag=doc["_etag"])
            except exceptions.CosmosAccessConditionFailedError:
                continue
            return PresenceChange(before=live.presence, after=new.presence, state=new)

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
        item = _load(WorkItem, doc)
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
            item = _load(WorkItem, doc)
            if item.status != WorkItemStatus.ACTIVE or item.agent_id != from_agent_id:
                return None
            # Written in its current partition first: _finish_move carries it to the new one.
            waiting = item.transferred_to_queue(queue_id, now).model_copy(
                update={"queue_id": item.queue_id}
            )
            if queue_id == item.queue_id:
                body = _item_document(waiting)
            else:
                body = {
                    **_item_document(waiting),
                    "status": _MOVING,
                    "moving_to": queue_id,
                }
            try:
                await self._work.replace(body, etag=doc["_etag"])
            except exceptions.CosmosAccessConditionFailedError:
                continue
            if queue_id != item.queue_id:
                body = await self._finish_move(body)
            await self._release_hold(from_agent_id, item_id, kept_assignment=True)
            return _load(WorkItem, body)

    async def last_work_item(self, conversation_id: str) -> WorkItem | None:
        unclosed = await self.open_work_item(conversation_id)
        if unclosed is not None:
            return unclosed
        conversation = await read_or_none(self._conversations, conversation_id, conversation_id)
        if conversation is None:
            return None
        # A close that stopped before clearing its pointer left the closed item there.
        pointer = conversation.get("open_item") or conversation.get("last_item")
        return None if pointer is None else await self.get_work_item(str(pointer["id"]))

    # --- outbound jobs ------------------------------------------------------------------------

    async def create_outbound_job(self, job: OutboundJob) -> tuple[OutboundJob, bool]:
        if await create_if_absent(self._jobs, document(job.id, job.id, "job", job)):
            return job, True
        return _load(OutboundJob, await self._jobs.read(job.id, job.id)), False

    async def get_outbound_job(self, job_id: str) -> OutboundJob | None:
        doc = await read_or_none(self._jobs, job_id, job_id)
        return None if doc is None else _load(OutboundJob, doc)

    async def set_recipient(self, job_id: str, recipient: Recipient) -> OutboundJob | None:
        def with_recipient(doc: Doc) -> Doc:
            job = _load(OutboundJob, doc)
            recipients = tuple(
                recipient if r.customer_id == recipient.customer_id else r for r in job.recipients
            )
            return {**doc, "data": model_json(job.model_copy(update={"recipients": recipients}))}

        updated = await update(self._jobs, job_id, job_id, with_recipient)
        return None if updated is None else _load(OutboundJob, updated)

    # --- sandbox outbox -----------------------------------------------------------------------

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
        rows = await self._outbox.query(
            "SELECT TOP @limit VALUE c.data FROM c WHERE c.pk = @pk ORDER BY c.sent_at DESC, c.id",
            {"@pk": layout.SENT_SMS_PARTITION, "@limit": limit},
            partition_key=layout.SENT_SMS_PARTITION,
        )
        return [SentSms.model_validate(row) for row in rows]

    # --- supervision and figures (issue 8) ------------------------------------------------------

    async def list_ongoing_conversations(
        self, *, after: str | None, limit: int
    ) -> Sequence[ConversationState]:
        """A supervisor read, not the hot path: the query spans every conversation's partition
        (paged by id), then each conversation's item is read through its pointer."""
        rows = await self._conversations.query(
            "SELECT TOP @limit VALUE c.data FROM c WHERE c.type = 'conversation' "
            "AND c.data.status = @open AND c.id > @after ORDER BY c.id",
            {"@open": "open", "@after": after or "", "@limit": limit},
            partition_key=None,
        )
        states = []
        for row in rows:
            conversation = Conversation.model_validate(row)
            item = await self.open_work_item(conversation.id)
            states.append(ConversationState(conversation=conversation, item=item))
        return states

    async def list_agent_states(self, *, after: str | None, limit: int) -> Sequence[AgentState]:
        rows = await self._work.query(
            "SELECT TOP @limit * FROM c WHERE c.pk = @pk AND c.type = 'agent' "
            "AND c.id > @after ORDER BY c.id",
            {"@pk": layout.AGENTS_PARTITION, "@after": after or "", "@limit": limit},
            partition_key=layout.AGENTS_PARTITION,
        )
        return [_agent_state(row) for row in rows]

    async def items_alive(
        self, queue_id: str, start: datetime, end: datetime
    ) -> Sequence[WorkItem]:
        """One single-partition query on the queue's partition (the aggregates timer)."""
        partition = layout.queue_partition(queue_id)
        rows = await self._work.query(
            "SELECT VALUE c.data FROM c WHERE c.pk = @pk AND c.type = 'item' "
            "AND c.status != @moving AND c.enqueued_at < @end "
            "AND (c.status != @closed OR c.closed_at >= @start) ORDER BY c.id",
            {
                "@pk": partition,
                "@moving": _MOVING,
                "@closed": str(WorkItemStatus.CLOSED),
                "@start": epoch_micros(start),
                "@end": epoch_micros(end),
            },
            partition_key=partition,
        )
        return [WorkItem.model_validate(row) for row in rows]

    async def put_day_figures(self, figures: Sequence[DayFigures]) -> None:
        for record in figures:
            key = layout.day_figures_key(record.day)
            await self._lookups.upsert(
                document(
                    f"{record.scope}:{record.key}",
                    key,
                    "day-figures",
                    record,
                    scope=str(record.scope),
                )
            )

    async def day_figures(self, day: date, scope: FigureScope) -> Sequence[DayFigures]:
        # Only /pk is indexed in lookups: a day's few records are filtered and sorted here.
        key = layout.day_figures_key(day)
        rows = await self._lookups.query(
            "SELECT * FROM c WHERE c.pk = @pk", {"@pk": key}, partition_key=key
        )
        records = (_load(DayFigures, row) for row in rows if row["scope"] == str(scope))
        return sorted(records, key=lambda r: r.key)

    async def figures_watermark(self) -> date | None:
        # A query rather than a point read: the document is absent until the first run, and
        # the timer reads it once a minute (the cost difference is nil).
        key = layout.FIGURES_WATERMARK_KEY
        days = await self._lookups.query(
            "SELECT VALUE c.day FROM c WHERE c.pk = @pk", {"@pk": key}, partition_key=key
        )
        return date.fromisoformat(days[0]) if days else None

    async def set_figures_watermark(self, day: date) -> None:
        key = layout.FIGURES_WATERMARK_KEY
        await self._lookups.upsert(document(key, key, "figures-watermark", day=day.isoformat()))

    async def get_sentiment_settings(self) -> SentimentSettings | None:
        # A query, as for presence settings: absent until an admin sets it.
        rows = await self._config.query(
            "SELECT VALUE c.data FROM c WHERE c.pk = @pk",
            {"@pk": layout.SENTIMENT_SETTINGS_PARTITION},
            partition_key=layout.SENTIMENT_SETTINGS_PARTITION,
        )
        return SentimentSettings.model_validate(rows[0]) if rows else None

    async def put_sentiment_settings(self, settings: SentimentSettings) -> None:
        await self._put_config(layout.SENTIMENT_SETTINGS_PARTITION, "sentiment", settings)

    async def put_presence_span(self, day: date, span: PresenceSpan) -> None:
        key = layout.presence_spans_key(day)
        await self._lookups.upsert(document(span.id, key, "presence-span", span))

    async def presence_spans(self, day: date) -> Sequence[PresenceSpan]:
        key = layout.presence_spans_key(day)
        rows = await self._lookups.query(
            "SELECT * FROM c WHERE c.pk = @pk", {"@pk": key}, partition_key=key
        )
        return sorted((_load(PresenceSpan, row) for row in rows), key=lambda span: span.id)

    # --- sentiment (issue 8), typing and identification by email (issue 7) ---------------------

    async def change_conversation_sentiment(
        self, conversation_id: str, change: SentimentUpdate
    ) -> Conversation | None:
        """One read-modify-write of the conversation's document, in its own partition, under
        its ETag (the item pointer it also holds is kept as read)."""
        outcome: list[Conversation] = []

        def apply(doc: Doc) -> Doc | None:
            current = _load(Conversation, doc)
            rolled = change(current.sentiment)
            outcome[:] = [
                current if rolled is None else current.model_copy(update={"sentiment": rolled})
            ]
            return None if rolled is None else {**doc, "data": model_json(outcome[0])}

        await update(self._conversations, conversation_id, conversation_id, apply)
        return outcome[0] if outcome else None

    async def set_typing(self, conversation_id: str, party: TypingParty, until: datetime) -> None:
        key = layout.typing_key(conversation_id)
        await self._lookups.upsert(
            document(
                str(party),
                key,
                "typing",
                until=epoch_micros(until),
                ttl=layout.TYPING_TTL_SECONDS,
            )
        )

    async def typing(self, conversation_id: str, now: datetime) -> frozenset[TypingParty]:
        # Only /pk is indexed in lookups: the partition's two records are filtered here.
        key = layout.typing_key(conversation_id)
        rows = await self._lookups.query(
            "SELECT c.id, c.until FROM c WHERE c.pk = @pk", {"@pk": key}, partition_key=key
        )
        moment = epoch_micros(now)
        return frozenset(TypingParty(row["id"]) for row in rows if int(row["until"]) > moment)

    async def find_customers_by_email(self, email: str) -> Sequence[Customer]:
        key = layout.customer_email_key(email)
        ids = await self._lookups.query(
            "SELECT VALUE c.id FROM c WHERE c.pk = @pk", {"@pk": key}, partition_key=key
        )
        found = []
        for customer_id in sorted(ids):
            customer = await self.get_customer(customer_id)
            if customer is not None and (customer.email or "").lower() == email.lower():
                found.append(customer)
        return found


def _names_its_conversation(message: Message) -> bool:
    return conversation_named_by(message.id) == message.conversation_id


def _message_locator(message: Message) -> Doc:
    """Where the message lives (get_message has only its id), and the claim on that id."""
    key = layout.message_key(message.id)
    return document(
        key,
        key,
        "message-locator",
        conversation_id=message.conversation_id,
        message=model_json(message),
    )


def _phones(customer: Customer) -> set[str]:
    return {p for p in (customer.mobile_phone, customer.account_phone) if p}


def _customer_index(customer: Customer) -> dict[str, str]:
    """The lookup partitions that find the customer (by phone, by email: issue 7)."""
    keys = {layout.customer_phone_key(phone): "customer-phone" for phone in _phones(customer)}
    if customer.email:
        keys[layout.customer_email_key(customer.email)] = "customer-email"
    return keys


def _open_item_pointer(item: WorkItem) -> Doc:
    """The conversation's pointer to its open item, with a copy to create the item from if
    its own write never happened. The copy leaves out default values: the conversation is
    rewritten on every message, and a document past 1 KB costs twice the RU to write."""
    return {
        "id": item.id,
        "queue_id": item.queue_id,
        "item": item.model_dump(mode="json", exclude_defaults=True),
    }


def _item_document(item: WorkItem) -> Doc:
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


def _held_units(holds: dict[str, Any]) -> int:
    return sum(int(hold["units"]) for hold in holds.values())


def _agent_state(doc: Doc) -> AgentState:
    agent = _load(Agent, doc)
    # The latest assignment is the latest hold's, or the one kept when work was released: a
    # hold released by compensation takes its time with it.
    kept = [doc.get("last_assigned_at")] + [h["assigned_at"] for h in doc["holds"].values()]
    used = _held_units(doc["holds"])
    released = doc.get("released_at")
    since = (doc.get("presence_state") or {}).get("since")
    return AgentState(
        presence_since=datetime.fromisoformat(since) if since else None,
        agent=agent,
        presence=Presence(doc["presence"]) if doc["presence"] else agent.default_presence,
        used_capacity=used,
        last_assigned_at=max((datetime.fromisoformat(t) for t in kept if t), default=None),
        idle_since=idle_since(used, datetime.fromisoformat(released) if released else None),
    )


# --- opening --------------------------------------------------------------------------------


async def open_cosmos_store(
    settings: Settings, *, hold_grace: timedelta = HOLD_GRACE
) -> CosmosStore:
    """Sign in with the key (a local protocol server), which may also create the database
    and containers; or with the app's identity (Azure), where infrastructure created them."""
    credential: DefaultAzureCredential | None = None
    if settings.cosmos_key:
        client = CosmosClient(
            settings.cosmos_endpoint,
            credential=settings.cosmos_key,
            connection_verify=settings.cosmos_verify_tls,
        )
    else:
        credential = DefaultAzureCredential(
            managed_identity_client_id=settings.azure_client_id or None
        )
        client = CosmosClient(
            settings.cosmos_endpoint,
            credential=credential,
            connection_verify=settings.cosmos_verify_tls,
        )
    try:
        if settings.cosmos_key:
            database = await create_containers(client, settings.cosmos_database)
        else:
            database = client.get_database_client(settings.cosmos_database)
    except BaseException:
        await client.close()
        if credential is not None:
            await credential.close()
        raise
    return CosmosStore(client, database, credential=credential, hold_grace=hold_grace)


async def create_containers(client: CosmosClient, database_name: str) -> DatabaseProxy:
    """The database and every container of the layout, created where absent."""
    database = await client.create_database_if_not_exists(database_name)
    for spec in layout.CONTAINERS:
        await database.create_container_if_not_exists(
            spec.name,
            partition_key=PartitionKey(path=layout.PARTITION_KEY_PATH),
            indexing_policy=spec.indexing_policy(),
            unique_key_policy=spec.unique_key_policy(),
            default_ttl=spec.default_ttl,
        )
    return database
