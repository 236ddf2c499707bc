"""End to end: from an inbound SMS webhook's 2xx to the agent's offer being visible through
the agent API (`GET /api/agents/me/work` with the banner's development token), under a steady
load of N new conversations per second, against the local runtime (subprocess, loopback).

Agent capacity is raised through the admin API (`PUT /api/admin/agents/{id}`) before the load,
so every conversation is assigned. Each agent's work is polled every 20 ms; a conversation's
latency is the first poll that shows it minus its webhook's 2xx (so it includes up to one
poll interval). Baseline, in the same run under the same load: a bare `GET /api/health` round
trip, sampled on the same schedule. Prints p50/p99 of both and the ratio.

What bounds it: the run splits each latency at the item's `assigned_at` (the server's clock,
the same machine's as the benchmark's wall clock) into the pipeline after the 2xx (inbound
queue, ingest, route queue, routing, the assignment) and what follows it (the next poll of the
agent's work, and that request).

Run: `python -m bench.end_to_end [--rate 10] [--seconds 15]` (part of `make bench`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bench.ingest import percentile, signed_requests, start_runtime
from tests.e2e.runtime import Runtime

AGENTS = ("alice", "bob", "carol")
POLL_SECONDS = 0.02


async def raise_capacity(runtime: Runtime, http: httpx.AsyncClient, capacity: int) -> None:
    admin = runtime.auth("admin")
    for agent in AGENTS:
        current = (await http.get(f"/api/admin/agents/{agent}", headers=admin)).json()
        current["max_capacity"] = capacity
        answer = await http.put(f"/api/admin/agents/{agent}", json=current, headers=admin)
        answer.raise_for_status()


async def measure(rate: float, seconds: float) -> dict[str, Any]:
    count = int(rate * seconds)
    with tempfile.TemporaryDirectory() as folder:
        runtime = start_runtime(Path(folder) / "data")
        try:
            async with httpx.AsyncClient(base_url=runtime.base, timeout=30) as http:
                await raise_capacity(runtime, http, count + 10)
                requests = signed_requests(runtime.base, count, "e")
                acknowledged: dict[str, float] = {}
                acknowledged_wall: dict[str, float] = {}
                seen: dict[str, float] = {}
                seen_wall: dict[str, float] = {}
                assigned_wall: dict[str, float] = {}
                health: list[float] = []
                done, sent_all, all_seen = asyncio.Event(), asyncio.Event(), asyncio.Event()

                async def customer(n: int) -> None:
                    body, headers = requests[n]
                    response = await http.post("/api/sms/twilio", content=body, headers=headers)
                    response.raise_for_status()
                    acknowledged[f"+1415556{n % 200:04d}"] = time.perf_counter()
                    acknowledged_wall[f"+1415556{n % 200:04d}"] = time.time()

                async def agent(name: str) -> None:
                    auth = runtime.auth(name)
                    while not done.is_set():
                        work = (await http.get("/api/agents/me/work", headers=auth)).json()
                        now, wall = time.perf_counter(), time.time()
                        for view in work:
                            address = view["conversation"]["customer_address"]
                            if address not in seen:
                                seen[address], seen_wall[address] = now, wall
                                assigned = datetime.fromisoformat(view["item"]["assigned_at"])
                                assigned_wall[address] = assigned.timestamp()
                        if sent_all.is_set() and set(acknowledged) <= set(seen):
                            all_seen.set()
                        await asyncio.sleep(POLL_SECONDS)

                async def probe() -> None:
                    while not done.is_set():
                        started = time.perf_counter()
                        (await http.get("/api/health")).raise_for_status()
                        health.append(time.perf_counter() - started)
                        await asyncio.sleep(POLL_SECONDS)

                pollers = [asyncio.create_task(agent(name)) for name in AGENTS]
                pollers.append(asyncio.create_task(probe()))
                customers = []
                started = time.perf_counter()
                for n in range(min(count, 200)):  # one conversation per customer number
                    customers.append(asyncio.create_task(customer(n)))
                    await asyncio.sleep(max(0.0, started + (n + 1) / rate - time.perf_counter()))
                await asyncio.gather(*customers)
                sent_all.set()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(all_seen.wait(), 30)
                done.set()
                await asyncio.gather(*pollers)
        finally:
            runtime.stop()
    latencies = [seen[k] - acknowledged[k] for k in acknowledged if k in seen]
    # Split at the assignment: negative when the assignment beat the client's reading of the
    # 2xx (the pipeline ran while the response was on its way).
    pipeline = [assigned_wall[k] - acknowledged_wall[k] for k in acknowledged if k in seen]
    visible = [seen_wall[k] - assigned_wall[k] for k in acknowledged if k in seen]
    return {
        "rate": rate,
        "conversations": len(acknowledged),
        "offered": len(latencies),
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
        "health_p50_ms": percentile(health, 0.5),
        "health_p99_ms": percentile(health, 0.99),
        "ratio_p50": percentile(latencies, 0.5) / max(percentile(health, 0.5), 1e-6),
        "assigned_p50_ms": percentile(pipeline, 0.5),
        "assigned_p99_ms": percentile(pipeline, 0.99),
        "visible_p50_ms": percentile(visible, 0.5),
        "visible_p99_ms": percentile(visible, 0.99),
    }


def report(figures: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"End to end: {figures['conversations']} new conversations at {figures['rate']:g}/s, "
            f"{figures['offered']} offered",
            f"  webhook 2xx -> offer visible:  p50 {figures['p50_ms']:.0f} ms, "
            f"p99 {figures['p99_ms']:.0f} ms",
            f"  GET /api/health (baseline):    p50 {figures['health_p50_ms']:.1f} ms, "
            f"p99 {figures['health_p99_ms']:.1f} ms",
            f"  ratio p50 offer / health: {figures['ratio_p50']:.0f}",
            f"  of which 2xx -> assigned (queues, ingest, routing): "
            f"p50 {figures['assigned_p50_ms']:.0f} ms, p99 {figures['assigned_p99_ms']:.0f} ms",
            f"  and assigned -> seen by the agent's next poll ({POLL_SECONDS * 1000:.0f} ms): "
            f"p50 {figures['visible_p50_ms']:.0f} ms, p99 {figures['visible_p99_ms']:.0f} ms",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.end_to_end", description=__doc__)
    parser.add_argument("--rate", type=float, default=10.0, help="new conversations per second")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    figures = asyncio.run(measure(args.rate, args.seconds))
    print(report(figures), flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
