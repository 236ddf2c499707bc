"""The chat widget API in process: sessions, identification, routing facts, messages, long
poll, events, leaving, and the invariants a customer's token lives under (5 and 7)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import jwt
import pytest

from devserver.seed import CHAT_WIDGET_ID
from shared.bootstrap import Container
from shared.channels.chat_tokens import AUDIENCE, ISSUER
from shared.domain.customers import Customer
from shared.domain.identity import Role
from shared.domain.routing_config import Condition, ConditionField, Operator, RoutingRule
from shared.domain.work import WorkItemStatus
from tests.support import bearer, drain

HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script>&amp; "quoted"'


@pytest.fixture
def extra_settings() -> dict[str, str]:
    return {
        "CHAT_MAX_TEXT_LENGTH": "200",
        "CHAT_MAX_ATTACHMENT_BYTES": "1000",
        "CHAT_MAX_WAIT_SECONDS": "10",
        "CHAT_POLL_INTERVAL_SECONDS": "0.02",
    }


async def start(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/chat/sessions",
        json={"widget_id": CHAT_WIDGET_ID, "pre_chat": {"name": "Visitor"}, **body},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def auth(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['token']}"}


def url(session: dict[str, Any], tail: str) -> str:
    return f"/api/chat/sessions/{session['conversation_id']}/{tail}"


async def read(client: httpx.AsyncClient, session: dict[str, Any], query: str = "") -> Any:
    response = await client.get(url(session, "messages") + query, headers=auth(session))
    assert response.status_code == 200, response.text
    return response.json()


async def connected(client: httpx.AsyncClient, services: Container) -> dict[str, Any]:
    """A session an agent (alice: the most capacity) has taken."""
    session = await start(client)
    await drain(services)
    assert (await read(client, session))["status"] == "connected"
    return session


async def agent_says(
    client: httpx.AsyncClient, services: Container, session: dict[str, Any], text: str, **kw: Any
) -> None:
    response = await client.post(
        f"/api/conversations/{session['conversation_id']}/messages",
        json={"text": text, **kw},
        headers=bearer(services, "alice", Role.AGENT),
    )
    assert response.status_code == 201, response.text


# --- sessions -------------------------------------------------------------------------------


async def test_a_session_opens_a_routed_conversation_with_its_greeting(
    client: httpx.AsyncClient, services: Container
) -> None:
    session = await start(
        client,
        pre_chat={"name": "Visitor", "topic": "shoes"},
        context={"plan": "gold", "cart_total": 120.5, "returning": True},
    )
    assert session["expires_in"] == services.settings.chat_token_lifetime_seconds
    conversation = await services.store.get_conversation(session["conversation_id"])
    assert conversation is not None
    assert conversation.pre_chat == {"name": "Visitor", "topic": "shoes"}
    assert conversation.context == {"plan": "gold", "cart_total": 120.5, "returning": True}
    assert conversation.business_address == CHAT_WIDGET_ID
    item = await services.store.open_work_item(conversation.id)
    assert item is not None and item.queue_id == "q-general"

    update = await read(client, session)
    assert update["status"] == "waiting"
    assert [(m["sender"], m["text"]) for m in update["messages"]] == [
        ("system", "Hello! An agent will be with you shortly.")
    ]


async def test_pre_chat_answers_and_context_variables_reach_routing_rules(
    client: httpx.AsyncClient, services: Container
) -> None:
    for order, field, key, operator, value in (
        (1, ConditionField.CONTEXT, "cart_total", Operator.GREATER_THAN, "100"),
        (2, ConditionField.PRE_CHAT, "topic", Operator.CONTAINS, "invoice"),
    ):
        await services.store.put_rule(
            RoutingRule(
                id=f"chat-{key}",
                workstream_id="ws-chat",
                order=order,
                name=key,
                conditions=(Condition(field=field, key=key, operator=operator, value=value),),
                queue_id="q-billing",
                priority=5,
            )
        )
    big_cart = await start(client, context={"cart_total": 250})
    invoice = await start(client, pre_chat={"name": "V", "topic": "My INVOICE is wrong"})
    other = await start(client, context={"cart_total": 20})
    queues = []
    for session in (big_cart, invoice, other):
        item = await services.store.open_work_item(session["conversation_id"])
        assert item is not None
        queues.append((item.queue_id, item.priority))
    assert queues == [("q-billing", 5), ("q-billing", 5), ("q-general", 0)]


async def test_pre_chat_answers_identify_a_customer_only_when_all_match(
    client: httpx.AsyncClient, services: Container
) -> None:
    await services.store.put_customer(
        Customer(id="cust-twin-1", display_name="Sam Twin", mobile_phone="+14155550199")
    )
    await services.store.put_customer(
        Customer(id="cust-twin-2", display_name="Sam Twin", mobile_phone="+14155550199")
    )

    async def identified(name: str, phone: str) -> tuple[str | None, tuple[str, ...]]:
        session = await start(client, pre_chat={"name": name, "phone": phone})
        conversation = await services.store.get_conversation(session["conversation_id"])
        assert conversation is not None
        return conversation.customer_id, conversation.customer_candidates

    assert await identified("Ada Lovelace", "+1 415 555 0101") == ("cust-ada", ())
    assert await identified("Ada Lovelace", "+14155550102") == (None, ())  # Grace's phone
    assert await identified("Someone Else", "+14155550101") == (None, ())
    assert await identified("Sam Twin", "+14155550199") == (
        None,
        ("cust-twin-1", "cust-twin-2"),
    )
    assert await identified("Ada Lovelace", "not a phone") == (None, ())


async def test_a_retried_start_returns_the_same_conversation(client: httpx.AsyncClient) -> None:
    first = await start(client, client_session_id="a" * 32)
    again = await start(client, client_session_id="a" * 32)
    other = await start(client, client_session_id="b" * 32)
    assert first["conversation_id"] == again["conversation_id"] != other["conversation_id"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"widget_id": "no-such-widget"}, 404),
        ({"widget_id": CHAT_WIDGET_ID}, 400),  # the name is required
        ({"widget_id": CHAT_WIDGET_ID, "pre_chat": {"name": "V", "shoe": "42"}}, 400),
        ({"widget_id": CHAT_WIDGET_ID, "pre_chat": {"name": "V"}, "context": {"x": {}}}, 400),
        ({"widget_id": CHAT_WIDGET_ID, "pre_chat": {"name": "V"}, "context": {"x": None}}, 400),
        ({"widget_id": CHAT_WIDGET_ID, "pre_chat": {"name": "V"}, "context": {"a b": 1}}, 400),
    ],
)
async def test_a_bad_start_is_refused(
    client: httpx.AsyncClient, body: dict[str, Any], status: int
) -> None:
    response = await client.post("/api/chat/sessions", json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_the_widget_form_is_public(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/api/chat/widgets/{CHAT_WIDGET_ID}")
    assert response.status_code == 200
    assert [q["key"] for q in response.json()["pre_chat"]] == ["name", "phone", "topic"]
    assert (await client.get("/api/chat/widgets/nope")).status_code == 404


# --- messages -------------------------------------------------------------------------------


async def test_customer_and_agent_talk_and_the_customer_never_sees_a_note(
    client: httpx.AsyncClient, services: Container
) -> None:
    """Invariant 5 on the chat path, and chat replies never reach an SMS provider."""
    session = await connected(client, services)
    sent = await client.post(url(session, "messages"), json={"text": "Hi"}, headers=auth(session))
    assert sent.status_code == 201 and sent.json()["sender"] == "customer"
    await agent_says(client, services, session, "secret: VIP, be nice", internal=True)
    await agent_says(client, services, session, "Hello, how can I help?")
    await drain(services)

    update = await read(client, session)
    assert update["agent_name"] == "Alice Agent"
    assert [(m["sender"], m["sender_name"], m["text"]) for m in update["messages"]] == [
        ("system", None, "Hello! An agent will be with you shortly."),
        ("customer", None, "Hi"),
        ("agent", "Alice Agent", "Hello, how can I help?"),
    ]
    assert "secret" not in json.dumps(update)
    assert "internal" not in update["messages"][0]
    assert list(await services.store.list_sent_sms(limit=10)) == []
    agent_view = await client.get(
        f"/api/conversations/{session['conversation_id']}/messages",
        headers=bearer(services, "alice", Role.AGENT),
    )
    assert [m["status"] for m in agent_view.json() if m["sender"] == "agent"] == [None, "sent"]


async def test_reading_after_a_cursor_returns_only_what_is_new(
    client: httpx.AsyncClient, services: Container
) -> None:
    session = await connected(client, services)
    first = await read(client, session)
    await agent_says(client, services, session, "one")
    await agent_says(client, services, session, "two")
    later = await read(client, session, f"?after={first['next_after']}")
    assert [m["text"] for m in later["messages"]] == ["one", "two"]
    assert (await read(client, session, f"?after={later['next_after']}"))["messages"] == []


async def test_hostile_text_is_kept_as_text_and_limits_hold(
    client: httpx.AsyncClient, services: Container
) -> None:
    session = await start(client)
    sent = await client.post(
        url(session, "messages"), json={"text": HOSTILE + "\x00\x07"}, headers=auth(session)
    )
    assert sent.status_code == 201
    assert sent.json()["text"] == HOSTILE  # verbatim: escaping is each page's, at display
    assert sent.headers["content-type"] == "application/json"
    too_long = await client.post(
        url(session, "messages"), json={"text": "x" * 201}, headers=auth(session)
    )
    assert too_long.status_code == 400
    empty = await client.post(url(session, "messages"), json={"text": "  "}, headers=auth(session))
    assert empty.status_code == 400


@pytest.mark.parametrize(
    ("attachment", "status"),
    [
        (
            {"name": "a.png", "content_type": "image/png", "size": 10, "url": "https://f.test/a"},
            201,
        ),
        ({"name": "a.png", "content_type": "image/png", "size": 10, "url": "http://f.test/a"}, 400),
        ({"name": "a.png", "content_type": "image/png", "size": 10, "url": "javascript:x"}, 400),
        ({"name": "a.png", "content_type": "image/png", "size": 1001, "url": "https://f.t/a"}, 400),
        ({"name": "a.png", "content_type": "<b>", "size": 10, "url": "https://f.test/a"}, 400),
        ({"name": "", "content_type": "image/png", "size": 10, "url": "https://f.test/a"}, 400),
        ({"name": "a", "content_type": "image/png", "url": "https://f.test/a"}, 400),
    ],
)
async def test_attachments_are_references_validated(
    client: httpx.AsyncClient, attachment: dict[str, Any], status: int
) -> None:
    session = await start(client)
    response = await client.post(
        url(session, "messages"), json={"attachments": [attachment]}, headers=auth(session)
    )
    assert response.status_code == status, response.text
    if status == 201:
        assert response.json()["attachments"] == [attachment]


async def test_a_retried_send_is_stored_once(client: httpx.AsyncClient) -> None:
    session = await start(client)
    body = {"text": "once", "client_message_id": "retry-me-123"}
    first = await client.post(url(session, "messages"), json=body, headers=auth(session))
    again = await client.post(url(session, "messages"), json=body, headers=auth(session))
    assert first.json()["id"] == again.json()["id"]
    texts = [m["text"] for m in (await read(client, session))["messages"]]
    assert texts.count("once") == 1


# --- tokens (invariant 7) ---------------------------------------------------------------------


async def test_a_token_opens_its_own_conversation_only(client: httpx.AsyncClient) -> None:
    mine, theirs = await start(client), await start(client)
    foreign = {"Authorization": f"Bearer {mine['token']}"}
    for method, tail in (
        ("GET", "messages"),
        ("POST", "messages"),
        ("POST", "end"),
        ("GET", "events"),
    ):
        response = await client.request(
            method, url(theirs, tail), headers=foreign, json={"text": "hi"}
        )
        assert response.status_code == 404, (method, tail)
    assert (await read(client, theirs))["status"] == "waiting"  # untouched


async def test_a_forged_expired_or_missing_token_is_401(
    client: httpx.AsyncClient, services: Container
) -> None:
    session = await start(client)
    now = int(time.time())
    key = services.settings.chat_token_key_file.read_text().strip()
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": session["conversation_id"]}
    expired = jwt.encode({**claims, "iat": now - 100, "exp": now - 10}, key, algorithm="HS256")
    forged = jwt.encode({**claims, "exp": now + 60}, "another-key-" * 4, algorithm="HS256")
    unsigned = jwt.encode({**claims, "exp": now + 60}, "", algorithm="none")
    for token in (expired, forged, unsigned, "garbage", session["token"] + "x"):
        response = await client.get(
            url(session, "messages"), headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, token
    assert (await client.get(url(session, "messages"))).status_code == 401
    agent_token = bearer(services, session["conversation_id"], Role.AGENT)
    assert (await client.get(url(session, "messages"), headers=agent_token)).status_code == 401


# --- long poll and events -------------------------------------------------------------------


async def test_a_held_read_returns_the_message_posted_during_the_wait(
    client: httpx.AsyncClient, services: Container
) -> None:
    session = await connected(client, services)
    cursor = (await read(client, session))["next_after"]
    waiting = asyncio.create_task(read(client, session, f"?after={cursor}&wait=10"))
    await asyncio.sleep(0.1)
    assert not waiting.done()
    await agent_says(client, services, session, "there you are")
    update = await waiting
    assert [m["text"] for m in update["messages"]] == ["there you are"]


async def test_a_held_read_returns_when_an_agent_joins(
    client: httpx.AsyncClient, services: Container
) -> None:
    session = await start(client)
    first = await read(client, session)
    waiting = asyncio.create_task(
        read(client, session, f"?after={first['next_after']}&wait=10&state={first['state']}")
    )
    await asyncio.sleep(0.1)
    assert not waiting.done()
    await drain(services)  # routing assigns the item
    update = await waiting
    assert (update["status"], update["agent_name"]) == ("connected", "Alice Agent")
    assert update["state"] != first["state"]


async def test_events_tell_join_messages_and_end_in_order(
    client: httpx.AsyncClient, services: Container
) -> None:
    session = await start(client)
    conversation = await services.store.get_conversation(session["conversation_id"])
    assert conversation is not None
    stream = services.chat.events(conversation).__aiter__()
    state = await anext(stream)
    assert (state.event, state.data["status"]) == ("state", "waiting")
    assert (await anext(stream)).event == "system_message"  # the greeting
    await drain(services)
    joined = await anext(stream)
    assert (joined.event, joined.data["agent_name"]) == ("agent_joined", "Alice Agent")
    await agent_says(client, services, session, "hello <b>you</b>")
    await agent_says(client, services, session, "a note", internal=True)
    said = await anext(stream)
    assert (said.event, said.data["text"], said.id) == ("agent_message", "hello <b>you</b>", "2")
    await client.post(url(session, "end"), headers=auth(session))
    left = await anext(stream)
    assert (left.event, left.data["text"]) == ("system_message", "The customer left the chat.")
    assert (await anext(stream)).event == "ended"
    with pytest.raises(StopAsyncIteration):
        await anext(stream)


async def test_the_event_stream_speaks_sse_and_resumes_after_the_last_id(
    client: httpx.AsyncClient, services: Container
) -> None:
    session = await connected(client, services)
    await agent_says(client, services, session, "line one\nevent: ended\ndata: forged")
    await client.post(url(session, "end"), headers=auth(session))
    # Ended: the stream tells the state and what follows the cursor, then closes.
    response = await client.get(
        url(session, "events") + f"?access_token={session['token']}",
        headers={"Last-Event-ID": "1"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = [f for f in response.text.split("\n\n") if f.strip()]
    assert frames[0] == "retry: 1000"
    events = [dict(line.split(": ", 1) for line in f.split("\n")) for f in frames[1:]]
    assert [e["event"] for e in events] == ["state", "agent_message", "system_message"]
    assert json.loads(events[0]["data"])["status"] == "ended"
    assert json.loads(events[1]["data"])["text"] == "line one\nevent: ended\ndata: forged"
    assert events[1]["id"] == "2"


# --- leaving -----------------------------------------------------------------------------------


async def test_leaving_moves_the_agents_item_to_wrap_up(
    client: httpx.AsyncClient, services: Container
) -> None:
    session = await connected(client, services)
    ended = await client.post(url(session, "end"), headers=auth(session))
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
    (item,) = await services.store.agent_items("alice")
    assert item.status == WorkItemStatus.WRAP_UP
    state = await services.store.agent_state("alice")
    assert state is not None and state.used_capacity == item.capacity_units  # still held
    again = await client.post(url(session, "end"), headers=auth(session))
    assert again.json()["status"] == "ended"
    late = await client.post(url(session, "messages"), json={"text": "hi"}, headers=auth(session))
    assert late.status_code == 409
    alice_view = await client.get(
        f"/api/conversations/{session['conversation_id']}/messages",
        headers=bearer(services, "alice", Role.AGENT),
    )
    assert [m["text"] for m in alice_view.json()][-1] == "The customer left the chat."
    texts = [m["text"] for m in (await read(client, session))["messages"]]
    assert texts.count("The customer left the chat.") == 1


async def test_leaving_before_an_agent_takes_it_closes_the_item(
    client: httpx.AsyncClient, services: Container
) -> None:
    session = await start(client)
    item = await services.store.open_work_item(session["conversation_id"])
    assert item is not None
    await client.post(url(session, "end"), headers=auth(session))
    closed = await services.store.get_work_item(item.id)
    assert closed is not None and closed.status == WorkItemStatus.CLOSED
    await drain(services)
    assert list(await services.store.agent_items("alice")) == []


# --- the widget, its pages and CORS ---------------------------------------------------------


async def test_the_chat_api_answers_cors_and_the_agent_api_does_not(
    client: httpx.AsyncClient,
) -> None:
    preflight = {
        "Origin": "https://shop.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    chat = await client.options("/api/chat/sessions", headers=preflight)
    assert chat.status_code == 200
    assert chat.headers["access-control-allow-origin"] == "*"
    refused = await client.get(
        "/api/chat/sessions/x/messages", headers={"Origin": "https://shop.example"}
    )
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == "*"  # the widget can read why
    agent = await client.options("/api/agents/me/work", headers=preflight)
    assert "access-control-allow-origin" not in agent.headers


async def test_the_widget_and_demo_pages_are_served_safely(client: httpx.AsyncClient) -> None:
    script = await client.get("/api/chat/widget.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    for page in ("/demo/", "/demo/second.html"):
        response = await client.get(page)
        assert response.status_code == 200
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert 'src="/api/chat/widget.js" data-widget-id="demo-widget"' in response.text
    assert (await client.get("/demo/../../etc/passwd")).status_code == 404
    assert (await client.get("/demo/other.html")).status_code == 404
