"""Chat: typing indicators both ways, and visitors identified by email."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any, cast

import httpx
import pytest

from devserver.seed import CHAT_WIDGET_ID
from shared.bootstrap import Container
from shared.domain.channels import ChannelKind, ChatWidget, PreChatQuestion
from shared.domain.customers import Customer
from shared.domain.identity import Role
from shared.services.chat import ChatEvent
from tests.channels.chat.test_chat_api import auth, connected, read, start, url
from tests.support import bearer


@pytest.fixture
def extra_settings() -> dict[str, str]:
    return {"CHAT_MAX_WAIT_SECONDS": "10", "CHAT_POLL_INTERVAL_SECONDS": "0.02"}


def agent_url(session: dict[str, Any]) -> str:
    return f"/api/conversations/{session['conversation_id']}/typing"


async def test_the_agent_sees_the_customer_typing_until_the_message_is_sent(
    client: httpx.AsyncClient, services: Container
) -> None:
    session = await connected(client, services)
    alice = bearer(services, "alice", Role.AGENT)
    assert (await client.get(agent_url(session), headers=alice)).json() == {
        "customer_typing": False,
        "customer_last_read_at": None,
    }
    typed = await client.post(url(session, "typing"), headers=auth(session))
    assert typed.status_code == 204
    assert (await client.get(agent_url(session), headers=alice)).json()["customer_typing"]
    sent = await client.post(url(session, "messages"), json={"text": "hi"}, headers=auth(session))
    assert sent.status_code == 201
    assert not (await client.get(agent_url(session), headers=alice)).json()["customer_typing"]
    # Another agent learns nothing of the conversation; a bad token is refused.
    bob = bearer(services, "bob", Role.AGENT)
    assert (await client.get(agent_url(session), headers=bob)).status_code == 404
    assert (await client.post(agent_url(session), headers=bob)).status_code == 404
    forged = await client.post(url(session, "typing"), headers={"Authorization": "Bearer x"})
    assert forged.status_code == 401


async def test_the_customer_sees_the_agent_typing_by_long_poll_and_events(
    client: httpx.AsyncClient, services: Container
) -> None:
    session = await connected(client, services)
    alice = bearer(services, "alice", Role.AGENT)
    first = await read(client, session)
    assert first["agent_typing"] is False
    conversation = await services.store.get_conversation(session["conversation_id"])
    assert conversation is not None
    stream = services.chat.events(conversation, after=first["next_after"])
    assert (await anext(stream)).event == "state"

    # A held read with the state it has answers as soon as the agent types.
    held = asyncio.create_task(
        read(client, session, f"?after={first['next_after']}&wait=10&state={first['state']}")
    )
    assert (await client.post(agent_url(session), headers=alice)).status_code == 204
    update = await held
    assert update["agent_typing"] is True and update["state"] != first["state"]
    typing = await anext(stream)
    assert (typing.event, typing.data) == ("typing", {"agent_typing": True})

    # The reply is sent: the agent is no longer typing, and the stream says so.
    sent = await client.post(
        f"/api/conversations/{session['conversation_id']}/messages",
        json={"text": "Here to help"},
        headers=alice,
    )
    assert sent.status_code == 201
    events = [await anext(stream), await anext(stream)]
    assert {(e.event, str(e.data.get("agent_typing"))) for e in events} == {
        ("typing", "False"),
        ("agent_message", "None"),
    }
    await cast(AsyncGenerator[ChatEvent], stream).aclose()
    assert (await read(client, session))["agent_typing"] is False


async def test_typing_in_an_ended_chat_is_refused(
    client: httpx.AsyncClient, services: Container
) -> None:
    session = await start(client)
    assert (await client.post(url(session, "end"), headers=auth(session))).status_code == 200
    assert (await client.post(url(session, "typing"), headers=auth(session))).status_code == 409


async def test_a_pre_chat_email_identifies_the_visitor(
    client: httpx.AsyncClient, services: Container
) -> None:
    channel = await services.store.find_channel(ChannelKind.CHAT, CHAT_WIDGET_ID)
    assert channel is not None
    form = ChatWidget(
        pre_chat=(
            PreChatQuestion(key="name", label="Name", required=True),
            PreChatQuestion(key="email", label="Email", required=True, identifies="email"),
        )
    )
    await services.store.put_channel(channel.model_copy(update={"chat": form}))
    await services.store.put_customer(
        Customer(id="cust-ada", display_name="Ada Lovelace", email="Ada@Example.org")
    )
    for twin in ("cust-twin-1", "cust-twin-2"):
        await services.store.put_customer(
            Customer(id=twin, display_name="Twin", email="twins@example.org")
        )

    async def identified(email: str) -> tuple[str | None, tuple[str, ...]]:
        session = await start(client, pre_chat={"name": "V", "email": email})
        conversation = await services.store.get_conversation(session["conversation_id"])
        assert conversation is not None
        return conversation.customer_id, conversation.customer_candidates

    assert await identified(" ada@EXAMPLE.org ") == ("cust-ada", ())
    assert await identified("nobody@example.org") == (None, ())
    assert await identified("twins@example.org") == (None, ("cust-twin-1", "cust-twin-2"))
