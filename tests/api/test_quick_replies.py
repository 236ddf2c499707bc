"""Quick replies over HTTP on both stores: an admin saves them (checked at save), an agent finds
them within its conversations' workstreams and fills one for a conversation."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx
import pytest

from devserver.seed import CHAT_WIDGET_ID
from shared.bootstrap import Container
from shared.domain.identity import Role
from tests.api.test_agent_flow import alices_conversation
from tests.cosmos_server import cosmos_app_settings
from tests.support import assert_problem, bearer, drain


@pytest.fixture(params=["sqlite", "cosmos"])
def extra_settings(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    if request.param == "sqlite":
        yield {}
        return
    database = "quick-" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:20]
    with cosmos_app_settings(database) as cosmos:
        yield cosmos


def admin(services: Container) -> dict[str, str]:
    return bearer(services, "root", Role.ADMIN)


def agent(services: Container, agent_id: str = "alice") -> dict[str, str]:
    return bearer(services, agent_id, Role.AGENT)


async def chat_conversation(
    client: httpx.AsyncClient, services: Container, *, locale: str | None = None
) -> str:
    """An unidentified visitor named Vi Visitor chats (workstream ws-chat) with a context
    variable set by the page."""
    started = await client.post(
        "/api/chat/sessions",
        json={
            "widget_id": CHAT_WIDGET_ID,
            "pre_chat": {"name": "Vi Visitor"},
            "context": {"order_number": "A-1042"},
            **({"locale": locale} if locale else {}),
        },
    )
    assert started.status_code == 201, started.text
    await drain(services)
    return str(started.json()["conversation_id"])


async def test_an_admin_saves_lists_and_deletes_a_quick_reply(
    client: httpx.AsyncClient, services: Container
) -> None:
    body = {
        "workstream_id": "ws-chat",
        "locale": "en",
        "title": "Order status",
        "text": "{first_name}, order {order_number} is on its way. {agent_name}",
        "context_variables": ["order_number"],
    }
    saved = await client.put(
        "/api/admin/quick-replies/qr-order", json=body, headers=admin(services)
    )
    assert saved.status_code == 200, saved.text
    assert saved.json() == {**body, "id": "qr-order"}
    listed = (await client.get("/api/admin/quick-replies", headers=admin(services))).json()
    assert "qr-order" in [r["id"] for r in listed["items"]]
    deleted = await client.delete("/api/admin/quick-replies/qr-order", headers=admin(services))
    assert deleted.status_code == 204
    assert_problem(
        await client.get("/api/admin/quick-replies/qr-order", headers=admin(services)), 404
    )
    assert_problem(
        await client.delete("/api/admin/quick-replies/qr-order", headers=admin(services)), 404
    )
    assert_problem(await client.get("/api/admin/quick-replies", headers=agent(services)), 403)


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"text": "Hi {nickname}"}, "unknown placeholder {nickname}"),
        ({"text": "Hi {order_number}"}, "unknown placeholder {order_number}"),
        ({"text": "Hi {0}"}, "not a plain name"),
        ({"text": "Hi {first_name"}, "malformed"),
        ({"context_variables": ["agent_name"]}, "are the customer's or agent's"),
        ({"workstream_id": "ws-nowhere"}, "workstream ws-nowhere does not exist"),
    ],
)
async def test_a_quick_reply_that_cannot_be_filled_is_refused_changing_nothing(
    client: httpx.AsyncClient, services: Container, change: dict[str, object], detail: str
) -> None:
    url = "/api/admin/quick-replies/qr-greeting-sms"
    before = (await client.get(url, headers=admin(services))).json()
    refused = await client.put(url, json={**before, **change}, headers=admin(services))
    assert_problem(refused, 422, detail)
    assert (await client.get(url, headers=admin(services))).json() == before
    assert await services.store.get_quick_reply("qr-new") is None
    refused_new = await client.put(
        "/api/admin/quick-replies/qr-new",
        json={**before, **change, "id": "qr-new"},
        headers=admin(services),
    )
    assert refused_new.status_code in (400, 422)
    assert await services.store.get_quick_reply("qr-new") is None


async def test_an_agent_finds_the_replies_of_the_workstreams_it_holds(
    client: httpx.AsyncClient, services: Container
) -> None:
    alice = agent(services)
    assert (await client.get("/api/quick-replies", headers=alice)).json() == []
    conversation_id = await alices_conversation(client, services)

    async def titles(**params: str) -> list[str]:
        found = await client.get("/api/quick-replies", params=params, headers=alice)
        assert found.status_code == 200, found.text
        return [r["id"] for r in found.json()]

    assert await titles() == ["qr-greeting-sms"]
    assert await titles(q="GREET") == ["qr-greeting-sms"]
    assert await titles(q="how can i") == ["qr-greeting-sms"]
    assert await titles(q="refund") == []  # the chat workstream's: Alice holds no chat
    assert await titles(q="greet", conversation_id=conversation_id) == ["qr-greeting-sms"]
    # Bob holds nothing: no reply is his to find, and Alice's conversation is not his.
    bob = agent(services, "bob")
    assert (await client.get("/api/quick-replies", headers=bob)).json() == []
    assert_problem(
        await client.get(
            "/api/quick-replies", params={"conversation_id": conversation_id}, headers=bob
        ),
        404,
    )
    assert_problem(
        await client.get(
            "/api/quick-replies", params={"conversation_id": "no-such"}, headers=alice
        ),
        404,
    )


async def test_a_reply_is_filled_for_the_conversation(
    client: httpx.AsyncClient, services: Container
) -> None:
    alice = agent(services)
    conversation_id = await alices_conversation(client, services)
    rendered = await client.get(
        f"/api/conversations/{conversation_id}/quick-replies/qr-greeting-sms", headers=alice
    )
    assert rendered.status_code == 200, rendered.text
    assert rendered.json() == {
        "id": "qr-greeting-sms",
        "title": "Greeting",
        "text": "Hello Ada, this is Alice Agent. How can I help?",
        "missing": [],
    }
    # Another workstream's reply is not this conversation's; nor is an unknown one.
    for other in ("qr-greeting-chat", "qr-absent"):
        assert_problem(
            await client.get(
                f"/api/conversations/{conversation_id}/quick-replies/{other}", headers=alice
            ),
            404,
        )
    assert_problem(
        await client.get(
            f"/api/conversations/{conversation_id}/quick-replies/qr-greeting-sms",
            headers=agent(services, "bob"),
        ),
        404,
    )


async def test_chat_replies_follow_the_visitors_language_and_context(
    client: httpx.AsyncClient, services: Container
) -> None:
    order = {
        "workstream_id": "ws-chat",
        "title": "Order status",
        "text": "Order {order_number} ships today; {coupon} off next time, {first_name}.",
        "context_variables": ["order_number", "coupon"],
    }
    saved = await client.put(
        "/api/admin/quick-replies/qr-order", json=order, headers=admin(services)
    )
    assert saved.status_code == 200, saved.text
    alice = agent(services)
    conversation_id = await chat_conversation(client, services, locale="fr-CA")
    found = await client.get(
        "/api/quick-replies", params={"conversation_id": conversation_id}, headers=alice
    )
    # French first (same language, another region), then those for any language by title.
    assert [r["id"] for r in found.json()] == [
        "qr-greeting-chat-fr",
        "qr-greeting-chat",
        "qr-order",
        "qr-refund-chat",
    ]
    rendered = (
        await client.get(
            f"/api/conversations/{conversation_id}/quick-replies/qr-order", headers=alice
        )
    ).json()
    assert rendered["text"] == "Order A-1042 ships today;  off next time, Vi."
    assert rendered["missing"] == ["coupon"]
