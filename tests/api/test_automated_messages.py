"""Automated messages: per workstream, on chat and SMS alike, the customer is told
where they are in the queue, which agent took them, and that the agent ended the conversation;
each once per event, in the admin's words, with nothing internal in them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from devserver.seed import CHAT_WIDGET_ID
from shared.bootstrap import Container
from shared.domain.conversations import SenderKind
from shared.domain.figures import DayFigures, FigureScope
from shared.domain.identity import Role
from shared.domain.routing_config import AutomatedMessages
from tests.api.test_agent_flow import arrive, inbound
from tests.support import bearer, drain, post_twilio_sms

TEXTS = AutomatedMessages(
    received="Thanks! You are number {position} in the queue.",
    agent_assigned="You're now chatting with {agent_name}",
    ended="The agent ended the conversation. Thank you!",
)


async def configure(services: Container, workstream_id: str) -> None:
    workstream = await services.store.get_workstream(workstream_id)
    assert workstream is not None
    await services.store.put_workstream(workstream.model_copy(update={"automated_messages": TEXTS}))


async def sent_texts(services: Container) -> list[str]:
    return [s.text for s in reversed(await services.store.list_sent_sms(limit=50))]


async def test_an_sms_customer_is_told_each_event_once(
    client: httpx.AsyncClient, services: Container
) -> None:
    await configure(services, "ws-sms")
    await arrive(services, inbound("SM1", "hello"))
    await arrive(services, inbound("SM1", "hello"))  # the provider retries: nothing new
    await arrive(services, inbound("SM2", "are you there?"))
    assert await sent_texts(services) == [
        "Thanks! You are number 1 in the queue.",
        "You're now chatting with Alice Agent",
    ]
    alice = bearer(services, "alice", Role.AGENT)
    (work,) = (await client.get("/api/agents/me/work", headers=alice)).json()
    conversation_id = work["conversation"]["id"]
    assert (
        await client.post(f"/api/conversations/{conversation_id}/end", headers=alice)
    ).is_success
    closed = await client.post(f"/api/conversations/{conversation_id}/close", headers=alice)
    assert closed.is_success, closed.text
    await drain(services)
    texts = await sent_texts(services)
    assert texts[2:] == ["The agent ended the conversation. Thank you!"]  # once, not on close
    messages = await services.store.list_messages(conversation_id, include_internal=True)
    system = [m.text for m in messages if m.sender == SenderKind.SYSTEM]
    assert system == texts


async def test_closing_active_work_tells_the_customer_it_ended(
    client: httpx.AsyncClient, services: Container
) -> None:
    await configure(services, "ws-sms")
    await arrive(services, inbound("SM1", "hello"))
    alice = bearer(services, "alice", Role.AGENT)
    (work,) = (await client.get("/api/agents/me/work", headers=alice)).json()
    url = f"/api/conversations/{work['conversation']['id']}/close"
    assert (await client.post(url, headers=alice)).is_success
    await drain(services)
    assert (await sent_texts(services))[-1] == "The agent ended the conversation. Thank you!"


async def test_without_texts_nothing_is_sent(services: Container) -> None:
    await arrive(services, inbound("SM1", "hello"))
    assert await sent_texts(services) == []


async def test_a_chat_visitor_reads_the_events_in_the_transcript(
    client: httpx.AsyncClient, services: Container
) -> None:
    await configure(services, "ws-chat")
    started = await client.post(
        "/api/chat/sessions", json={"widget_id": CHAT_WIDGET_ID, "pre_chat": {"name": "Vi"}}
    )
    session: dict[str, Any] = started.json()
    await drain(services)
    read = await client.get(
        f"/api/chat/sessions/{session['conversation_id']}/messages",
        headers={"Authorization": f"Bearer {session['token']}"},
    )
    body = read.json()
    assert body["status"] == "connected"
    assert [(m["sender"], m["text"]) for m in body["messages"]] == [
        ("system", "Hello! An agent will be with you shortly."),
        ("system", "Thanks! You are number 1 in the queue."),
        ("system", "You're now chatting with Alice Agent"),
    ]


FRENCH = AutomatedMessages(
    received="Merci ! Vous êtes numéro {position} dans la file.",
    agent_assigned="Vous discutez maintenant avec {agent_name}",
)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("fr-CA", "Merci ! Vous êtes numéro 1 dans la file."),  # its language's texts
        ("FR", "Merci ! Vous êtes numéro 1 dans la file."),
        ("de-DE", "Thanks! You are number 1 in the queue."),  # none: the default texts
        (None, "Thanks! You are number 1 in the queue."),
    ],
)
async def test_a_visitor_is_told_in_their_language(
    client: httpx.AsyncClient, services: Container, locale: str | None, expected: str
) -> None:
    workstream = await services.store.get_workstream("ws-chat")
    assert workstream is not None
    await services.store.put_workstream(
        workstream.model_copy(
            update={"automated_messages": TEXTS, "automated_messages_by_locale": {"fr": FRENCH}}
        )
    )
    started = await client.post(
        "/api/chat/sessions",
        json={"widget_id": CHAT_WIDGET_ID, "pre_chat": {"name": "Vi"}}
        | ({} if locale is None else {"locale": locale}),
    )
    session: dict[str, Any] = started.json()
    await drain(services)
    read = await client.get(
        f"/api/chat/sessions/{session['conversation_id']}/messages",
        headers={"Authorization": f"Bearer {session['token']}"},
    )
    assert [m["text"] for m in read.json()["messages"]][1] == expected


async def test_a_locale_must_be_a_language_tag(client: httpx.AsyncClient) -> None:
    started = await client.post(
        "/api/chat/sessions",
        json={"widget_id": CHAT_WIDGET_ID, "pre_chat": {"name": "Vi"}, "locale": "<script>"},
    )
    assert started.status_code == 400


async def test_only_known_placeholders_are_accepted(
    client: httpx.AsyncClient, services: Container
) -> None:
    admin = bearer(services, "root", Role.ADMIN)
    current = (await client.get("/api/admin/workstreams/ws-sms", headers=admin)).json()
    for text in ("Your id is {conversation_id}", "{agent_name.__class__}", "{0}", "{unclosed"):
        body = current | {"automated_messages": {"agent_assigned": text}}
        response = await client.put("/api/admin/workstreams/ws-sms", json=body, headers=admin)
        assert response.status_code == 400, (text, response.text)
    good = current | {"automated_messages": {"received": "You are number {position}"}}
    saved = await client.put("/api/admin/workstreams/ws-sms", json=good, headers=admin)
    assert saved.status_code == 200, saved.text
    assert saved.json()["automated_messages"]["received"] == "You are number {position}"


WAITING = "You are number {position}; the wait is about {wait_minutes} minutes."


@pytest.mark.parametrize(
    ("answered", "average_wait_seconds", "told"),
    [
        (0, None, ["You are number 1; the wait is about ? minutes."]),  # no basis yet
        (3, 120.0, ["You are number 1; the wait is about 1-4 minutes."]),  # thin: a range
        (
            20,
            90.0,
            [
                "You are number 1; the wait is about 2 minutes.",
                "You are number 2; the wait is about 3 minutes.",
            ],
        ),
    ],
)
async def test_a_waiting_customer_is_told_the_estimated_wait(
    client: httpx.AsyncClient,
    services: Container,
    answered: int,
    average_wait_seconds: float | None,
    told: list[str],
) -> None:
    """Failure 6 of issue 15: the waiting message could say the position but no wait."""
    admin = bearer(services, "root", Role.ADMIN)
    url = "/api/admin/workstreams/ws-sms"
    current = (await client.get(url, headers=admin)).json()
    # Nobody may take work, so each customer waits behind the one before.
    waiting = current | {"automated_messages": {"received": WAITING}, "allowed_presences": []}
    assert (await client.put(url, json=waiting, headers=admin)).status_code == 200
    if answered:
        await services.store.put_day_figures(
            [
                DayFigures(
                    day=services.figures.today(),
                    scope=FigureScope.QUEUE,
                    key="q-general",
                    assigned=answered,
                    wait_seconds=answered * (average_wait_seconds or 0),
                )
            ]
        )
    for n, sender in enumerate(("+14155550101", "+14155550102")[: len(told)]):
        sent = await post_twilio_sms(client, sender=sender, text="hello", sid=f"SM{n}")
        assert sent.status_code == 200, sent.text
        await drain(services)
    sandbox = (await client.get("/api/sandbox/sms", headers=admin)).json()
    assert sorted(s["text"] for s in sandbox) == told
