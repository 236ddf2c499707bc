"""One SQLite file (WAL) shared by the embedded store and the embedded work queue.

All statements of one process run on one connection in one worker thread, so the event loop
never blocks on disk. Each atomic operation is one `BEGIN IMMEDIATE` transaction: it takes the
write lock up front, so several processes on one file serialize instead of failing mid-way.
The schema is created and migrated here, by version number, when the database is opened.

Durability: a commit waits for the disk (`synchronous=FULL`: the WAL is fsynced) unless it is
made inside `recoverable_commits()`, which the local runtime's queue consumers and timers use:
what they write, a redelivery or the next run redoes, so their commits need only survive a
process crash (`synchronous=NORMAL`; WAL keeps every committed transaction then). A power
loss may drop the last of those, never one before a later FULL commit (the WAL is one
sequence, synced up to that commit): anything acknowledged to a caller over HTTP, such as a
provider message put on the inbound queue before its webhook's 2xx, is a FULL commit and makes
all earlier ones durable with it. Each fsync costs ~0.2 ms here; a first inbound SMS makes
about 33 commits (bench/README.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from pathlib import Path
from typing import TypeVar

from shared.domain.customers import name_key

T = TypeVar("T")

_RECOVERABLE: ContextVar[bool] = ContextVar("sqlite_commits_recoverable", default=False)


@contextlib.contextmanager
def recoverable_commits() -> Iterator[None]:
    """Commits made inside (in this task, and tasks it starts) need not wait for the disk:
    for work that is redone if lost (queue deliveries, timers). See the module's docstring."""
    token = _RECOVERABLE.set(True)
    try:
        yield
    finally:
        _RECOVERABLE.reset(token)


# The parties a work item's row makes to its conversation (its queue; its agent once the work
# is accepted), kept by the triggers on every write of the row: the search migration creates
# them, the clustered work items' migration again on the new table.
_PARTIES_OF_NEW_ITEM = """
        INSERT INTO conversation_parties SELECT 'queue:' || new.queue_id, new.conversation_id
            WHERE NOT EXISTS (SELECT 1 FROM conversation_parties
                WHERE party = 'queue:' || new.queue_id AND conversation_id = new.conversation_id);
        INSERT INTO conversation_parties SELECT 'agent:' || new.agent_id, new.conversation_id
            WHERE new.agent_id IS NOT NULL AND new.status IN ('active', 'wrap_up')
            AND NOT EXISTS (SELECT 1 FROM conversation_parties
                WHERE party = 'agent:' || new.agent_id AND conversation_id = new.conversation_id);
"""

