"""Driving the local runtime as a newcomer runs it: a subprocess on a free port, over real
HTTP. Shared by every end-to-end test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from devserver.banner import signed_twilio_form

ROOT = Path(__file__).resolve().parents[2]
TWILIO_TOKEN = "e2e-twilio-token"
DEADLINE = 20.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Runtime:
    data_dir: Path
    port: int
    process: subprocess.Popen[str] | None = None
    banner: list[str] = field(default_factory=list)
    output: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://localhost:{self.port}"

    def start(self, *extra: str, settings: Mapping[str, str] | None = None) -> Runtime:
        env = {
            **os.environ,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "LOCAL_SETTINGS_FILE": str(self.data_dir / "absent.json"),
            "PYTHONUNBUFFERED": "1",
            **(settings or {}),
        }
        env.pop("PUBLIC_BASE_URL", None)
        env.pop("SQLITE_PATH", None)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devserver",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                "--seed-demo",
                *extra,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.banner = self._read_banner()
        return self

    def _read_banner(self) -> list[str]:
        assert self.process is not None and self.process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise AssertionError("runtime exited:\n" + "".join(lines))
            lines.append(line.rstrip("\n"))
            if line.startswith("  admin "):
                # Keep reading in the background, so the runtime never blocks on a full pipe.
                threading.Thread(target=self._drain_output, daemon=True).start()
                return lines
        raise AssertionError("no banner:\n" + "\n".join(lines))

    def _drain_output(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    def token(self, user: str) -> str:
        for line in self.banner:
            if line.startswith(f"  {user} "):
                return line.rsplit(" ", 1)[1]
        raise AssertionError(f"no token for {user}")

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}"}

    def stop(self, sig: int = signal.SIGINT) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        return self.process.wait(timeout=DEADLINE)


def eventually(probe: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def send_sms(
    runtime: Runtime, text: str, sender: str = "+14155550101", sid: str | None = None
) -> httpx.Response:
    body, signature = signed_twilio_form(
        TWILIO_TOKEN,
        f"{runtime.base}/api/sms/twilio",
        sender=sender,
        to="+12025550100",
        text=text,
        sid=sid,
    )
    return httpx.post(
        f"{runtime.base}/api/sms/twilio",
        content=body,
        headers={
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )


def work_of(runtime: Runtime, agent: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{runtime.base}/api/agents/me/work", headers=runtime.auth(agent))
    response.raise_for_status()
    return list(response.json())
