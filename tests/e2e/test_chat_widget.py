"""The chat channel over real HTTP against the local runtime: a widget's session is routed to
an agent, who replies through the agent API, and the widget's long poll reads the reply."""

from __future__ import annotations

from typing import Any

import httpx

from devserver.seed import CHAT_WIDGET_ID
from tests.e2e.runtime import Runtime, eventually, work_of


def test_a_widget_chats_with_an_agent_from_session_to_reply(runtime: Runtime) -> None:
    runtime.start()
    assert any(f"{runtime.base}/demo/" in line for line in runtime.banner)
    with httpx.Client(base_url=runtime.base, timeout=30) as http:
        assert "data-widget-id" in http.get("/demo/").text
        assert http.get("/api/chat/widget.js").status_code == 200
        started = http.post(
            "/api/chat/sessions",
            json={
                "widget_id": CHAT_WIDGET_ID,
                "pre_chat": {"name": "Ada Lovelace", "phone": "+14155550101"},
                "context": {"page": "/checkout", "cart_total": 42, "logged_in": True},
            },
        )
        assert started.status_code == 201, started.text
        session = started.json()
        conversation_id = session["conversation_id"]
        widget = {"Authorization": f"Bearer {session['token']}"}
        sent = http.post(
            f"/api/chat/sessions/{conversation_id}/messages",
            json={"text": "Where is my order?"},
            headers=widget,
        )
        assert sent.status_code == 201

        def alices_chat() -> Any:
            return [
                w for w in work_of(runtime, "alice") if w["conversation"]["id"] == conversation_id
            ]

        (work,) = eventually(alices_chat, "the chat to reach alice")
        assert work["conversation"]["customer_id"] == "cust-ada"
        assert work["conversation"]["context"] == {
            "page": "/checkout",
            "cart_total": 42.0,
            "logged_in": True,
        }
        before = http.get(f"/api/chat/sessions/{conversation_id}/messages", headers=widget).json()
        assert before["status"] == "connected"

        alice = runtime.auth("alice")
        for text, internal in (("VIP customer", True), ("On its way, Ada!", False)):
            reply = http.post(
                f"/api/conversations/{conversation_id}/messages",
                json={"text": text, "internal": internal},
                headers=alice,
            )
            assert reply.status_code == 201
        update = http.get(
            f"/api/chat/sessions/{conversation_id}/messages",
            params={"after": before["next_after"], "wait": 10},
            headers=widget,
        ).json()
        assert [(m["sender"], m["sender_name"], m["text"]) for m in update["messages"]] == [
            ("agent", "Alice Agent", "On its way, Ada!")
        ]
        # A reload: the token alone resumes the whole conversation.
        everything = http.get(f"/api/chat/sessions/{conversation_id}/messages", headers=widget)
        assert [m["text"] for m in everything.json()["messages"]] == [
            "Hello! An agent will be with you shortly.",
            "Where is my order?",
            "On its way, Ada!",
        ]
        ended = http.post(f"/api/chat/sessions/{conversation_id}/end", headers=widget)
        assert ended.json()["status"] == "ended"
        (wrapping,) = alices_chat()
        assert wrapping["item"]["status"] == "wrap_up"
    assert runtime.stop() == 0
