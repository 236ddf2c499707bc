"""The embedded Store: every record a JSON document, with the columns its queries need."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date, datetime
from typing import TypeVar

from pydantic import BaseModel

from shared.adapters.sqlite_db import SqliteDatabase
from shared.domain.figures import ConversationState, DayFigures, FigureScope
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

M = TypeVar("M", bound=BaseModel)

_HOLDING = tuple(str(s) for s in CAPACITY_HOLDING)
_HOLDING_SQL = ",".join("?" for _ in _HOLDING)


def _doc(model: BaseModel) -> str:
    return model.model_dump_json(by_alias=True)


def _load(kind: type[M], row: sqlite3.Row | None) -> M | None:
    return None if row is None else kind.model_validate_json(row["doc"])


def _load_all(kind: type[M], rows: list[sqlite3.Row]) -> list[M]:
    return [kind.model_validate_json(row["doc"]) for row in rows]


def _get_doc(db: sqlite3.Connection, kind: type[M], table: str, record_id: str) -> M | None:
    # Table names come from this module only, never from input.
    row = db.execute(f"SELECT doc FROM {table} WHERE id = ?", (record_id,)).fetchone()  # noqa: S608
    return _load(kind, row)


class SqliteStore:
    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database

    async def close(self) -> None:
        await self._db.close()

    # --- configuration ------------------------------------------------------------------------

    async def _put_doc(self, table: str, record_id: str, model: BaseModel) -> None:
        await self._db.atomic(
            lambda db: db.execute(
                f"INSERT INTO {table} (id, doc) VALUES (?, ?) "  # noqa: S608
                "ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                (record_id, _doc(model)),
            )
        )

    async def _get(self, kind: type[M], table: str, record_id: str) -> M | None:
        return await self._db.atomic(lambda db: _get_doc(db, kind, table, record_id))

    async def put_channel(self, channel: Channel) -> None:
        def write(db: sqlite3.Connection) -> None:
            taken = db.execute(
                "SELECT address FROM channel_addresses WHERE kind = ? AND channel_id != ? "  # noqa: S608
                f"AND address IN ({','.join('?' for _ in channel.addresses)})",
                (channel.kind, channel.id, *channel.addresses),
            ).fetchone()
            if taken is not None:
                raise Conflict(f"{taken[0]} already belongs to another channel")
            db.execute(
                "INSERT INTO channels (id, doc) VALUES (?, ?) "
                "ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                (channel.id, _doc(channel)),
            )
            db.execute("DELETE FROM channel_addresses WHERE channel_id = ?", (channel.id,))
            db.executemany(
                "INSERT INTO channel_addresses (kind, address, channel_id) VALUES (?, ?, ?)",
                [(channel.kind, address, channel.id) for address in channel.addresses],
            )

        await self._db.atomic(write)

    async def get_channel(self, channel_id: str) -> Channel | None:
        return await self._get(Channel, "channels", channel_id)

    async def find_channel(self, kind: ChannelKind, address: str) -> Channel | None:
        return await self._db.atomic(
            lambda db: _load(
                Channel,
                db.execute(
                    "SELECT c.doc FROM channel_addresses a JOIN channels c ON c.id = a.channel_id "
                    "WHERE a.kind = ? AND a.address = ?",
                    (kind, address),
                ).fetchone(),
            )
        )

    async def _list_docs(self, kind: type[M], table: str, after: str | None, limit: int) -> list[M]:
        return await self._db.atomic(
            lambda db: _load_all(
                kind,
                db.execute(
                    f"SELECT doc FROM {table} WHERE id > ? ORDER BY id LIMIT ?",  # noqa: S608
                    (after or "", limit),
                ).fetchall(),
            )
        )

    async def _delete(self, table: str, record_id: str) -> bool:
        return await self._db.atomic(
            lambda db: (
                db.execute(f"DELETE FROM {table} WHERE id = ?", (record_id,)).rowcount  # noqa: S608
                > 0
            )
        )

    async def list_channels(self, *, after: str | None, limit: int) -> Sequence[Channel]:
        return await self._list_docs(Channel, "channels", after, limit)

    async def delete_channel(self, channel_id: str) -> bool:
        def delete(db: sqlite3.Connection) -> bool:
            db.execute("DELETE FROM channel_addresses WHERE channel_id = ?", (channel_id,))
            return db.execute("DELETE FROM channels WHERE id = ?", (channel_id,)).rowcount > 0

        return await self._db.atomic(delete)

    async def put_template(self, template: Template) -> None:
        await self._put_doc("templates", template.id, template)

    async def get_template(self, template_id: str) -> Template | None:
        return await self._get(Template, "templates", template_id)

    async def list_templates(self, *, after: str | None, limit: int) -> Sequence[Template]:
        return await self._list_docs(Template, "templates", after, limit)

    async def delete_template(self, template_id: str) -> bool:
        return await self._delete("templates", template_id)

    async def put_workstream(self, workstream: Workstream) -> None:
        await self._put_doc("workstreams", workstream.id, workstream)

    async def get_workstream(self, workstream_id: str) -> Workstream | None:
        return await self._get(Workstream, "workstreams", workstream_id)

    async def put_queue(self, queue: Queue) -> None:
        await self._put_doc("queues", queue.id, queue)

    async def get_queue(self, queue_id: str) -> Queue | None:
        return await self._get(Queue, "queues", queue_id)

    async def put_rule(self, rule: RoutingRule) -> None:
        await self._db.atomic(
            lambda db: db.execute(
                "INSERT INTO rules (id, workstream_id, ord, doc) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET workstream_id = excluded.workstream_id, "
                "ord = excluded.ord, doc = excluded.doc",
                (rule.id, rule.workstream_id, rule.order, _doc(rule)),
            )
        )

    async def list_rules(self, workstream_id: str) -> Sequence[RoutingRule]:
        return await self._db.atomic(
            lambda db: _load_all(
                RoutingRule,
                db.execute(
                    "SELECT doc FROM rules WHERE workstream_id = ? ORDER BY ord, id",
                    (workstream_id,),
                ).fetchall(),
            )
        )

    async def put_agent(self, agent: Agent) -> None:
        def write(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO agents (id, doc) VALUES (?, ?) "
                "ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                (agent.id, _doc(agent)),
            )
            db.execute("DELETE FROM agent_queues WHERE agent_id = ?", (agent.id,))
            db.executemany(
                "INSERT INTO agent_queues (agent_id, queue_id) VALUES (?, ?)",
                [(agent.id, queue_id) for queue_id in agent.queue_ids],
            )
            db.execute(
                "INSERT INTO agent_presence (agent_id, presence) VALUES (?, ?) "
                "ON CONFLICT (agent_id) DO NOTHING",
                (agent.id, agent.default_presence),
            )

        await self._db.atomic(write)

    async def get_agent(self, agent_id: str) -> Agent | None:
        return await self._get(Agent, "agents", agent_id)

    async def put_customer(self, customer: Customer) -> None:
        email = None if customer.email is None else customer.email.lower()  # issue 7
        await self._db.atomic(
            lambda db: db.execute(
                "INSERT INTO customers (id, mobile_phone, account_phone, email, doc) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                "mobile_phone = excluded.mobile_phone, "
                "account_phone = excluded.account_phone, email = excluded.email, "
                "doc = excluded.doc",
                (customer.id, customer.mobile_phone, customer.account_phone, email, _doc(customer)),
            )
        )

    async def get_customer(self, customer_id: str) -> Customer | None:
        return await self._get(Customer, "customers", customer_id)

    async def find_customers_by_phone(self, e164: str) -> Sequence[Customer]:
        return await self._db.atomic(
            lambda db: _load_all(
                Customer,
                db.execute(
                    "SELECT doc FROM customers WHERE mobile_phone = ? OR account_phone = ? "
                    "ORDER BY id",
                    (e164, e164),
                ).fetchall(),
            )
        )

    # --- conversations ------------------------------------------------------------------------

    async def open_conversation(self, candidate: Conversation) -> tuple[Conversation, bool]:
        def find_or_create(db: sqlite3.Connection) -> tuple[Conversation, bool]:
            existing = _load(
                Conversation,
                db.execute(
                    "SELECT doc FROM conversations WHERE channel_id = ? "
                    "AND customer_address = ? AND status = 'open'",
                    (candidate.channel_id, candidate.customer_address),
                ).fetchone(),
            )
            if existing is not None:
                return existing, False
            db.execute(
                "INSERT INTO conversations (id, channel_id, customer_address, status, doc) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    candidate.id,
                    candidate.channel_id,
                    candidate.customer_address,
                    candidate.status,
                    _doc(candidate),
                ),
            )
            return candidate, True

        return await self._db.atomic(find_or_create)

    async def get_conversation(self, conversation_id: str) -> Conversation | None:
        return await self._get(Conversation, "conversations", conversation_id)

    async def append_message(self, message: Message) -> Message | None:
        def append(db: sqlite3.Connection) -> Message | None:
            seen = db.execute(
                "SELECT 1 FROM messages WHERE id = ? OR provider_message_id = ?",
                (message.id, message.provider_message_id),
            ).fetchone()
            if seen is not None:
                return None
            last = db.execute(
                "SELECT COALESCE(MAX(sequence), 0) FROM messages WHERE conversation_id = ?",
                (message.conversation_id,),
            ).fetchone()[0]
            stored = message.model_copy(update={"sequence": int(last) + 1})
            db.execute(
                "INSERT INTO messages (id, conversation_id, sequence, provider_message_id, "
                "internal, doc) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    stored.id,
                    stored.conversation_id,
                    stored.sequence,
                    stored.provider_message_id,
                    int(stored.internal),
                    _doc(stored),
                ),
            )
            return stored

        return await self._db.atomic(append)

    async def get_message(self, message_id: str) -> Message | None:
        return await self._get(Message, "messages", message_id)

    async def find_message_by_provider_id(self, provider_message_id: str) -> Message | None:
        return await self._db.atomic(
            lambda db: _load(
                Message,
                db.execute(
                    "SELECT doc FROM messages WHERE provider_message_id = ?",
                    (provider_message_id,),
                ).fetchone(),
            )
        )

    async def list_messages(
        self, conversation_id: str, *, after_sequence: int = 0, include_internal: bool
    ) -> Sequence[Message]:
        internal_filter = "" if include_internal else " AND internal = 0"
        return await self._db.atomic(
            lambda db: _load_all(
                Message,
                db.execute(
                    "SELECT doc FROM messages WHERE conversation_id = ? AND sequence > ?"  # noqa: S608
                    + internal_filter
                    + " ORDER BY sequence",
                    (conversation_id, after_sequence),
                ).fetchall(),
            )
        )

    async def set_message_delivery(
        self,
        message_id: str,
        status: DeliveryStatus,
        provider_message_id: str | None,
        error: str | None = None,
    ) -> Message | None:
        def update(db: sqlite3.Connection) -> Message | None:
            current = _get_doc(db, Message, "messages", message_id)
            if current is None:
                return None
            changed = current.model_copy(
                update={
                    "status": status,
                    "provider_message_id": provider_message_id or current.provider_message_id,
                    "error": error,
                }
            )
            db.execute(
                "UPDATE messages SET provider_message_id = ?, doc = ? WHERE id = ?",
                (changed.provider_message_id, _doc(changed), message_id),
            )
            return changed

        return await self._db.atomic(update)

    async def set_sms_consent(self, address: str, *, opted_out: bool, at: datetime) -> None:
        await self._db.atomic(
            lambda db: db.execute(
                "INSERT INTO sms_consent (address, opted_out, changed_at) VALUES (?, ?, ?) "
                "ON CONFLICT (address) DO UPDATE SET opted_out = excluded.opted_out, "
                "changed_at = excluded.changed_at",
                (address, int(opted_out), at.isoformat()),
            )
        )

    async def is_opted_out(self, address: str) -> bool:
        row = await self._db.atomic(
            lambda db: db.execute(
                "SELECT opted_out FROM sms_consent WHERE address = ?", (address,)
            ).fetchone()
        )
        return bool(row and row[0])

    # --- work ---------------------------------------------------------------------------------

    @staticmethod
    def _write_item(db: sqlite3.Connection, item: WorkItem) -> None:
        db.execute(
            "INSERT INTO work_items (id, conversation_id, queue_id, status, agent_id, priority, "
            "capacity_units, enqueued_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET queue_id = excluded.queue_id, "
            "status = excluded.status, agent_id = excluded.agent_id, "
            "priority = excluded.priority, capacity_units = excluded.capacity_units, "
            "enqueued_at = excluded.enqueued_at, doc = excluded.doc",
            (
                item.id,
                item.conversation_id,
                item.queue_id,
                item.status,
                item.agent_id,
                item.priority,
                item.capacity_units,
                item.enqueued_at.isoformat(),
                _doc(item),
            ),
        )

    @staticmethod
    def _open_item(db: sqlite3.Connection, conversation_id: str) -> WorkItem | None:
        return _load(
            WorkItem,
            db.execute(
                "SELECT doc FROM work_items WHERE conversation_id = ? AND status != 'closed'",
                (conversation_id,),
            ).fetchone(),
        )

    async def create_work_item(self, item: WorkItem) -> tuple[WorkItem, bool]:
        def create(db: sqlite3.Connection) -> tuple[WorkItem, bool]:
            existing = self._open_item(db, item.conversation_id)
            if existing is not None:
                return existing, False
            self._write_item(db, item)
            return item, True

        return await self._db.atomic(create)

    async def get_work_item(self, item_id: str) -> WorkItem | None:
        return await self._get(WorkItem, "work_items", item_id)

    async def open_work_item(self, conversation_id: str) -> WorkItem | None:
        return await self._db.atomic(lambda db: self._open_item(db, conversation_id))

    async def queues_with_waiting_items(self) -> Sequence[str]:
        return await self._db.atomic(
            lambda db: [
                row[0]
                for row in db.execute(
                    "SELECT DISTINCT queue_id FROM work_items WHERE status = 'waiting' "
                    "ORDER BY queue_id"
                ).fetchall()
            ]
        )

    async def waiting_items(self, queue_id: str, *, limit: int) -> Sequence[WorkItem]:
        return await self._db.atomic(
            lambda db: _load_all(
                WorkItem,
                db.execute(
                    "SELECT doc FROM work_items WHERE queue_id = ? AND status = 'waiting' "
                    "ORDER BY priority DESC, enqueued_at, id LIMIT ?",
                    (queue_id, limit),
                ).fetchall(),
            )
        )

    @staticmethod
    def _used_capacity(db: sqlite3.Connection, agent_id: str) -> int:
        row = db.execute(
            "SELECT COALESCE(SUM(capacity_units), 0) FROM work_items "  # noqa: S608
            f"WHERE agent_id = ? AND status IN ({_HOLDING_SQL})",
            (agent_id, *_HOLDING),
        ).fetchone()
        return int(row[0])

    async def assign(
        self,
        item_id: str,
        agent_id: str,
        now: datetime,
        *,
        offer_until: datetime | None = None,
        round_robin: bool | None = None,
    ) -> WorkItem | None:
        # The cursor is written whatever the queue's method: in the same transaction, free.
        def assign_in_transaction(db: sqlite3.Connection) -> WorkItem | None:
            item = _get_doc(db, WorkItem, "work_items", item_id)
            agent = _get_doc(db, Agent, "agents", agent_id)
            if item is None or agent is None or item.status != WorkItemStatus.WAITING:
                return None
            if self._used_capacity(db, agent_id) + item.capacity_units > agent.max_capacity:
                return None
            assigned = item.given_to(agent_id, now, offer_until)
            self._write_item(db, assigned)
            db.execute(
                "UPDATE agent_presence SET last_assigned_at = ? WHERE agent_id = ?",
                (now.isoformat(), agent_id),
            )
            db.execute(
                "INSERT INTO queue_cursors (queue_id, agent_id) VALUES (?, ?) "
                "ON CONFLICT (queue_id) DO UPDATE SET agent_id = excluded.agent_id",
                (item.queue_id, agent_id),
            )
            return assigned

        return await self._db.atomic(assign_in_transaction)

    async def agent_items(self, agent_id: str) -> Sequence[WorkItem]:
        return await self._db.atomic(
            lambda db: _load_all(
                WorkItem,
                db.execute(
                    "SELECT doc FROM work_items WHERE agent_id = ? AND status != 'closed' "
                    "ORDER BY enqueued_at, id",
                    (agent_id,),
                ).fetchall(),
            )
        )

    # An agent's record with its live state in one row: used capacity is summed from its
    # items through the items_by_agent index.
    _AGENT_STATE_SQL = (
        "SELECT a.doc, p.presence, p.last_assigned_at, p.released_at, "  # noqa: S608
        "json_extract(p.state, '$.since') AS presence_since, "
        "(SELECT COALESCE(SUM(w.capacity_units), 0) FROM work_items w "
        f"WHERE w.agent_id = a.id AND w.status IN ({_HOLDING_SQL})) AS used "
        "FROM agents a LEFT JOIN agent_presence p ON p.agent_id = a.id "
    )

    @staticmethod
    def _agent_state(row: sqlite3.Row) -> AgentState:
        agent = Agent.model_validate_json(row["doc"])
        used = int(row["used"])
        last, released = row["last_assigned_at"], row["released_at"]
        since = row["presence_since"]
        return AgentState(
            presence_since=datetime.fromisoformat(since) if since else None,
            agent=agent,
            presence=Presence(row["presence"]) if row["presence"] else agent.default_presence,
            used_capacity=used,
            last_assigned_at=datetime.fromisoformat(last) if last else None,
            idle_since=idle_since(used, datetime.fromisoformat(released) if released else None),
        )

    async def queue_agents(self, queue_id: str) -> Sequence[AgentState]:
        return await self._db.atomic(
            lambda db: [
                self._agent_state(row)
                for row in db.execute(
                    self._AGENT_STATE_SQL + "JOIN agent_queues q ON q.agent_id = a.id "
                    "WHERE q.queue_id = ? ORDER BY a.id",
                    (*_HOLDING, queue_id),
                ).fetchall()
            ]
        )

    async def agent_state(self, agent_id: str) -> AgentState | None:
        def read(db: sqlite3.Connection) -> AgentState | None:
            row = db.execute(
                self._AGENT_STATE_SQL + "WHERE a.id = ?", (*_HOLDING, agent_id)
            ).fetchone()
            return None if row is None else self._agent_state(row)

        return await self._db.atomic(read)

    async def set_presence(self, agent_id: str, presence: Presence) -> None:
        await self._db.atomic(
            lambda db: db.execute(
                "INSERT INTO agent_presence (agent_id, presence) VALUES (?, ?) "
                "ON CONFLICT (agent_id) DO UPDATE SET presence = excluded.presence",
                (agent_id, presence),
            )
        )

    async def reconcile_capacity(self) -> int:
        # Used capacity is summed from the items in the same transaction as each assignment:
        # there is no second record to drift.
        return 0

    # --- chat (issue 7) ----------------------------------------------------------------------

    async def wrap_up_work_item(
        self, item_id: str, now: datetime | None = None, *, agent_id: str | None = None
    ) -> WorkItem | None:
        def wrap_up(db: sqlite3.Connection) -> WorkItem | None:
            item = _get_doc(db, WorkItem, "work_items", item_id)
            if item is None or item.status != WorkItemStatus.ACTIVE:
                return None
            if agent_id is not None and item.agent_id != agent_id:
                return None
            changed = item.model_copy(update={"status": WorkItemStatus.WRAP_UP, "wrap_up_at": now})
            self._write_item(db, changed)
            return changed

        return await self._db.atomic(wrap_up)

    # --- unified routing (issue 5) -------------------------------------------------------------

    async def list_workstreams(self, *, after: str | None, limit: int) -> Sequence[Workstream]:
        return await self._list_docs(Workstream, "workstreams", after, limit)

    async def delete_workstream(self, workstream_id: str) -> bool:
        return await self._delete("workstreams", workstream_id)

    async def list_queues(self, *, after: str | None, limit: int) -> Sequence[Queue]:
        return await self._list_docs(Queue, "queues", after, limit)

    async def delete_queue(self, queue_id: str) -> bool:
        return await self._delete("queues", queue_id)

    async def get_rule(self, rule_id: str) -> RoutingRule | None:
        return await self._get(RoutingRule, "rules", rule_id)

    async def list_all_rules(self, *, after: str | None, limit: int) -> Sequence[RoutingRule]:
        return await self._list_docs(RoutingRule, "rules", after, limit)

    async def delete_rule(self, rule_id: str) -> bool:
        return await self._delete("rules", rule_id)

    async def list_agents(self, *, after: str | None, limit: int) -> Sequence[Agent]:
        return await self._list_docs(Agent, "agents", after, limit)

    async def delete_agent(self, agent_id: str) -> bool:
        def delete(db: sqlite3.Connection) -> bool:
            db.execute("DELETE FROM agent_queues WHERE agent_id = ?", (agent_id,))
            db.execute("DELETE FROM agent_presence WHERE agent_id = ?", (agent_id,))
            return db.execute("DELETE FROM agents WHERE id = ?", (agent_id,)).rowcount > 0

        return await self._db.atomic(delete)

    @staticmethod
    def _offered_to(db: sqlite3.Connection, item_id: str, agent_id: str) -> WorkItem | None:
        item = _get_doc(db, WorkItem, "work_items", item_id)
        if item is None or item.status != WorkItemStatus.OFFERED or item.agent_id != agent_id:
            return None
        return item

    async def accept_offer(self, item_id: str, agent_id: str, now: datetime) -> WorkItem | None:
        def accept(db: sqlite3.Connection) -> WorkItem | None:
            offered = self._offered_to(db, item_id, agent_id)
            if offered is None:
                return None
            active = offered.model_copy(
                update={"status": WorkItemStatus.ACTIVE, "offer_expires_at": None}
            )
            self._write_item(db, active)
            return active

        return await self._db.atomic(accept)

    async def return_to_queue(
        self, item_id: str, agent_id: str, skip_until: datetime
    ) -> WorkItem | None:
        def give_back(db: sqlite3.Connection) -> WorkItem | None:
            offered = self._offered_to(db, item_id, agent_id)
            if offered is None:
                return None
            waiting = offered.model_copy(
                update={
                    "status": WorkItemStatus.WAITING,
                    "agent_id": None,
                    "assigned_at": None,
                    "offer_expires_at": None,
                    "skipped_agents": {**offered.skipped_agents, agent_id: skip_until},
                }
            )
            self._write_item(db, waiting)
            return waiting

        return await self._db.atomic(give_back)

    async def offered_items(self) -> Sequence[WorkItem]:
        return await self._db.atomic(
            lambda db: _load_all(
                WorkItem,
                db.execute(
                    "SELECT doc FROM work_items WHERE status = ? ORDER BY id",
                    (str(WorkItemStatus.OFFERED),),
                ).fetchall(),
            )
        )

    async def close_work_item(
        self, item_id: str, now: datetime, *, agent_id: str | None = None
    ) -> WorkItem | None:
        def close(db: sqlite3.Connection) -> WorkItem | None:
            item = _get_doc(db, WorkItem, "work_items", item_id)
            if item is None or item.status == WorkItemStatus.CLOSED:
                return None
            if agent_id is not None and item.agent_id != agent_id:
                return None
            closed = item.model_copy(
                update={"status": WorkItemStatus.CLOSED, "offer_expires_at": None, "closed_at": now}
            )
            self._write_item(db, closed)
            if item.agent_id is not None:
                db.execute(
                    "UPDATE agent_presence SET released_at = ? WHERE agent_id = ?",
                    (now.isoformat(), item.agent_id),
                )
            return closed

        return await self._db.atomic(close)

    async def move_waiting_item(self, item_id: str, queue_id: str) -> WorkItem | None:
        def move(db: sqlite3.Connection) -> WorkItem | None:
            item = _get_doc(db, WorkItem, "work_items", item_id)
            if item is None or item.status != WorkItemStatus.WAITING:
                return None
            moved = item.model_copy(update={"queue_id": queue_id})
            self._write_item(db, moved)
            return moved

        return await self._db.atomic(move)

    async def queue_backlog(self, queue_id: str) -> tuple[int, datetime | None]:
        row = await self._db.atomic(
            lambda db: db.execute(
                "SELECT COUNT(*), MIN(enqueued_at) FROM work_items "
                "WHERE queue_id = ? AND status = 'waiting'",
                (queue_id,),
            ).fetchone()
        )
        return int(row[0]), datetime.fromisoformat(row[1]) if row[1] else None

    async def round_robin_cursor(self, queue_id: str) -> str | None:
        row = await self._db.atomic(
            lambda db: db.execute(
                "SELECT agent_id FROM queue_cursors WHERE queue_id = ?", (queue_id,)
            ).fetchone()
        )
        return None if row is None else str(row[0])

    async def record_routing_decision(self, decision: RoutingDecision) -> None:
        await self._db.atomic(
            lambda db: db.execute(
                "INSERT INTO routing_decisions (id, conversation_id, decided_at, doc) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (
                    decision.id,
                    decision.conversation_id,
                    decision.decided_at.isoformat(),
                    _doc(decision),
                ),
            )
        )

    async def routing_decisions(self, conversation_id: str) -> Sequence[RoutingDecision]:
        return await self._db.atomic(
            lambda db: _load_all(
                RoutingDecision,
                db.execute(
                    "SELECT doc FROM routing_decisions WHERE conversation_id = ? "
                    "ORDER BY decided_at, id",
                    (conversation_id,),
                ).fetchall(),
            )
        )

    # --- presence and the agent's work (issue 6) ------------------------------------------------

    async def get_presence_settings(self) -> PresenceSettings:
        stored = await self._get(PresenceSettings, "presence_settings", "presence")
        return stored or PresenceSettings()

    async def put_presence_settings(self, settings: PresenceSettings) -> None:
        await self._put_doc("presence_settings", "presence", settings)

    async def change_presence(self, agent_id: str, change: PresenceUpdate) -> PresenceChange | None:
        def apply(db: sqlite3.Connection) -> PresenceChange | None:
            row = db.execute(
                self._AGENT_STATE_SQL + "WHERE a.id = ?", (*_HOLDING, agent_id)
            ).fetchone()
            if row is None:
                return None
            live = self._agent_state(row)
            stored = db.execute(
                "SELECT state FROM agent_presence WHERE agent_id = ?", (agent_id,)
            ).fetchone()
            state = PresenceState.model_validate_json(stored[0]) if stored and stored[0] else None
            new = change(state, live)
            if new is None:
                return PresenceChange(before=live.presence, after=live.presence, state=state)
            db.execute(
                "INSERT INTO agent_presence (agent_id, presence, state) VALUES (?, ?, ?) "
                "ON CONFLICT (agent_id) DO UPDATE SET presence = excluded.presence, "
                "state = excluded.state",
                (agent_id, new.presence, _doc(new)),
            )
            return PresenceChange(before=live.presence, after=new.presence, state=new)

        return await self._db.atomic(apply)

    async def add_consultant(
        self, item_id: str, primary_agent_id: str, consultant_id: str
    ) -> WorkItem | None:
        def add(db: sqlite3.Connection) -> WorkItem | None:
            item = _get_doc(db, WorkItem, "work_items", item_id)
            if (
                item is None
                or item.status not in AGENT_WORKING
                or item.agent_id != primary_agent_id
                or consultant_id == primary_agent_id
            ):
                return None
            if consultant_id in item.consultants:
                return item
            changed = item.model_copy(update={"consultants": (*item.consultants, consultant_id)})
            self._write_item(db, changed)
            db.execute(
                "INSERT INTO work_consultants (item_id, agent_id) VALUES (?, ?)",
                (item_id, consultant_id),
            )
            return changed

        return await self._db.atomic(add)

    async def remove_consultant(self, item_id: str, consultant_id: str) -> WorkItem | None:
        def remove(db: sqlite3.Connection) -> WorkItem | None:
            item = _get_doc(db, WorkItem, "work_items", item_id)
            if item is None or consultant_id not in item.consultants:
                return None
            changed = item.model_copy(
                update={"consultants": tuple(c for c in item.consultants if c != consultant_id)}
            )
            self._write_item(db, changed)
            db.execute(
                "DELETE FROM work_consultants WHERE item_id = ? AND agent_id = ?",
                (item_id, consultant_id),
            )
            return changed

        return await self._db.atomic(remove)

    async def consulted_items(self, agent_id: str) -> Sequence[WorkItem]:
        return await self._db.atomic(
            lambda db: _load_all(
                WorkItem,
                db.execute(
                    "SELECT w.doc FROM work_consultants c JOIN work_items w ON w.id = c.item_id "
                    "WHERE c.agent_id = ? AND w.status != 'closed' ORDER BY w.enqueued_at, w.id",
                    (agent_id,),
                ).fetchall(),
            )
        )

    @staticmethod
    def _release_to(
        db: sqlite3.Connection, item: WorkItem, changed: WorkItem, released_at: datetime | None
    ) -> WorkItem:
        """Write the item as it leaves its agent: its consultants are dismissed with it."""
        changed = changed.model_copy(update={"consultants": ()})
        SqliteStore._write_item(db, changed)
        db.execute("DELETE FROM work_consultants WHERE item_id = ?", (item.id,))
        if released_at is not None and item.agent_id is not None:
            db.execute(
                "UPDATE agent_presence SET released_at = ? WHERE agent_id = ?",
                (released_at.isoformat(), item.agent_id),
            )
        return changed

    @staticmethod
    def _active_with(db: sqlite3.Connection, item_id: str, agent_id: str) -> WorkItem | None:
        item = _get_doc(db, WorkItem, "work_items", item_id)
        if item is None or item.status != WorkItemStatus.ACTIVE or item.agent_id != agent_id:
            return None
        return item

    async def transfer_to_agent(
        self, item_id: str, from_agent_id: str, to_agent_id: str, now: datetime
    ) -> WorkItem | None:
        def transfer(db: sqlite3.Connection) -> WorkItem | None:
            item = self._active_with(db, item_id, from_agent_id)
            receiver = _get_doc(db, Agent, "agents", to_agent_id)
            if item is None or receiver is None or to_agent_id == from_agent_id:
                return None
            if self._used_capacity(db, to_agent_id) + item.capacity_units > receiver.max_capacity:
                return None
            return self._release_to(db, item, item.transferred_to_agent(to_agent_id, now), now)

        return await self._db.atomic(transfer)

    async def transfer_to_queue(
        self, item_id: str, from_agent_id: str, queue_id: str, now: datetime
    ) -> WorkItem | None:
        def transfer(db: sqlite3.Connection) -> WorkItem | None:
            item = self._active_with(db, item_id, from_agent_id)
            if item is None:
                return None
            return self._release_to(db, item, item.transferred_to_queue(queue_id, now), None)

        return await self._db.atomic(transfer)

    async def last_work_item(self, conversation_id: str) -> WorkItem | None:
        # A conversation's items follow one another: the latest arrival is the last one.
        return await self._db.atomic(
            lambda db: _load(
                WorkItem,
                db.execute(
                    "SELECT doc FROM work_items WHERE conversation_id = ? "
                    "ORDER BY status = 'closed', enqueued_at DESC, id DESC LIMIT 1",
                    (conversation_id,),
                ).fetchone(),
            )
        )

    # --- bots (issue 5) ------------------------------------------------------------------------

    async def escalate_bot_item(self, item_id: str, now: datetime) -> WorkItem | None:
        def escalate(db: sqlite3.Connection) -> WorkItem | None:
            item = _get_doc(db, WorkItem, "work_items", item_id)
            if item is None or item.status != WorkItemStatus.BOT:
                return None
            waiting = item.model_copy(update={"status": WorkItemStatus.WAITING, "enqueued_at": now})
            self._write_item(db, waiting)
            return waiting

        return await self._db.atomic(escalate)

    # --- outbound jobs ------------------------------------------------------------------------

    async def create_outbound_job(self, job: OutboundJob) -> tuple[OutboundJob, bool]:
        def create(db: sqlite3.Connection) -> tuple[OutboundJob, bool]:
            existing = _get_doc(db, OutboundJob, "outbound_jobs", job.id)
            if existing is not None:
                return existing, False
            db.execute("INSERT INTO outbound_jobs (id, doc) VALUES (?, ?)", (job.id, _doc(job)))
            return job, True

        return await self._db.atomic(create)

    async def get_outbound_job(self, job_id: str) -> OutboundJob | None:
        return await self._get(OutboundJob, "outbound_jobs", job_id)

    async def set_recipient(self, job_id: str, recipient: Recipient) -> OutboundJob | None:
        def update(db: sqlite3.Connection) -> OutboundJob | None:
            job = _get_doc(db, OutboundJob, "outbound_jobs", job_id)
            if job is None:
                return None
            changed = job.model_copy(
                update={
                    "recipients": tuple(
                        recipient if r.customer_id == recipient.customer_id else r
                        for r in job.recipients
                    )
                }
            )
            db.execute("UPDATE outbound_jobs SET doc = ? WHERE id = ?", (_doc(changed), job_id))
            return changed

        return await self._db.atomic(update)

    # --- sandbox outbox -----------------------------------------------------------------------

    async def record_sent_sms(self, sms: SentSms) -> None:
        await self._db.atomic(
            lambda db: db.execute(
                "INSERT INTO sent_sms (provider_message_id, sent_at, doc) VALUES (?, ?, ?) "
                "ON CONFLICT (provider_message_id) DO NOTHING",
                (sms.provider_message_id, sms.sent_at.isoformat(), _doc(sms)),
            )
        )

    async def list_sent_sms(self, *, limit: int) -> Sequence[SentSms]:
        return await self._db.atomic(
            lambda db: _load_all(
                SentSms,
                db.execute(
                    "SELECT doc FROM sent_sms ORDER BY sent_at DESC, provider_message_id LIMIT ?",
                    (limit,),
                ).fetchall(),
            )
        )

    # --- supervision and figures (issue 8) ------------------------------------------------------

    async def list_ongoing_conversations(
        self, *, after: str | None, limit: int
    ) -> Sequence[ConversationState]:
        rows = await self._db.atomic(
            lambda db: db.execute(
                "SELECT c.doc AS conversation, w.doc AS item FROM conversations c "
                "LEFT JOIN work_items w ON w.conversation_id = c.id AND w.status != 'closed' "
                "WHERE c.status = 'open' AND c.id > ? ORDER BY c.id LIMIT ?",
                (after or "", limit),
            ).fetchall()
        )
        return [
            ConversationState(
                conversation=Conversation.model_validate_json(row["conversation"]),
                item=None if row["item"] is None else WorkItem.model_validate_json(row["item"]),
            )
            for row in rows
        ]

    async def list_agent_states(self, *, after: str | None, limit: int) -> Sequence[AgentState]:
        return await self._db.atomic(
            lambda db: [
                self._agent_state(row)
                for row in db.execute(
                    self._AGENT_STATE_SQL + "WHERE a.id > ? ORDER BY a.id LIMIT ?",
                    (*_HOLDING, after or "", limit),
                ).fetchall()
            ]
        )

    async def items_alive(
        self, queue_id: str, start: datetime, end: datetime
    ) -> Sequence[WorkItem]:
        # julianday() compares instants whatever offset a timestamp was written with.
        return await self._db.atomic(
            lambda db: _load_all(
                WorkItem,
                db.execute(
                    "SELECT doc FROM work_items WHERE queue_id = ? "
                    "AND julianday(enqueued_at) < julianday(?) AND (status != 'closed' "
                    "OR julianday(json_extract(doc, '$.closed_at')) >= julianday(?)) "
                    "ORDER BY id",
                    (queue_id, end.isoformat(), start.isoformat()),
                ).fetchall(),
            )
        )

    async def put_day_figures(self, figures: Sequence[DayFigures]) -> None:
        await self._db.atomic(
            lambda db: db.executemany(
                "INSERT INTO day_figures (day, scope, key, doc) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (day, scope, key) DO UPDATE SET doc = excluded.doc",
                [(f.day.isoformat(), str(f.scope), f.key, _doc(f)) for f in figures],
            )
        )

    async def day_figures(self, day: date, scope: FigureScope) -> Sequence[DayFigures]:
        return await self._db.atomic(
            lambda db: _load_all(
                DayFigures,
                db.execute(
                    "SELECT doc FROM day_figures WHERE day = ? AND scope = ? ORDER BY key",
                    (day.isoformat(), str(scope)),
                ).fetchall(),
            )
        )

    async def figures_watermark(self) -> date | None:
        row = await self._db.atomic(
            lambda db: db.execute(
                "SELECT value FROM figures_state WHERE id = 'watermark'"
            ).fetchone()
        )
        return None if row is None else date.fromisoformat(row[0])

    async def set_figures_watermark(self, day: date) -> None:
        await self._db.atomic(
            lambda db: db.execute(
                "INSERT INTO figures_state (id, value) VALUES ('watermark', ?) "
                "ON CONFLICT (id) DO UPDATE SET value = excluded.value",
                (day.isoformat(),),
            )
        )

    async def get_sentiment_settings(self) -> SentimentSettings | None:
        return await self._get(SentimentSettings, "org_settings", "sentiment")

    async def put_sentiment_settings(self, settings: SentimentSettings) -> None:
        await self._put_doc("org_settings", "sentiment", settings)

    async def put_presence_span(self, day: date, span: PresenceSpan) -> None:
        await self._db.atomic(
            lambda db: db.execute(
                "INSERT INTO presence_spans (day, id, doc) VALUES (?, ?, ?) "
                "ON CONFLICT (day, id) DO UPDATE SET doc = excluded.doc",
                (day.isoformat(), span.id, _doc(span)),
            )
        )

    async def presence_spans(self, day: date) -> Sequence[PresenceSpan]:
        return await self._db.atomic(
            lambda db: _load_all(
                PresenceSpan,
                db.execute(
                    "SELECT doc FROM presence_spans WHERE day = ? ORDER BY id", (day.isoformat(),)
                ).fetchall(),
            )
        )

    # --- sentiment (issue 8), typing and identification by email (issue 7) ---------------------

    async def change_conversation_sentiment(
        self, conversation_id: str, change: SentimentUpdate
    ) -> Conversation | None:
        def apply(db: sqlite3.Connection) -> Conversation | None:
            current = _get_doc(db, Conversation, "conversations", conversation_id)
            if current is None:
                return None
            rolled = change(current.sentiment)
            if rolled is None:
                return current
            changed = current.model_copy(update={"sentiment": rolled})
            db.execute(
                "UPDATE conversations SET doc = ? WHERE id = ?", (_doc(changed), conversation_id)
            )
            return changed

        return await self._db.atomic(apply)

    async def set_typing(self, conversation_id: str, party: TypingParty, until: datetime) -> None:
        await self._db.atomic(
            lambda db: db.execute(
                "INSERT INTO typing (conversation_id, party, until) VALUES (?, ?, ?) "
                "ON CONFLICT (conversation_id, party) DO UPDATE SET until = excluded.until",
                (conversation_id, str(party), until.isoformat()),
            )
        )

    async def typing(self, conversation_id: str, now: datetime) -> frozenset[TypingParty]:
        rows = await self._db.atomic(
            lambda db: db.execute(
                "SELECT party FROM typing WHERE conversation_id = ? "
                "AND julianday(until) > julianday(?)",
                (conversation_id, now.isoformat()),
            ).fetchall()
        )
        return frozenset(TypingParty(row[0]) for row in rows)

    async def find_customers_by_email(self, email: str) -> Sequence[Customer]:
        return await self._db.atomic(
            lambda db: _load_all(
                Customer,
                db.execute(
                    "SELECT doc FROM customers WHERE email = ? ORDER BY id", (email.lower(),)
                ).fetchall(),
            )
        )
