"""The embedded work queue: durable in the SQLite file, with Service Bus's delivery semantics.

- At least once: a received message is leased for a visibility timeout; completed, it is
  deleted; abandoned or left to expire, it comes back with its delivery count raised.
- Ordered per session: only the oldest message of a session can be received, and only when no
  message of that session is leased, so one session is handled by one consumer at a time.
- Duplicate detection: a message id already seen on a queue is dropped on send.
- Dead letters: a message delivered `max_delivery_count` times without completion moves to
  dead_letters with the reason.
- Scheduled messages: a message sent with `not_before` is enqueued at that instant (its
  enqueued_at); until then it is neither received nor holds back the rest of its session.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from shared import telemetry
from shared.adapters.service_bus import application_properties
from shared.adapters.sqlite.database import SqliteDatabase


@dataclass(frozen=True)
class LeasedMessage:
    seq: int
    queue: str
    session_id: str | None
    message_id: str
    body: str
    delivery_count: int
    enqueued_at: float
    lease_token: str
    application_properties: dict[str, str]
    """What Service Bus would deliver besides the body: the body's type, the trace context."""


@dataclass(frozen=True)
class DeadLetter:
    queue: str
    session_id: str | None
    message_id: str | None
    body: str
    attempts: int
    reason: str
    application_properties: dict[str, str]


