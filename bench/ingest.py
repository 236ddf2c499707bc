"""Ingest over HTTP: Twilio-signed inbound SMS webhooks against the local runtime (a
subprocess on a free port, its queue consumers running as they do in `make run`), from a load
generator on loopback (httpx, async, bounded concurrency).

Reports requests per second and the latency to the 2xx (p50, p99): the webhook verifies the
signature, finds the channel, and answers only once the message is durably on the `inbound`
queue (an fsync'd SQLite transaction). Baseline, measured in the same run on the same machine:
a bare Starlette app served by the same server (uvicorn) answering 200 with the same empty
TwiML to the same requests. Prints the ratio ingest / bare.

Run: `python -m bench.ingest [--requests 2000] [--concurrency 32]` (part of `make bench`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from devserver.banner import signed_twilio_form
from tests.e2e.runtime import ROOT, TWILIO_TOKEN, Runtime, free_port

BUSINESS = "+12025550100"
WARMUP = 50

BARE_APP = """
import sys
import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

async def twilio(request):
    await request.body()
    return Response('<?xml version="1.0" encoding="UTF-8"?><Response/>', media_type="text/xml")

async def health(request):
    return Response('{"status":"ok"}', media_type="application/json")

app = Starlette(routes=[Route("/api/sms/twilio", twilio, methods=["POST"]),
                        Route("/api/health", health)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    failures: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def signed_requests(base: str, count: int, prefix: str) -> list[tuple[str, dict[str, str]]]:
    """`count` distinct webhooks from 200 customers, signed in advance (not timed)."""
    url = f"{base}/api/sms/twilio"
    made = []
    for n in range(count):
        body, signature = signed_twilio_form(
            TWILIO_TOKEN,
            url,
            sender=f"+1415556{n % 200:04d}",
            to=BUSINESS,
            text=f"bench message {n}",
            sid=f"SM{prefix}{n:08d}",
        )
        made.append(
            (
                body,
                {
                    "X-Twilio-Signature": signature,
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
        )
    return made


async def fire(base: str, requests: list[tuple[str, dict[str, str]]], concurrency: int) -> Load:
    latencies: list[float] = []
    failures = 0
    pending = iter(requests)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:

        async def worker() -> None:
            nonlocal failures
            for body, headers in pending:
                started = time.perf_counter()
                response = await http.post("/api/sms/twilio", content=body, headers=headers)
                if response.is_success:
                    latencies.append(time.perf_counter() - started)
                else:
                    failures += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return Load(
        requests=len(latencies),
        seconds=seconds,
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
        failures=failures,
    )


class BareServer:
    """The baseline: a bare Starlette app under uvicorn, in its own process like the runtime."""

    def __init__(self) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen([sys.executable, "-c", BARE_APP, str(self.port)], cwd=ROOT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.base}/api/health").raise_for_status()
                return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("the bare server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


def start_runtime(data_dir: Path, *extra: str) -> Runtime:
    return Runtime(data_dir, free_port()).start(*extra, settings={"LOG_LEVEL": "WARNING"})


async def measure(count: int, concurrency: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        runtime = start_runtime(Path(folder) / "data")
        try:
            await fire(runtime.base, signed_requests(runtime.base, WARMUP, "w"), concurrency)
            ingest = await fire(
                runtime.base, signed_requests(runtime.base, count, "b"), concurrency
            )
        finally:
            runtime.stop()
    bare_server = BareServer()
    try:
        await fire(bare_server.base, signed_requests(bare_server.base, WARMUP, "w"), concurrency)
        bare = await fire(
            bare_server.base, signed_requests(bare_server.base, count, "b"), concurrency
        )
    finally:
        bare_server.stop()
    return {
        "requests": count,
        "concurrency": concurrency,
        "ingest": {**asdict(ingest), "per_second": ingest.per_second},
        "bare": {**asdict(bare), "per_second": bare.per_second},
        "ratio": ingest.per_second / bare.per_second,
    }


def report(figures: dict[str, Any]) -> str:
    ingest, bare = figures["ingest"], figures["bare"]
    lines = [
        f"Ingest: {figures['requests']} signed Twilio webhooks, {figures['concurrency']} "
        "concurrent, over loopback HTTP",
        f"  {'':<26}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'failed':>8}",
    ]
    for name, load in (("local runtime (ingest)", ingest), ("bare Starlette (baseline)", bare)):
        lines.append(
            f"  {name:<26}{load['per_second']:>9.0f}{load['p50_ms']:>9.1f}{load['p99_ms']:>9.1f}"
            f"{load['failures']:>8}"
        )
    lines.append(f"  ratio ingest / bare: {figures['ratio']:.2f} (throughput)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    figures = asyncio.run(measure(args.requests, args.concurrency))
    print(report(figures), flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
