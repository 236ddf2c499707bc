"""The local runtime as a newcomer runs it: a subprocess on a free port, driven over real HTTP."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.runtime import (
    DEADLINE,
    ROOT,
    Runtime,
    eventually,
    free_port,
    send_sms,
    work_of,
)

pytestmark = pytest.mark.e2e


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


def test_without_settings_it_starts_with_the_chat_channel_and_says_what_sms_needs(
    runtime: Runtime,
) -> None:
    """No local.settings.json and no TWILIO_AUTH_TOKEN: the demo starts with its chat widget and
    the banner names the setting the SMS channel needs, with no traceback."""
    runtime.start(settings={"TWILIO_AUTH_TOKEN": ""})
    text = "\n".join(runtime.banner)
    assert "Set TWILIO_AUTH_TOKEN" in text and "Traceback" not in text
    widget = httpx.get(f"{runtime.base}/api/chat/widgets/demo-widget")
    assert widget.status_code == 200 and widget.json()["pre_chat"]
    admin = runtime.auth("admin")
    channels = httpx.get(f"{runtime.base}/api/admin/channels", headers=admin).json()["items"]
    assert [channel["id"] for channel in channels] == ["chat-web"]
    assert runtime.stop() == 0


def test_sms_to_agent_and_back_over_http(runtime: Runtime, store_settings: dict[str, str]) -> None:
    runtime.start(settings=store_settings)
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


def test_an_acknowledged_message_survives_sigkill(
    runtime: Runtime, store_settings: dict[str, str]
) -> None:
    """Invariant 3: acknowledged, then the process dies before any consumer ran: after a
    restart the message still reaches an agent, once."""
    runtime.start("--consumers-per-queue", "0", settings=store_settings)
    assert send_sms(runtime, "Please call me back", sid="SMkill0001").status_code == 200
    assert runtime.stop(signal.SIGKILL) == -signal.SIGKILL

    runtime.start(settings=store_settings)
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
            "devserver",
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
