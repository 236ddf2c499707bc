"""WorkItemStore on SQLite: work items through queues, offers, assignment and close."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from shared.adapters.sqlite.tables import (
    HOLDING_PLACEHOLDERS,
    HOLDING_STATUSES,
    SqliteBase,
    doc_json,
    load_row,
    parse_work_item,
    read_doc,
    record_decisions,
)
from shared.domain.routing_config import Agent
from shared.domain.work import PlannedAssignment, WorkItem, WorkItemStatus


class SqliteWorkItems(SqliteBase):
    @staticmethod
    def _open_item(db: sqlite3.Connection, conversation_id: str) -> WorkItem | None:
        return load_row(
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
            lambda db: [
                parse_work_item(row[0])
                for row in db.execute(
                    "SELECT doc FROM work_items WHERE queue_id = ? AND status = 'waiting' "
                    "ORDER BY priority DESC, enqueued_at, id LIMIT ?",
                    (queue_id, limit),
                )
            ]
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
        # The cursor is written whatever the queue's method: in the same transaction, free.
        def assign_in_transaction(db: sqlite3.Connection) -> WorkItem | None:
            item = read_doc(db, WorkItem, "work_items", item_id)
            agent = read_doc(db, Agent, "agents", agent_id)
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

    async def assign_batch(
        self,
        planned: Sequence[PlannedAssignment],
        now: datetime,
        *,
        round_robin: bool | None = None,
    ) -> list[WorkItem]:
        if not planned:
            return []

        # One transaction for the cycle: three reads for every item and agent in it, then the
        # writes as executemany. What `assign` checks per item is checked here in order, the
        # capacity each assignment takes counted for the ones after it.
        def assign_in_transaction(db: sqlite3.Connection) -> list[WorkItem]:
            item_ids = list(dict.fromkeys(p.item_id for p in planned))
            agent_ids = list(dict.fromkeys(p.agent_id for p in planned))
            # By primary key only: a status condition here lets the planner walk every
            # waiting item by the status index instead.
            items = {
                row[0]: row[2]
                for row in db.execute(
                    "SELECT id, status, doc FROM work_items "  # noqa: S608
                    f"WHERE id IN ({','.join('?' * len(item_ids))})",
                    item_ids,
                )
                if row[1] == WorkItemStatus.WAITING
            }
            agent_marks = ",".join("?" * len(agent_ids))
            room = {
                row[0]: int(row[1])
                for row in db.execute(
                    "SELECT id, json_extract(doc, '$.max_capacity') FROM agents "  # noqa: S608
                    f"WHERE id IN ({agent_marks})",
                    agent_ids,
                )
            }
            for agent_id, used in db.execute(
                "SELECT agent_id, SUM(capacity_units) FROM work_items "  # noqa: S608
                f"WHERE agent_id IN ({agent_marks}) AND status IN ({HOLDING_PLACEHOLDERS}) "
                "GROUP BY agent_id",
                (*agent_ids, *HOLDING_STATUSES),
            ):
                room[agent_id] -= int(used)
            given: list[WorkItem] = []
            for plan in planned:
                doc = items.pop(plan.item_id, None)  # popped: an item is given once
                if doc is None or plan.agent_id not in room:
                    break
                item = parse_work_item(doc)
                if item.capacity_units > room[plan.agent_id]:
                    break
                room[plan.agent_id] -= item.capacity_units
                given.append(item.given_to(plan.agent_id, now, plan.offer_until))
            if not given:
                return given
            db.executemany(
                "UPDATE work_items SET status = ?, agent_id = ?, doc = ? WHERE id = ?",
                [(g.status, g.agent_id, doc_json(g), g.id) for g in given],
            )
            db.executemany(
                "UPDATE agent_presence SET last_assigned_at = ? WHERE agent_id = ?",
                [
                    (now.isoformat(), agent_id)
                    for agent_id in dict.fromkeys(g.agent_id for g in given)
                ],
            )
            if round_robin is not False:  # each queue's cursor: its last agent given work
                db.executemany(
                    "INSERT INTO queue_cursors (queue_id, agent_id) VALUES (?, ?) "
                    "ON CONFLICT (queue_id) DO UPDATE SET agent_id = excluded.agent_id",
                    list({g.queue_id: g.agent_id for g in given}.items()),
                )
            record_decisions(db, (p.decision for p in planned[: len(given)]))
            return given

        return await self._db.atomic(assign_in_transaction)

    async def agent_items(self, agent_id: str) -> Sequence[WorkItem]:
        return await self._query(
            WorkItem,
            "SELECT doc FROM work_items WHERE agent_id = ? AND status != 'closed' "
            "ORDER BY enqueued_at, id",
            (agent_id,),
        )

    async def wrap_up_work_item(
        self, item_id: str, now: datetime | None = None, *, agent_id: str | None = None
    ) -> WorkItem | None:
        def wrap_up(db: sqlite3.Connection) -> WorkItem | None:
            item = read_doc(db, WorkItem, "work_items", item_id)
            if item is None or item.status != WorkItemStatus.ACTIVE:
                return None
            if agent_id is not None and item.agent_id != agent_id:
                return None
            changed = item.model_copy(update={"status": WorkItemStatus.WRAP_UP, "wrap_up_at": now})
            self._write_item(db, changed)
            return changed

        return await self._db.atomic(wrap_up)

    @staticmethod
    def _offered_to(db: sqlite3.Connection, item_id: str, agent_id: str) -> WorkItem | None:
        item = read_doc(db, WorkItem, "work_items", item_id)
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
        return await self._query(
            WorkItem,
            # The status as a literal: a partial index (items_offered) serves only a query
            # whose condition is its own.
            "SELECT doc FROM work_items WHERE status = 'offered' ORDER BY id",
            (),
        )

    async def close_work_item(
        self, item_id: str, now: datetime, *, agent_id: str | None = None
    ) -> WorkItem | None:
        def close(db: sqlite3.Connection) -> WorkItem | None:
            item = read_doc(db, WorkItem, "work_items", item_id)
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
            item = read_doc(db, WorkItem, "work_items", item_id)
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

    async def last_work_item(self, conversation_id: str) -> WorkItem | None:
        # A conversation's items follow one another: the latest arrival is the last one.
        return await self._query_one(
            WorkItem,
            "SELECT doc FROM work_items WHERE conversation_id = ? "
            "ORDER BY status = 'closed', enqueued_at DESC, id DESC LIMIT 1",
            (conversation_id,),
        )

    async def escalate_bot_item(self, item_id: str, now: datetime) -> WorkItem | None:
        def escalate(db: sqlite3.Connection) -> WorkItem | None:
            item = read_doc(db, WorkItem, "work_items", item_id)
            if item is None or item.status != WorkItemStatus.BOT:
                return None
            waiting = item.model_copy(update={"status": WorkItemStatus.WAITING, "enqueued_at": now})
            self._write_item(db, waiting)
            return waiting

        return await self._db.atomic(escalate)

    async def items_alive(
        self, queue_id: str, start: datetime, end: datetime
    ) -> Sequence[WorkItem]:
        # julianday() compares instants whatever offset a timestamp was written with.
        return await self._query(
            WorkItem,
            "SELECT doc FROM work_items WHERE queue_id = ? "
            "AND julianday(enqueued_at) < julianday(?) AND (status != 'closed' "
            "OR julianday(json_extract(doc, '$.closed_at')) >= julianday(?)) "
            "ORDER BY id",
            (queue_id, end.isoformat(), start.isoformat()),
        )