class LocalMessageBus:
    def __init__(
        self,
        database: SqliteDatabase,
        *,
        visibility_timeout: float = 30.0,
        max_delivery_count: int = 5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = database
        self.visibility_timeout = visibility_timeout
        self.max_delivery_count = max_delivery_count
        self._clock = clock
        # Set on each send in this process, so idle local consumers wake at once.
        self._arrivals: dict[str, asyncio.Event] = {}

    def _arrival(self, queue_name: str) -> asyncio.Event:
        return self._arrivals.setdefault(queue_name, asyncio.Event())

    async def wait_for_message(self, queue_name: str, max_wait: float) -> None:
        """Sleep until something is sent to `queue_name` in this process, or `max_wait`
        seconds pass; messages sent by other processes are found by the next poll."""
        arrival = self._arrival(queue_name)
        # asyncio.timeout, not wait_for: on Python 3.11, wait_for swallows a cancellation that
        # meets an arrival, and a consumer cancelled at shutdown then polls on for ever.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max_wait):
                await arrival.wait()
        arrival.clear()

    async def send(
        self,
        queue_name: str,
        body: str,
        *,
        session_id: str | None = None,
        message_id: str | None = None,
        not_before: datetime | None = None,
    ) -> None:
        with telemetry.publishing(queue_name, message_id=message_id) as trace_context:
            await self._insert(
                queue_name,
                body,
                session_id=session_id,
                message_id=message_id,
                not_before=not_before,
                properties=application_properties(queue_name, trace_context),
            )

    async def _insert(
        self,
        queue_name: str,
        body: str,
        *,
        session_id: str | None,
        message_id: str | None,
        not_before: datetime | None,
        properties: dict[str, str],
    ) -> None:
        now = self._clock()
        enqueue_at = now if not_before is None else max(now, _epoch_seconds(not_before))

        def insert(db: sqlite3.Connection) -> None:
            if message_id is not None:
                inserted = db.execute(
                    "INSERT INTO queue_seen_ids (queue, message_id, seen_at) VALUES (?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    (queue_name, message_id, now),
                ).rowcount
                if inserted == 0:
                    return
            db.execute(
                "INSERT INTO queue_messages (queue, session_id, message_id, body, enqueued_at, "
                "visible_at, application_properties) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    queue_name,
                    session_id,
                    message_id or uuid.uuid4().hex,
                    body,
                    enqueue_at,
                    enqueue_at,
                    json.dumps(properties),
                ),
            )

        await self._db.atomic(insert)
        if enqueue_at <= now:
            self._arrival(queue_name).set()
        else:  # wake this process's idle consumers at the instant, not at their next poll
            asyncio.get_running_loop().call_later(enqueue_at - now, self._arrival(queue_name).set)

    async def receive(self, queue_name: str) -> LeasedMessage | None:
        now = self._clock()
        token = uuid.uuid4().hex

        def lease(db: sqlite3.Connection) -> LeasedMessage | None:
            while True:
                row = db.execute(
                    "SELECT * FROM queue_messages m WHERE m.queue = ? AND m.visible_at <= ? "
                    "AND (m.leased_until IS NULL OR m.leased_until <= ?) "
                    "AND (m.session_id IS NULL OR NOT EXISTS (SELECT 1 FROM queue_messages o "
                    "WHERE o.queue = m.queue AND o.session_id = m.session_id AND o.seq != m.seq "
                    # An earlier message already enqueued, or any message of the session leased
                    # (a scheduled one can come due while a later one is in hand).
                    "AND ((o.seq < m.seq AND o.enqueued_at <= ?) OR o.leased_until > ?))) "
                    "ORDER BY m.seq LIMIT 1",
                    (queue_name, now, now, now, now),
                ).fetchone()
                if row is None:
                    return None
                if row["attempts"] >= self.max_delivery_count:
                    # Its last lease expired without completion: the handler keeps dying.
                    reason = row["last_error"] or "lease expired: maximum delivery count reached"
                    self._dead_letter(db, row, reason, now)
                    continue
                db.execute(
                    "UPDATE queue_messages SET attempts = attempts + 1, leased_until = ?, "
                    "lease_token = ? WHERE seq = ?",
                    (now + self.visibility_timeout, token, row["seq"]),
                )
                return LeasedMessage(
                    seq=row["seq"],
                    queue=row["queue"],
                    session_id=row["session_id"],
                    message_id=row["message_id"],
                    body=row["body"],
                    delivery_count=row["attempts"] + 1,
                    enqueued_at=row["enqueued_at"],
                    lease_token=token,
                    application_properties=_properties(row),
                )

        return await self._db.atomic(lease)

    async def complete(self, message: LeasedMessage) -> None:
        await self._db.atomic(
            lambda db: db.execute(
                "DELETE FROM queue_messages WHERE seq = ? AND lease_token = ?",
                (message.seq, message.lease_token),
            )
        )

    async def abandon(self, message: LeasedMessage, reason: str) -> None:
        """Give the message back after a failed attempt, or dead-letter it on the last one."""
        now = self._clock()

        def give_back(db: sqlite3.Connection) -> None:
            row = db.execute(
                "SELECT * FROM queue_messages WHERE seq = ? AND lease_token = ?",
                (message.seq, message.lease_token),
            ).fetchone()
            if row is None:
                return
            if row["attempts"] >= self.max_delivery_count:
                self._dead_letter(db, row, reason, now)
                return
            # A short, growing pause so a failing handler does not spin.
            retry_at = now + min(0.1 * 2 ** row["attempts"], 5.0)
            db.execute(
                "UPDATE queue_messages SET leased_until = NULL, lease_token = NULL, "
                "visible_at = ?, last_error = ? WHERE seq = ?",
                (retry_at, reason, message.seq),
            )

        await self._db.atomic(give_back)

    async def release_all_leases(self) -> int:
        """Make every leased message visible now. Only for a runtime that knows it is the sole
        consumer of this file, at start-up: the leases are its dead predecessor's."""
        return await self._db.atomic(
            lambda db: (
                db.execute(
                    "UPDATE queue_messages SET leased_until = NULL, lease_token = NULL "
                    "WHERE leased_until IS NOT NULL"
                ).rowcount
            )
        )

    async def pending_count(self, queue_name: str) -> int:
        return await self._db.atomic(
            lambda db: int(
                db.execute(
                    "SELECT COUNT(*) FROM queue_messages WHERE queue = ?", (queue_name,)
                ).fetchone()[0]
            )
        )

    async def dead_letters(self, queue_name: str) -> list[DeadLetter]:
        rows = await self._db.atomic(
            lambda db: db.execute(
                "SELECT * FROM dead_letters WHERE queue = ? ORDER BY seq", (queue_name,)
            ).fetchall()
        )
        return [
            DeadLetter(
                queue=row["queue"],
                session_id=row["session_id"],
                message_id=row["message_id"],
                body=row["body"],
                attempts=row["attempts"],
                reason=row["reason"],
                application_properties=_properties(row),
            )
            for row in rows
        ]

    @staticmethod
    def _dead_letter(db: sqlite3.Connection, row: sqlite3.Row, reason: str, now: float) -> None:
        db.execute(
            "INSERT INTO dead_letters (seq, queue, session_id, message_id, body, attempts, "
            "reason, dead_at, application_properties) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row["seq"],
                row["queue"],
                row["session_id"],
                row["message_id"],
                row["body"],
                row["attempts"],
                reason,
                now,
                row["application_properties"],
            ),
        )
        db.execute("DELETE FROM queue_messages WHERE seq = ?", (row["seq"],))
        # Service Bus's own DeadletteredMessages metric plays this part in Azure.
        telemetry.record_dead_letter(row["queue"])


def _properties(row: sqlite3.Row) -> dict[str, str]:
    """A row's application properties; a message stored before they were kept has its
    queue's plain ones."""
    stored = row["application_properties"]
    if stored is None:
        return application_properties(row["queue"])
    return {str(k): str(v) for k, v in json.loads(stored).items()}


def _epoch_seconds(instant: datetime) -> float:
    if instant.tzinfo is None:
        raise ValueError("not_before must be timezone-aware")
    return instant.timestamp()
