"""Conversation search at a million messages on the SQLite store (shared/adapters/sqlite/search.py).

Seeds 100,000 conversations of 10 messages each (1,000,000 messages) over 60 days, 20,000
customers, 20 queues and 200 agents, with one closed work item per conversation, by
`executemany` straight into the tables in one transaction: the migration's triggers fill the
search projection, the parties and the FTS5 index as they do for every writer. Messages are
drawn from a 5,000-word vocabulary (Zipf-like: a few words are in most conversations), and
one in 1,000 conversations carries an order number only it has.

Then measures, through the store's `search_conversations` (the adapter's real path: its query
on the database thread, the rows loaded as records), p50 and p99 of:
- a rare word (an order number), a common word, and two words together (text: FTS5);
- a customer's conversations (customer index), and a number's;
- filters only (channel, status and queue over a 30-day range);
- an agent's scope (its own and its two queues') with a word.
Each page is 50 conversations, newest first.

Baselines, measured in the same run on the same file:
- a primary-key read of one conversation (`get_conversation`): the floor of any store read;
- the rare-word query done without the index, as a LIKE scan over the messages' text: what
  FTS5 replaces.
Prints each search's ratio to the primary-key read, and the scan's to the indexed search.

Run: `make bench-search` (or `python -m bench.search [--conversations 100000]`; part of
`make bench`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shared.adapters.sqlite.database import SqliteDatabase
from shared.adapters.sqlite.store import SqliteStore
from shared.domain.channels import ChannelKind
from shared.domain.conversations import ConversationStatus
from shared.domain.search import ConversationQuery, agent_party, queue_party

MESSAGES_PER_CONVERSATION = 10
CUSTOMERS = 20_000
QUEUES = 20
AGENTS = 200
DAYS = 60
VOCABULARY = 5_000
PAGE = 50
RUNS = 200
SCAN_RUNS = 5
T_END = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)


def vocabulary(rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words: set[str] = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(3, 9))))
    return sorted(words)


def seed(db_path: Path, conversations: int, rng: random.Random) -> dict[str, Any]:
    """The data, straight into the tables (the triggers index it); returns what the
    queries ask for."""
    import sqlite3

    words = vocabulary(rng)
    weights = [1 / (rank + 1) for rank in range(len(words))]
    connection = sqlite3.connect(db_path, isolation_level=None)
    # Seeding only: the benchmark's data need not survive a power cut.
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("BEGIN")
    conversation_rows = []
    item_rows = []
    message_rows = []
    rare: list[str] = []
    customers = [f"cust-{n:05d}" for n in range(CUSTOMERS)]
    span = timedelta(days=DAYS).total_seconds()
    for n in range(conversations):
        conversation_id = f"conv-{n:07d}"
        customer = customers[n % CUSTOMERS]
        number = f"+1415{n % CUSTOMERS:07d}"
        opened = T_END - timedelta(seconds=rng.random() * span)
        # A number's latest conversation may be open (one open per number and channel).
        closed = n % 5 != 0 or n >= CUSTOMERS
        channel = "sms" if n % 4 else "chat"
        conversation = {
            "id": conversation_id,
            "channel": channel,
            "channel_id": f"{channel}-main",
            "workstream_id": "ws",
            "customer_address": number,
            "business_address": "+12025550100",
            "customer_id": customer,
            "status": "closed" if closed else "open",
            "opened_at": opened.isoformat(),
            "closed_at": (opened + timedelta(minutes=9)).isoformat() if closed else None,
            "closing_reason": "handled" if closed else None,
        }
        conversation_rows.append(
            (
                conversation_id,
                f"{channel}-main",
                number,
                conversation["status"],
                json.dumps(conversation),
            )
        )
        queue = f"q{n % QUEUES:02d}"
        agent = f"agent{rng.randrange(AGENTS):03d}"
        item = {
            "id": f"item-{n:07d}",
            "conversation_id": conversation_id,
            "workstream_id": "ws",
            "queue_id": queue,
            "status": "closed" if closed else "active",
            "agent_id": agent,
            "enqueued_at": opened.isoformat(),
        }
        item_rows.append(
            (item["id"], conversation_id, queue, item["status"], agent, opened.isoformat(),
             json.dumps(item))
        )  # fmt: skip
        order = f"ord{n:07d}" if n % 1000 == 0 else None
        if order:
            rare.append(order)
        texts = rng.choices(words, weights=weights, k=MESSAGES_PER_CONVERSATION * 8)
        for m in range(MESSAGES_PER_CONVERSATION):
            text = " ".join(texts[m * 8 : m * 8 + 8])
            if order and m == 3:
                text += f" about order {order}"
            message = {
                "id": f"{conversation_id}.{m:02d}",
                "conversation_id": conversation_id,
                "sequence": m + 1,
                "direction": "inbound" if m % 2 == 0 else "outbound",
                "sender": "customer" if m % 2 == 0 else "agent",
                "internal": False,
                "text": text,
                "created_at": (opened + timedelta(seconds=30 * m)).isoformat(),
            }
            message_rows.append((message["id"], conversation_id, m + 1, 0, json.dumps(message)))
    connection.executemany(
        "INSERT INTO conversations (id, channel_id, customer_address, status, doc) "
        "VALUES (?, ?, ?, ?, ?)",
        conversation_rows,
    )
    connection.executemany(
        "INSERT INTO work_items (id, conversation_id, queue_id, status, agent_id, priority, "
        "capacity_units, enqueued_at, doc) VALUES (?, ?, ?, ?, ?, 0, 1, ?, ?)",
        item_rows,
    )
    connection.executemany(
        "INSERT INTO messages (id, conversation_id, sequence, internal, doc) "
        "VALUES (?, ?, ?, ?, ?)",
        message_rows,
    )
    connection.execute("COMMIT")
    connection.execute("ANALYZE")
    connection.close()
    return {
        "rare": rare,
        "common": words[:20],
        "customers": customers,
        "conversations": conversations,
        "messages": len(message_rows),
    }


async def timed(call: Callable[[], Awaitable[object]], runs: int) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


async def main(conversations: int) -> None:
    rng = random.Random(16)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "search.db"
        database = SqliteDatabase(path)
        await database.open()  # the schema and its triggers
        await database.close()
        started = time.perf_counter()
        seeded = seed(path, conversations, rng)
        seeding = time.perf_counter() - started
        print(
            f"seeded {seeded['conversations']:,} conversations, {seeded['messages']:,} messages "
            f"in {seeding:.1f} s (file {path.stat().st_size / 1e6:.0f} MB)"
        )
        database = SqliteDatabase(path)
        await database.open()
        store = SqliteStore(database)
        last_day = T_END.date()
        month = {"opened_from": last_day - timedelta(days=29), "opened_to": last_day}
        full = {"opened_from": last_day - timedelta(days=DAYS), "opened_to": last_day}

        def search(**criteria: Any) -> Callable[[], Awaitable[object]]:
            def call() -> Awaitable[object]:
                fields = {**full, **criteria}
                for key, value in list(fields.items()):
                    if callable(value):
                        fields[key] = value()
                query = ConversationQuery.model_validate(fields)
                return store.search_conversations(query, after=None, limit=PAGE)

            return call

        pick = random.Random(7)
        cases: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            ("text: a rare word", search(words=lambda: (pick.choice(seeded["rare"]),))),
            ("text: a common word", search(words=lambda: (pick.choice(seeded["common"]),))),
            (
                "text: two words",
                search(words=lambda: tuple(pick.sample(seeded["common"], 2))),
            ),
            ("customer", search(customer_id=lambda: pick.choice(seeded["customers"]))),
            ("number", search(number=lambda: f"+1415{pick.randrange(CUSTOMERS):07d}")),
            (
                "filters: channel, status, queue, 30 days",
                search(
                    channel=ChannelKind.CHAT,
                    status=ConversationStatus.CLOSED,
                    queue_id=lambda: f"q{pick.randrange(QUEUES):02d}",
                    **month,
                ),
            ),
            (
                "agent scope + a common word",
                search(
                    words=lambda: (pick.choice(seeded["common"]),),
                    visible_to=lambda: (
                        agent_party(f"agent{pick.randrange(AGENTS):03d}"),
                        queue_party("q01"),
                        queue_party("q02"),
                    ),
                ),
            ),
        ]

        def by_key() -> Awaitable[object]:
            return store.get_conversation(f"conv-{pick.randrange(conversations):07d}")

        key_p50, key_p99 = await timed(by_key, RUNS)
        print(f"baseline: primary-key read       p50 {key_p50:7.3f} ms  p99 {key_p99:7.3f} ms")
        print(f"{'search (page of ' + str(PAGE) + ')':38} {'p50':>9} {'p99':>11}  p50 / key read")
        figures = {}
        for name, call in cases:
            p50, p99 = await timed(call, RUNS)
            figures[name] = p50
            print(f"{name:38} {p50:6.2f} ms  {p99:7.2f} ms  {p50 / key_p50:8.1f}x")

        def scan() -> Awaitable[object]:
            word = pick.choice(seeded["rare"])
            return database.atomic(
                lambda db: db.execute(
                    "SELECT DISTINCT conversation_id FROM messages "
                    "WHERE json_extract(doc, '$.text') LIKE ?",
                    (f"%{word}%",),
                ).fetchall()
            )

        scan_p50, scan_p99 = await timed(scan, SCAN_RUNS)
        rare = figures["text: a rare word"]
        print(
            f"baseline: the rare word by LIKE scan over {seeded['messages']:,} messages: "
            f"p50 {scan_p50:.0f} ms, p99 {scan_p99:.0f} ms ({scan_p50 / rare:.0f}x the FTS5 search)"
        )
        await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.conversations))
