"""The local runtime as a newcomer runs it: a subprocess on a free port, driven over real HTTP."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.local.banner import signed_twilio_form

pytestmark = pytest.mark.e2e

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

    def start(self, *extra: str) -> Runtime:
        env = {
            **os.environ,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "LOCAL_SETTINGS_FILE": str(self.data_dir / "absent.json"),
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("PUBLIC_BASE_URL", None)
        env.pop("SQLITE_PATH", None)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shared.local",
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


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    started = Runtime(tmp_path / "data", free_port())
    yield started
    if started.process is not None and started.process.poll() is None:
        started.stop(signal.SIGKILL)


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


def test_the_banner_tells_a_newcomer_what_to_try(runtime: Runtime) -> None:
    runtime.start()
    text = "\n".join(runtime.banner)
    assert f"{runtime.base}/api/health" in text
    assert f"{runtime.base}/api/openapi.json" in text
    assert httpx.get(f"{runtime.base}/api/health").json()["status"] == "ok"
    assert "/api/sms/twilio" in httpx.get(f"{runtime.base}/api/openapi.json").json()["paths"]
    for agent in ("alice", "bob", "carol"):
        assert runtime.token(agent)

    # The printed curl, run as printed, gives alice a conversation.
    curl = re.search(r"^  (curl -sS -X POST .*?\\\n.*)$", text, flags=re.MULTILINE | re.DOTALL)
    assert curl is not None
    command = curl.group(1).split("\n\n")[0]
    printed = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, timeout=DEADLINE, check=True
    )
    assert "<Response/>" in printed.stdout
    (work,) = eventually(lambda: work_of(runtime, "alice"), "the printed curl's conversation")
    assert work["conversation"]["customer_id"] == "cust-ada"
    assert runtime.stop() == 0


def test_sms_to_agent_and_back_over_http(runtime: Runtime) -> None:
    runtime.start()
    assert send_sms(runtime, "Where is my order?").status_code == 200
    (work,) = eventually(lambda: work_of(runtime, "alice"), "the offer to alice")
    conversation_id = work["conversation"]["id"]

    reply = httpx.post(
        f"{runtime.base}/api/conversations/{conversation_id}/messages",
        json={"text": "It ships today."},
        headers=runtime.auth("alice"),
    )
    assert reply.status_code == 201
    httpx.post(
        f"{runtime.base}/api/conversations/{conversation_id}/messages",
        json={"text": "note: VIP", "internal": True},
        headers=runtime.auth("alice"),
    ).raise_for_status()

    def outbox() -> list[dict[str, Any]]:
        return list(
            httpx.get(f"{runtime.base}/api/sandbox/sms", headers=runtime.auth("admin")).json()
        )

    (sent,) = eventually(outbox, "the sandbox SMS")
    assert (sent["to"], sent["from"], sent["text"]) == (
        "+14155550101",
        "+12025550100",
        "It ships today.",
    )
    messages = httpx.get(
        f"{runtime.base}/api/conversations/{conversation_id}/messages",
        headers=runtime.auth("alice"),
    ).json()
    assert [(m["sender"], m["internal"]) for m in messages] == [
        ("customer", False),
        ("agent", False),
        ("agent", True),
    ]
    assert len(outbox()) == 1, "the internal note was never sent"

    bad = httpx.post(
        f"{runtime.base}/api/sms/twilio",
        content=b"MessageSid=SMforged&From=%2B14155550101&To=%2B12025550100&Body=hi",
        headers={
            "X-Twilio-Signature": "Zm9yZ2Vk",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert bad.status_code == 403
    assert bad.headers["content-type"] == "application/problem+json"
    assert runtime.stop() == 0


def test_an_acknowledged_message_survives_sigkill(runtime: Runtime) -> None:
    """Invariant 3: acknowledged, then the process dies before any consumer ran: after a
    restart the message still reaches an agent, once."""
    runtime.start("--consumers-per-queue", "0")
    assert send_sms(runtime, "Please call me back", sid="SMkill0001").status_code == 200
    assert runtime.stop(signal.SIGKILL) == -signal.SIGKILL

    runtime.start()
    (work,) = eventually(lambda: work_of(runtime, "alice"), "the message after restart")
    assert (
        send_sms(runtime, "Please call me back", sid="SMkill0001").status_code == 200
    )  # a late retry
    time.sleep(0.5)
    messages = httpx.get(
        f"{runtime.base}/api/conversations/{work['conversation']['id']}/messages",
        headers=runtime.auth("alice"),
    ).json()
    assert [m["text"] for m in messages] == ["Please call me back"]
    assert runtime.stop() == 0


def test_a_second_runtime_on_the_same_folder_is_refused(runtime: Runtime, tmp_path: Path) -> None:
    runtime.start()
    second = subprocess.run(
        [
            sys.executable,
            "-m",
            "shared.local",
            "--port",
            str(free_port()),
            "--data-dir",
            str(runtime.data_dir),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
    )
    assert second.returncode != 0
    assert "another local runtime" in second.stderr
    assert runtime.stop() == 0
