"""A bot in front of the SMS queues, end to end over real HTTP: the local runtime calls a bot
the test stands up on loopback; its answer reaches the customer as an SMS, and its escalation
puts the conversation, transcript and all, in an agent's work."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.domain.bots import SIGNATURE_HEADER, signature_matches
from tests.e2e.runtime import Runtime, eventually, send_sms, work_of
from tests.loopback import Answer, LoopbackApi

pytestmark = pytest.mark.e2e

SECRET = "e2e-bot-secret-0123456789"


def test_an_sms_is_answered_by_the_bot_then_escalated_to_an_agent(runtime: Runtime) -> None:
    bot = LoopbackApi(
        Answer(200, {"reply": "Hi, I am the assistant. What is your order number?"}),
        Answer(200, {"escalate": True, "reason": "asked for a human", "reply": "Connecting you."}),
    )
    with bot.running():
        runtime.start()
        admin = runtime.auth("admin")
        workstream = httpx.get(f"{runtime.base}/api/admin/workstreams/ws-sms", headers=admin)
        configured = {
            **workstream.json(),
            "bot": {"id": "assistant", "endpoint": f"{bot.base_url}/hook", "secret": SECRET},
        }
        put = httpx.put(
            f"{runtime.base}/api/admin/workstreams/ws-sms", json=configured, headers=admin
        )
        assert put.status_code == 200, put.text

        def outbox() -> list[dict[str, Any]]:
            return list(httpx.get(f"{runtime.base}/api/sandbox/sms", headers=admin).json())

        assert send_sms(runtime, "Where is my order?").status_code == 200
        (answer,) = eventually(outbox, "the bot's answer by SMS")
        assert (answer["to"], answer["text"]) == (
            "+14155550101",
            "Hi, I am the assistant. What is your order number?",
        )
        (call,) = bot.requests
        assert signature_matches(SECRET, call.body, call.headers[SIGNATURE_HEADER.lower()])
        assert call.json()["message"]["text"] == "Where is my order?"
        assert work_of(runtime, "alice") == []

        assert send_sms(runtime, "Let me talk to a person").status_code == 200
        (work,) = eventually(lambda: work_of(runtime, "alice"), "the escalated conversation")
        messages = httpx.get(
            f"{runtime.base}/api/conversations/{work['conversation']['id']}/messages",
            headers=runtime.auth("alice"),
        ).json()
        assert [(m["sender"], m["internal"]) for m in messages] == [
            ("customer", False),
            ("bot", False),
            ("customer", False),
            ("bot", False),
            ("system", True),
        ]
        eventually(lambda: len(outbox()) == 2, "the bot's last reply")
        assert runtime.stop() == 0
