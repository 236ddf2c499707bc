"""ConversationStore on SQLite: conversations, messages, sentiment and typing."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from shared.adapters.sqlite.tables import SqliteBase, doc_json, load_row, read_doc
from shared.domain.conversations import (
    ClosingReason,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Message,
    TypingParty,
)
from shared.domain.figures import ConversationState
from shared.domain.work import WorkItem
from shared.ports import SentimentUpdate


class SqliteConversations(SqliteBase):
    async def open_conversation(
        self, candidate: Conversation, *, reopen_closed_since: datetime | None = None
    ) -> tuple[Conversation, bool]:
        def find_reopen_or_create(db: sqlite3.Connection) -> tuple[Conversation, bool]:
            address = (candidate.channel_id, candidate.customer_address)
            existing = load_row(
                Conversation,
                db.execute(
                    "SELECT doc FROM conversations WHERE channel_id = ? "
                    "AND customer_address = ? AND status = 'open'",
                    address,
                ).fetchone(),
            )
            if existing is not None:
                return existing, False
            if reopen_closed_since is not None:
                last = load_row(
                    Conversation,
                    db.execute(
                        "SELECT doc FROM conversations WHERE channel_id = ? "
                        "AND customer_address = ? AND status = 'closed' "
                        "ORDER BY json_extract(doc, '$.closed_at') DESC LIMIT 1",
                        address,
                    ).fetchone(),
                )
                if last is not None and last.closed_at and last.closed_at >= reopen_closed_since:
                    return _write_conversation(db, last.reopened(candidate.opened_at)), False
            db.execute(
                "INSERT INTO conversations (id, channel_id, customer_address, status, doc) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    candidate.id,
                    candidate.channel_id,
                    candidate.customer_address,
                    candidate.status,
                    doc_json(candidate),
                ),
            )
            return candidate, True

        return await self._db.atomic(find_reopen_or_create)

    async def close_conversation(
        self, conversation_id: str, now: datetime, reason: ClosingReason
    ) -> Conversation | None:
        def close(db: sqlite3.Connection) -> Conversation | None:
            current = read_doc(db, Conversation, "conversations", conversation_id)
            if current is None or current.status != ConversationStatus.OPEN:
                return None
            return _write_conversation(db, current.closed(now, reason))

        return await self._db.atomic(close)

    async def reopen_conversation(self, conversation_id: str, now: datetime) -> Conversation | None:
        def reopen(db: sqlite3.Connection) -> Conversation | None:
            current = read_doc(db, Conversation, "conversations", conversation_id)
            if current is None or current.status != ConversationStatus.CLOSED:
                return None
            another_open = db.execute(
                "SELECT 1 FROM conversations WHERE channel_id = ? AND customer_address = ? "
                "AND status = 'open'",
                (current.channel_id, current.customer_address),
            ).fetchone()
            if another_open is not None:
                return None
            return _write_conversation(db, current.reopened(now))

        return await self._db.atomic(reopen)

    async def get_conversation(self, conversation_id: str) -> Conversation | None:
        return await self._get(Conversation, "conversations", conversation_id)

    async def get_conversations(self, conversation_ids: Sequence[str]) -> Sequence[Conversation]:
        ids = list(dict.fromkeys(conversation_ids))
        if not ids:
            return []
        found = await self._query(
            Conversation,
            "SELECT doc FROM conversations WHERE id IN "  # noqa: S608 (placeholders only)
            f"({','.join('?' for _ in ids)})",
            tuple(ids),
        )
        by_id = {conversation.id: conversation for conversation in found}
        return [by_id[i] for i in ids if i in by_id]

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
                    doc_json(stored),
                ),
            )
            return stored

        return await self._db.atomic(append)

    async def get_message(self, message_id: str) -> Message | None:
        return await self._get(Message, "messages", message_id)

    async def find_message_by_provider_id(self, provider_message_id: str) -> Message | None:
        return await self._query_one(
            Message,
            "SELECT doc FROM messages WHERE provider_message_id = ?",
            (provider_message_id,),
        )

    async def list_messages(
        self, conversation_id: str, *, after_sequence: int = 0, include_internal: bool
    ) -> Sequence[Message]:
        internal_filter = "" if include_internal else " AND internal = 0"
        return await self._query(
            Message,
            "SELECT doc FROM messages WHERE conversation_id = ? AND sequence > ?"  # noqa: S608
            + internal_filter
            + " ORDER BY sequence",
            (conversation_id, after_sequence),
        )

    async def set_message_delivery(
        self,
        message_id: str,
        status: DeliveryStatus,
        provider_message_id: str | None,
        error: str | None = None,
        *,
        unknown_status: str | None = None,
    ) -> Message | None:
        def update(db: sqlite3.Connection) -> Message | None:
            current = read_doc(db, Message, "messages", message_id)
            if current is None:
                return None
            changed = current.model_copy(
                update={
                    "status": status,
                    "provider_message_id": provider_message_id or current.provider_message_id,
                    "error": error,
                    "unknown_status": unknown_status,
                }
            )
            db.execute(
                "UPDATE messages SET provider_message_id = ?, doc = ? WHERE id = ?",
                (changed.provider_message_id, doc_json(changed), message_id),
            )
            return changed

        return await self._db.atomic(update)

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

    async def customer_conversations(
        self, customer_id: str, *, after: str | None, limit: int
    ) -> Sequence[Conversation]:
        return await self._query(
            Conversation,
            "SELECT doc FROM conversations WHERE json_extract(doc, '$.customer_id') = ? "
            "AND id > ? ORDER BY id LIMIT ?",
            (customer_id, after or "", limit),
        )

    async def change_conversation_sentiment(
        self, conversation_id: str, change: SentimentUpdate
    ) -> Conversation | None:
        def apply(db: sqlite3.Connection) -> Conversation | None:
            current = read_doc(db, Conversation, "conversations", conversation_id)
            if current is None:
                return None
            rolled = change(current.sentiment)
            if rolled is None:
                return current
            changed = current.model_copy(update={"sentiment": rolled})
            db.execute(
                "UPDATE conversations SET doc = ? WHERE id = ?",
                (doc_json(changed), conversation_id),
            )
            return changed

        return await self._db.atomic(apply)

    async def identify_customer(
        self, conversation_id: str, customer_id: str
    ) -> Conversation | None:
        def apply(db: sqlite3.Connection) -> Conversation | None:
            current = read_doc(db, Conversation, "conversations", conversation_id)
            if current is None:
                return None
            changed = current.identified_as(customer_id)
            db.execute(
                "UPDATE conversations SET doc = ? WHERE id = ?",
                (doc_json(changed), conversation_id),
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


def _write_conversation(db: sqlite3.Connection, conversation: Conversation) -> Conversation:
    db.execute(
        "UPDATE conversations SET status = ?, doc = ? WHERE id = ?",
        (conversation.status, doc_json(conversation), conversation.id),
    )
    return conversation
