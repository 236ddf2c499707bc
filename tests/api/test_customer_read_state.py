"""When the customer last read a chat, over HTTP on both stores: the widget marks it, the agent
sees it in its work and beside the typing state; a mark never moves back."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from devserver.seed import CHAT_WIDGET_ID
from shared.bootstrap import Container
from shared.domain.identity import Role
from tests.cosmos_server import cosmos_app_settings
from tests.support import ManualClock, assert_problem, bearer, drain


@pytest.fixture(params=["sqlite", "cosmos"])
def extra_settings(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    if request.param == "sqlite":
        yield {}
        return
    database = "read-" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:20]
    with cosmos_app_settings(database) as cosmos:
        yield cosmos


async def test_the_agent_sees_when_the_customer_last_read_the_chat(
    client: httpx.AsyncClient, clocked: Container, clock: ManualClock
) -> None:
    services = clocked
    started = await client.post(
        "/api/chat/sessions", json={"widget_id": CHAT_WIDGET_ID, "pre_chat": {"name": "Vi"}}
    )
    assert started.status_code == 201, started.text
    await drain(services)
    session = started.json()
    conversation_id = session["conversation_id"]
    visitor = {"Authorization": f"Bearer {session['token']}"}
    alice = bearer(services, "alice", Role.AGENT)

    async def seen_by_alice() -> tuple[str | None, str | None]:
        (work,) = (await client.get("/api/agents/me/work", headers=alice)).json()
        typing = await client.get(f"/api/conversations/{conversation_id}/typing", headers=alice)
        return work["customer_last_read_at"], typing.json()["customer_last_read_at"]

    assert await seen_by_alice() == (None, None)
    first = await client.post(f"/api/chat/sessions/{conversation_id}/read", headers=visitor)
    assert first.status_code == 200, first.text
    first_at = first.json()["read_at"]
    assert await seen_by_alice() == (first_at, first_at)

    clock.advance(timedelta(seconds=42))
    second = await client.post(f"/api/chat/sessions/{conversation_id}/read", headers=visitor)
    assert second.json()["read_at"] != first_at
    assert await seen_by_alice() == (second.json()["read_at"],) * 2

    # Without the conversation's own token nothing is marked.
    other = await client.post(
        "/api/chat/sessions", json={"widget_id": CHAT_WIDGET_ID, "pre_chat": {"name": "Bo"}}
    )
    assert other.status_code == 201, other.text
    other_token = {"Authorization": f"Bearer {other.json()['token']}"}
    assert_problem(
        await client.post(f"/api/chat/sessions/{conversation_id}/read", headers=other_token), 404
    )
    assert_problem(await client.post(f"/api/chat/sessions/{conversation_id}/read"), 401)
    assert await seen_by_alice() == (second.json()["read_at"],) * 2
