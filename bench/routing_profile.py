"""Where a routing assignment's time and writes go on SQLite: bench/routing.py's seed at
10,000 agents (plain, or `--skills`), then its routing phase once with every database call
timed by what it runs, and once more on a fresh copy with checkpoints off, reading the WAL
back frame by frame to count the pages each table and index had written (each frame's page
mapped to its b-tree through `dbstat`).

Prints assignments/s, the database thread's time per assignment by call, and the pages
written per assignment by b-tree. Run: `python -m bench.routing_profile [--skills]`; the
figures of each pass of issue 18 are in bench/README.md. For the main thread's share, run it
under `py-spy record --threads`.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import shutil
import sqlite3
import struct
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from bench.routing import QUEUES, DiscardingBus, seed
from shared.adapters.sqlite.database import SqliteDatabase, recoverable_commits
from shared.adapters.sqlite.store import SqliteStore
from shared.adapters.system_clock import SystemClock
from shared.services.notices import CustomerNotices
from shared.services.routing import RoutingService

T = TypeVar("T")
AGENTS = 10_000
WAL_HEADER, FRAME_HEADER = 32, 24


class TimedDatabase(SqliteDatabase):
    """The store's database, timing each atomic call's work (on the database thread) by the
    name of the function it runs."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.spent: collections.defaultdict[str, float] = collections.defaultdict(float)
        self.calls: collections.Counter[str] = collections.Counter()

    async def atomic(self, work: Callable[[sqlite3.Connection], T]) -> T:
        name = work.__qualname__.replace(".<locals>", "")

        def timed(db: sqlite3.Connection) -> T:
            started = time.perf_counter()
            try:
                return work(db)
            finally:
                self.spent[name] += time.perf_counter() - started
                self.calls[name] += 1

        started = time.perf_counter()
        try:
            return await super().atomic(timed)
        finally:
            # The whole call: BEGIN, the work, COMMIT, and the hand-over to the thread.
            self.spent["(every call, with BEGIN, COMMIT and hand-over)"] += (
                time.perf_counter() - started
            )


async def route_all(database: SqliteDatabase) -> tuple[int, float]:
    store = SqliteStore(database)
    bus, clock = DiscardingBus(), SystemClock()
    routing = RoutingService(store, bus, clock, CustomerNotices(store, bus, clock))
    started, assigned = time.perf_counter(), 0
    with recoverable_commits():  # as the routing consumer commits
        for n in range(QUEUES):
            assigned += len(await routing.route_queue(f"q{n:03d}"))
    return assigned, time.perf_counter() - started


async def main(skills: bool) -> None:
    folder = Path(tempfile.mkdtemp())
    try:
        seeded = SqliteDatabase(folder / "seeded.db")
        await seeded.open()
        await seed(seeded, SqliteStore(seeded), AGENTS, skills)
        await seeded.close()  # the last close checkpoints: one file, no WAL
        shutil.copy(folder / "seeded.db", folder / "timed.db")
        shutil.copy(folder / "seeded.db", folder / "pages.db")

        timed = TimedDatabase(folder / "timed.db")
        await timed.open()
        assigned, seconds = await route_all(timed)
        await timed.close()
        print(
            f"{AGENTS} agents, {'skills + rules' if skills else 'plain'}: {assigned} "
            f"assignments in {seconds:.2f} s = {assigned / seconds:,.0f}/s"
        )
        print("database thread, per assignment:")
        for name, spent in sorted(timed.spent.items(), key=lambda kv: -kv[1]):
            calls = timed.calls[name] or "-"
            print(f"  {1e6 * spent / assigned:7.1f} us  {name} (calls: {calls})")

        pages = SqliteDatabase(folder / "pages.db")
        await pages.open()
        await pages.atomic(lambda db: db.execute("PRAGMA wal_autocheckpoint=0"))
        assigned, _ = await route_all(pages)
        wal = (folder / "pages.db-wal").read_bytes()
        written: collections.Counter[int] = collections.Counter()
        for offset in range(WAL_HEADER, len(wal) - FRAME_HEADER, FRAME_HEADER + 4096):
            written[struct.unpack(">I", wal[offset : offset + 4])[0]] += 1
        owners = dict(
            await pages.atomic(lambda db: db.execute("SELECT pageno, name FROM dbstat").fetchall())
        )
        await pages.close()
        by_tree: collections.Counter[str] = collections.Counter()
        for page, frames in written.items():
            by_tree[owners.get(page, "(free pages)")] += frames
        total = sum(by_tree.values())
        print(f"pages written to the WAL per assignment: {total / assigned:.2f}")
        for tree, frames in by_tree.most_common():
            print(f"  {frames / assigned:5.2f}  {tree}")
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skills", action="store_true", help="skills and custom rules in play")
    asyncio.run(main(parser.parse_args().skills))