# Each entry migrates from version N to N+1. Append only: a released entry never changes.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE channels (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
    CREATE TABLE channel_addresses (
        kind TEXT NOT NULL, address TEXT NOT NULL, channel_id TEXT NOT NULL,
        PRIMARY KEY (kind, address));
    CREATE TABLE workstreams (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
    CREATE TABLE queues (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
    CREATE TABLE rules (
        id TEXT PRIMARY KEY, workstream_id TEXT NOT NULL, ord INTEGER NOT NULL,
        doc TEXT NOT NULL);
    CREATE INDEX rules_by_workstream ON rules (workstream_id, ord);
    CREATE TABLE agents (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
    CREATE TABLE agent_queues (
        agent_id TEXT NOT NULL, queue_id TEXT NOT NULL, PRIMARY KEY (queue_id, agent_id));
    CREATE TABLE agent_presence (
        agent_id TEXT PRIMARY KEY, presence TEXT NOT NULL, last_assigned_at TEXT);
    CREATE TABLE customers (
        id TEXT PRIMARY KEY, mobile_phone TEXT, account_phone TEXT, doc TEXT NOT NULL);
    CREATE INDEX customers_by_mobile ON customers (mobile_phone);
    CREATE INDEX customers_by_account_phone ON customers (account_phone);
    CREATE TABLE conversations (
        id TEXT PRIMARY KEY, channel_id TEXT NOT NULL, customer_address TEXT NOT NULL,
        status TEXT NOT NULL, doc TEXT NOT NULL);
    CREATE UNIQUE INDEX one_open_conversation
        ON conversations (channel_id, customer_address) WHERE status = 'open';
    CREATE TABLE messages (
        id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, sequence INTEGER NOT NULL,
        provider_message_id TEXT, internal INTEGER NOT NULL, doc TEXT NOT NULL,
        UNIQUE (conversation_id, sequence));
    CREATE UNIQUE INDEX messages_by_provider_id ON messages (provider_message_id)
        WHERE provider_message_id IS NOT NULL;
    CREATE TABLE work_items (
        id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, queue_id TEXT NOT NULL,
        status TEXT NOT NULL, agent_id TEXT, priority INTEGER NOT NULL,
        capacity_units INTEGER NOT NULL, enqueued_at TEXT NOT NULL, doc TEXT NOT NULL);
    CREATE UNIQUE INDEX one_unclosed_item ON work_items (conversation_id)
        WHERE status != 'closed';
    CREATE INDEX waiting_by_queue ON work_items (queue_id, status, priority, enqueued_at);
    CREATE INDEX items_by_agent ON work_items (agent_id, status);
    CREATE TABLE templates (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
    CREATE TABLE sms_consent (
        address TEXT PRIMARY KEY, opted_out INTEGER NOT NULL, changed_at TEXT NOT NULL);
    CREATE TABLE outbound_jobs (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
    CREATE TABLE sent_sms (
        provider_message_id TEXT PRIMARY KEY, sent_at TEXT NOT NULL, doc TEXT NOT NULL);
    CREATE TABLE queue_messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, session_id TEXT,
        message_id TEXT, body TEXT NOT NULL, enqueued_at REAL NOT NULL,
        visible_at REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
        leased_until REAL, lease_token TEXT, last_error TEXT);
    CREATE INDEX queue_ready ON queue_messages (queue, seq);
    CREATE INDEX queue_sessions ON queue_messages (queue, session_id, seq);
    CREATE TABLE queue_seen_ids (
        queue TEXT NOT NULL, message_id TEXT NOT NULL, seen_at REAL NOT NULL,
        PRIMARY KEY (queue, message_id));
    CREATE TABLE dead_letters (
        seq INTEGER PRIMARY KEY, queue TEXT NOT NULL, session_id TEXT, message_id TEXT,
        body TEXT NOT NULL, attempts INTEGER NOT NULL, reason TEXT NOT NULL,
        dead_at REAL NOT NULL);
    """,
    # Unified routing: when an agent last released work (idle since), each queue's
    # round-robin cursor, lapsed-offer lookups, and the routing decisions kept for diagnostics.
    """
    ALTER TABLE agent_presence ADD COLUMN released_at TEXT;
    CREATE TABLE queue_cursors (queue_id TEXT PRIMARY KEY, agent_id TEXT NOT NULL);
    CREATE INDEX items_by_status ON work_items (status);
    CREATE TABLE routing_decisions (
        id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, decided_at TEXT NOT NULL,
        doc TEXT NOT NULL);
    CREATE INDEX decisions_by_conversation ON routing_decisions (conversation_id, decided_at);
    """,
    # Presence and the agent's work: each agent's stored presence state, the admin's
    # presence settings, who consults on which item, and the item a conversation closed last.
    """
    ALTER TABLE agent_presence ADD COLUMN state TEXT;
    CREATE TABLE presence_settings (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
    CREATE TABLE work_consultants (
        item_id TEXT NOT NULL, agent_id TEXT NOT NULL, PRIMARY KEY (agent_id, item_id));
    CREATE INDEX items_by_conversation ON work_items (conversation_id, status);
    """,
    # Supervision and figures: ongoing conversations by id, a queue's items by close
    # time (the aggregates timer reads one day's), the stored daily figures and the timer's
    # watermark.
    """
    CREATE INDEX conversations_by_status ON conversations (status, id);
    CREATE INDEX items_by_close ON work_items (
        queue_id, julianday(json_extract(doc, '$.closed_at')));
    CREATE TABLE day_figures (
        day TEXT NOT NULL, scope TEXT NOT NULL, key TEXT NOT NULL, doc TEXT NOT NULL,
        PRIMARY KEY (day, scope, key));
    CREATE TABLE figures_state (id TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # Chat: customers found by email (lower-cased), and who is typing until when.
    """
    ALTER TABLE customers ADD COLUMN email TEXT;
    CREATE INDEX customers_by_email ON customers (email);
    CREATE TABLE typing (
        conversation_id TEXT NOT NULL, party TEXT NOT NULL, until TEXT NOT NULL,
        PRIMARY KEY (conversation_id, party));
    """,
    # Time per presence: ended presence spans, a piece per local day; and the
    # organization's settings an admin switches at run time (sentiment).
    """
    CREATE TABLE presence_spans (
        day TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (day, id));
    CREATE TABLE org_settings (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
    """,
    # A customer's conversations, open or closed, for supervisors' history.
    """
    CREATE INDEX conversations_by_customer
        ON conversations (json_extract(doc, '$.customer_id'), id);
    """,
    # The embedded bus keeps each message's application properties (JSON), as Service Bus
    # does: the trace context a consumer continues, kept on a dead letter too.
    """
    ALTER TABLE queue_messages ADD COLUMN application_properties TEXT;
    ALTER TABLE dead_letters ADD COLUMN application_properties TEXT;
    """,
    # Customers and conversation search (shared/domain/search.py): customers by name and
    # merged records left out; a conversation's searchable fields beside it (opening instant
    # in epoch ms, and `num`, its INTEGER PRIMARY KEY, which VACUUM keeps), every queue and
    # agent its work had, and its messages' words in FTS5 (notes in their own table), each fed
    # by triggers so no writer can forget them (the bench's bulk path included). A message's
    # FTS5 rowid is its conversation's num << 24 | its sequence: a conversation's messages are
    # one rowid range, and a match names its conversation without a lookup. Triggers test for
    # a row before adding it: an outer upsert's conflict clause would override their own.
    f"""
    ALTER TABLE customers ADD COLUMN name_key TEXT;
    ALTER TABLE customers ADD COLUMN merged_into TEXT;
    UPDATE customers SET name_key = name_key(json_extract(doc, '$.display_name'));
    CREATE TABLE conversation_search (
        num INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, opened_ms INTEGER NOT NULL,
        customer_id TEXT, customer_address TEXT NOT NULL, channel TEXT NOT NULL,
        status TEXT NOT NULL);
    CREATE INDEX search_by_opened ON conversation_search (opened_ms DESC, id DESC);
    CREATE INDEX search_by_customer ON conversation_search (customer_id, opened_ms DESC, id DESC);
    CREATE INDEX search_by_address
        ON conversation_search (customer_address, opened_ms DESC, id DESC);
    CREATE TRIGGER conversation_search_on_insert AFTER INSERT ON conversations BEGIN
        INSERT INTO conversation_search
            (id, opened_ms, customer_id, customer_address, channel, status)
        VALUES (new.id,
            CAST(round((julianday(json_extract(new.doc, '$.opened_at')) - 2440587.5)
                * 86400000) AS INTEGER),
            json_extract(new.doc, '$.customer_id'), new.customer_address,
            json_extract(new.doc, '$.channel'), new.status);
    END;
    CREATE TRIGGER conversation_search_on_update AFTER UPDATE ON conversations BEGIN
        UPDATE conversation_search SET customer_id = json_extract(new.doc, '$.customer_id'),
            status = new.status WHERE id = new.id;
    END;
    INSERT INTO conversation_search (id, opened_ms, customer_id, customer_address, channel, status)
        SELECT id,
            CAST(round((julianday(json_extract(doc, '$.opened_at')) - 2440587.5)
                * 86400000) AS INTEGER),
            json_extract(doc, '$.customer_id'), customer_address,
            json_extract(doc, '$.channel'), status
        FROM conversations ORDER BY rowid;
    CREATE TABLE conversation_parties (
        party TEXT NOT NULL, conversation_id TEXT NOT NULL,
        PRIMARY KEY (party, conversation_id)) WITHOUT ROWID;
    CREATE TRIGGER conversation_parties_on_item_insert AFTER INSERT ON work_items
    BEGIN {_PARTIES_OF_NEW_ITEM} END;
    CREATE TRIGGER conversation_parties_on_item_update AFTER UPDATE ON work_items
    BEGIN {_PARTIES_OF_NEW_ITEM} END;
    INSERT OR IGNORE INTO conversation_parties
        SELECT 'queue:' || queue_id, conversation_id FROM work_items;
    INSERT OR IGNORE INTO conversation_parties
        SELECT 'agent:' || agent_id, conversation_id FROM work_items
        WHERE agent_id IS NOT NULL AND status IN ('active', 'wrap_up', 'closed');
    CREATE VIRTUAL TABLE message_words USING fts5(
        text, content = '', tokenize = 'unicode61 remove_diacritics 2');
    CREATE VIRTUAL TABLE note_words USING fts5(
        text, content = '', tokenize = 'unicode61 remove_diacritics 2');
    CREATE TRIGGER message_words_on_insert AFTER INSERT ON messages
    WHEN new.internal = 0 AND new.sequence < 16777216 BEGIN
        INSERT INTO message_words (rowid, text)
            SELECT (s.num << 24) | new.sequence, json_extract(new.doc, '$.text')
            FROM conversation_search s WHERE s.id = new.conversation_id;
    END;
    CREATE TRIGGER note_words_on_insert AFTER INSERT ON messages
    WHEN new.internal != 0 AND new.sequence < 16777216 BEGIN
        INSERT INTO note_words (rowid, text)
            SELECT (s.num << 24) | new.sequence, json_extract(new.doc, '$.text')
            FROM conversation_search s WHERE s.id = new.conversation_id;
    END;
    INSERT INTO message_words (rowid, text)
        SELECT (s.num << 24) | m.sequence, json_extract(m.doc, '$.text')
        FROM messages m JOIN conversation_search s ON s.id = m.conversation_id
        WHERE m.internal = 0 AND m.sequence < 16777216;
    INSERT INTO note_words (rowid, text)
        SELECT (s.num << 24) | m.sequence, json_extract(m.doc, '$.text')
        FROM messages m JOIN conversation_search s ON s.id = m.conversation_id
        WHERE m.internal != 0 AND m.sequence < 16777216;
    """,  # noqa: S608 (a constant of this module, not input)
    # Quick replies, searched within a workstream; and when the customer last read each
    # conversation (chat).
    """
    CREATE TABLE quick_replies (
        id TEXT PRIMARY KEY, workstream_id TEXT NOT NULL, search TEXT NOT NULL,
        doc TEXT NOT NULL);
    CREATE INDEX quick_replies_by_workstream ON quick_replies (workstream_id, id);
    CREATE TABLE customer_read_marks (
        conversation_id TEXT PRIMARY KEY, read_at TEXT NOT NULL);
    """,
    # After the conversation: an address's latest conversation (an SMS survey's answer), and
    # CSAT answers by the instant answered (the figures' fold reads a day's).
    """
    CREATE INDEX conversations_by_address ON conversations (channel_id, customer_address);
    CREATE TABLE csat_facts (
        conversation_id TEXT PRIMARY KEY, answered_at INTEGER NOT NULL, doc TEXT NOT NULL);
    CREATE INDEX csat_facts_by_time ON csat_facts (answered_at);
    """,
    # A queue's waiting work in routing order (priority, then age, then id) straight off the
    # index: the routing cycle reads it without a sort. It serves every query the old
    # (queue_id, status, ...) index did, which goes: one index fewer for each assignment to
    # update.
    """
    CREATE INDEX waiting_in_order
        ON work_items (queue_id, status, priority DESC, enqueued_at, id);
    DROP INDEX waiting_by_queue;
    """,
    # Fewer index entries for each assignment to write (bench/README.md, routing): the
    # expression of items_by_close parsed the item's document on every write and served no
    # query (the one reading a queue's items by close time uses only its queue_id prefix,
    # which waiting_in_order has); items_by_status moved every assigned item's entry across
    # the index, where its two queries want only waiting and offered items: partial indexes
    # of those, which an assignment touches once (waiting) or never (offered).
    """
    DROP INDEX items_by_close;
    DROP INDEX items_by_status;
    CREATE INDEX queues_waiting ON work_items (queue_id) WHERE status = 'waiting';
    CREATE INDEX items_offered ON work_items (id) WHERE status = 'offered';
    """,
    # Fewer pages written for each assignment (bench/README.md, routing, third pass): a routing
    # cycle gives out one queue's oldest items, so the items are stored clustered by queue and
    # arrival (the rows of a cycle share pages instead of one page each), found by id through
    # a unique index; an item's conversation index no longer carries its status (an
    # assignment moved that entry; a conversation has few items), and the agents' index holds
    # only items with an agent (waiting items no longer sit in it under NULL). One unclosed
    # item a conversation is kept by a unique index on a column written only when an item
    # opens or closes (NULL once closed; NULLs are distinct), not by a partial index on the
    # status, which every assignment rewrote. Decisions are appended (rowid order) and indexed
    # by conversation, the one way they are read, which also keeps each once: two trees
    # instead of three (the random id's own index is gone). Dropping the old table drops its
    # triggers; they are created again, unchanged.
    f"""
    CREATE TABLE work_items_clustered (
        id TEXT NOT NULL, conversation_id TEXT NOT NULL, queue_id TEXT NOT NULL,
        status TEXT NOT NULL, agent_id TEXT, priority INTEGER NOT NULL,
        capacity_units INTEGER NOT NULL, enqueued_at TEXT NOT NULL, doc TEXT NOT NULL,
        open_conversation_id TEXT,
        PRIMARY KEY (queue_id, enqueued_at, id)) WITHOUT ROWID;
    INSERT INTO work_items_clustered
        SELECT id, conversation_id, queue_id, status, agent_id, priority, capacity_units,
            enqueued_at, doc, CASE WHEN status != 'closed' THEN conversation_id END
        FROM work_items;
    DROP TABLE work_items;
    ALTER TABLE work_items_clustered RENAME TO work_items;
    CREATE UNIQUE INDEX items_by_id ON work_items (id);
    CREATE UNIQUE INDEX one_unclosed_item ON work_items (open_conversation_id);
    CREATE INDEX items_by_conversation ON work_items (conversation_id);
    CREATE INDEX items_by_agent ON work_items (agent_id, status) WHERE agent_id IS NOT NULL;
    CREATE INDEX waiting_in_order
        ON work_items (queue_id, status, priority DESC, enqueued_at, id);
    CREATE INDEX queues_waiting ON work_items (queue_id) WHERE status = 'waiting';
    CREATE INDEX items_offered ON work_items (id) WHERE status = 'offered';
    CREATE TRIGGER conversation_parties_on_item_insert AFTER INSERT ON work_items
    BEGIN {_PARTIES_OF_NEW_ITEM} END;
    CREATE TRIGGER conversation_parties_on_item_update AFTER UPDATE ON work_items
    BEGIN {_PARTIES_OF_NEW_ITEM} END;
    CREATE TABLE routing_decisions_appended (
        conversation_id TEXT NOT NULL, decided_at TEXT NOT NULL, id TEXT NOT NULL,
        doc TEXT NOT NULL);
    INSERT INTO routing_decisions_appended
        SELECT conversation_id, decided_at, id, doc FROM routing_decisions ORDER BY rowid;
    DROP TABLE routing_decisions;
    ALTER TABLE routing_decisions_appended RENAME TO routing_decisions;
    CREATE UNIQUE INDEX decisions_by_conversation
        ON routing_decisions (conversation_id, decided_at, id);
    """,  # noqa: S608 (a constant of this module, not input)
)


def statements(script: str) -> list[str]:
    """A migration's statements, one each. Split at each ';' that ends a complete statement
    (sqlite3.complete_statement), so a trigger's body, whose statements end in ';' too, stays
    whole. Not executescript: it commits, and a migration is one transaction."""
    found: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                found.append(pending.strip())
            pending = ""
    if pending.strip(" \n;"):
        found.append(pending.strip())
    return found


class SqliteDatabase:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._connection: sqlite3.Connection | None = None
        self._synchronous = "FULL"
        """The connection's setting now (changed only on the database thread)."""

    async def open(self) -> None:
        await self.run(self._open_and_migrate)

    def _open_and_migrate(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        connection.row_factory = sqlite3.Row
        # The name search key as the domain defines it, for the migration that adds it.
        connection.create_function("name_key", 1, name_key, deterministic=True)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA busy_timeout=30000")
        self._connection = connection
        with self.transaction() as db:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            for step in MIGRATIONS[version:]:
                for statement in statements(step):
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")

    def transaction(self) -> _Transaction:
        if self._connection is None:
            raise RuntimeError("database is not open")
        return _Transaction(self._connection)

    async def run(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)

    async def atomic(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` in one write transaction on the database thread; its commit waits for
        the disk unless the caller is inside `recoverable_commits()`."""
        synchronous = "NORMAL" if _RECOVERABLE.get() else "FULL"

        def in_transaction() -> T:
            if synchronous != self._synchronous:
                assert self._connection is not None
                self._connection.execute(f"PRAGMA synchronous={synchronous}")
                self._synchronous = synchronous
            with self.transaction() as db:
                return work(db)

        return await self.run(in_transaction)

    async def close(self) -> None:
        def close_connection() -> None:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

        await self.run(close_connection)
        self._executor.shutdown(wait=True)


class _Transaction:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def __enter__(self) -> sqlite3.Connection:
        self._connection.execute("BEGIN IMMEDIATE")
        return self._connection

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._connection.execute("COMMIT" if exc_type is None else "ROLLBACK")
