"""Memory: peak RSS (VmHWM in /proc/<pid>/status) of the local runtime holding 10,000 open
conversations, each with its customer message and a waiting work item.

The conversations are created before the runtime starts, through the SQLite store's own
methods (open_conversation, append_message, create_work_item) in the runtime's data folder:
the HTTP path would take minutes at 10,000 and measure ingest, not memory. The runtime then
starts on that folder (its sweep timer runs at start-up) and a supervisor pages through every
open conversation over the API, so all of them pass through the process. Baseline, in the same
run: the runtime's peak RSS idle with the demo seed only. Prints both and the ratio.

Run: `python -m bench.memory [--conversations 10000]` (part of `make bench`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.ingest import start_runtime
from devserver.seed import SMS_NUMBER, seed_demo
from shared.adapters.sqlite.database import SqliteDatabase
from shared.adapters.sqlite.store import SqliteStore
from shared.domain.channels import ChannelKind
from shared.domain.conversations import Conversation, DeliveryStatus, Direction, Message, SenderKind
from shared.domain.work import WorkItem
from tests.e2e.runtime import TWILIO_TOKEN, Runtime

SETTLE_SECONDS = 3.0


def peak_rss_mib(runtime: Runtime) -> tuple[float, float]:
    """(VmHWM, VmRSS) of the runtime process, in MiB."""
    assert runtime.process is not None
    fields = {}
    for line in Path(f"/proc/{runtime.process.pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            fields[name] = int(value.split()[0]) / 1024
    return fields["VmHWM"], fields["VmRSS"]


async def populate(data_dir: Path, count: int) -> float:
    database = SqliteDatabase(data_dir / "omnichannel.db")
    await database.open()
    store = SqliteStore(database)
    await seed_demo(store, twilio_auth_token=TWILIO_TOKEN)
    started = time.perf_counter()
    at = datetime.now(UTC) - timedelta(minutes=5)
    for n in range(count):
        conversation, _ = await store.open_conversation(
            Conversation(
                id=uuid.uuid4().hex,
                channel=ChannelKind.SMS,
                channel_id="sms-main",
                workstream_id="ws-sms",
                customer_address=f"+1646{n:07d}",
                business_address=SMS_NUMBER,
                opened_at=at,
            )
        )
        await store.append_message(
            Message(
                id=uuid.uuid4().hex,
                conversation_id=conversation.id,
                direction=Direction.INBOUND,
                sender=SenderKind.CUSTOMER,
                text=f"Hello, this is customer {n}: where is my order?",
                provider_message_id=f"twilio:SMmem{n:08d}",
                status=DeliveryStatus.RECEIVED,
                created_at=at,
            )
        )
        await store.create_work_item(
            WorkItem(
                id=uuid.uuid4().hex,
                conversation_id=conversation.id,
                workstream_id="ws-sms",
                queue_id="q-general",
                enqueued_at=at,
            )
        )
    await database.close()
    return time.perf_counter() - started


def page_through(runtime: Runtime) -> int:
    seen = 0
    cursor: str | None = None
    with httpx.Client(base_url=runtime.base, timeout=60) as http:
        while True:
            params: dict[str, Any] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            page = http.get(
                "/api/supervisor/conversations", params=params, headers=runtime.auth("admin")
            )
            page.raise_for_status()
            body = page.json()
            seen += len(body["items"])
            cursor = body.get("next_cursor")
            if not cursor:
                return seen


def measure(count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        idle = start_runtime(Path(folder) / "idle")
        try:
            time.sleep(SETTLE_SECONDS)
            idle_peak, idle_rss = peak_rss_mib(idle)
        finally:
            idle.stop()

        data_dir = Path(folder) / "full"
        data_dir.mkdir(parents=True)
        populate_seconds = asyncio.run(populate(data_dir, count))
        full = start_runtime(data_dir)
        try:
            time.sleep(SETTLE_SECONDS)
            listed = page_through(full)
            time.sleep(1.0)
            peak, rss = peak_rss_mib(full)
        finally:
            full.stop()
    return {
        "conversations": count,
        "listed": listed,
        "populate_seconds": populate_seconds,
        "idle_peak_mib": idle_peak,
        "idle_rss_mib": idle_rss,
        "peak_mib": peak,
        "rss_mib": rss,
        "ratio": peak / idle_peak,
    }


def report(figures: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"Memory: local runtime with {figures['conversations']} open conversations "
            f"(store-populated in {figures['populate_seconds']:.0f} s; "
            f"{figures['listed']} paged through the supervisor API)",
            f"  peak RSS (VmHWM): {figures['peak_mib']:.0f} MiB (now {figures['rss_mib']:.0f})",
            f"  idle with the demo seed (baseline): {figures['idle_peak_mib']:.0f} MiB",
            f"  ratio: {figures['ratio']:.2f}",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__)
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    figures = measure(args.conversations)
    print(report(figures), flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
