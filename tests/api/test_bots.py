"""Bots as first responders, in process over real loopback HTTP: the signed request, answers
sent back through the outbound path (SMS and chat), escalation to a human with the transcript,
and a bot that fails or times out never leaving a customer stranded.

The bot is a LoopbackApi the test scripts; the app's real HTTP bot client calls it. Retries
run on a clock driven by hand, so no test waits for a backoff.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from shared.bootstrap import Container
from shared.domain.bots import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, signature_matches
from shared.domain.identity import Role
from shared.domain.presence import Presence
from shared.domain.routing_config import BotConfig, OperatingHours, OperatingWindow, Redirect
from shared.domain.work import WorkItemStatus
from tests.api.test_agent_flow import arrive, inbound
from tests.loopback import Answer, LoopbackApi
from tests.support import ManualClock, bearer, drain

SECRET = "bot-signing-secret-0123456789"
HELLO = "Hi! I am the assistant. How can I help?"


def reply(text: str = HELLO) -> Answer:
    return Answer(200, {"reply": text})


async def give_bot(services: Container, endpoint: str, **fields: Any) -> BotConfig:
    """The SMS workstream gets a bot in front of its queues."""
    bot = BotConfig(id="helper", name="Helper Bot", endpoint=endpoint, secret=SECRET, **fields)
    for workstream_id in ("ws-sms", "ws-chat"):
        workstream = await services.store.get_workstream(workstream_id)
        assert workstream is not None
        await services.store.put_workstream(workstream.model_copy(update={"bot": bot}))
    return bot


@pytest.fixture
def bot() -> Iterator[LoopbackApi]:
    with LoopbackApi(reply()).running() as running:
        yield running


async def work_of(client: httpx.AsyncClient, services: Container, agent_id: str) -> list[Any]:
    response = await client.get(
        "/api/agents/me/work", headers=bearer(services, agent_id, Role.AGENT)
    )
    return list(response.json())


async def transcript(services: Container) -> list[tuple[str, str | None, bool, str]]:
    """The one conversation's messages as (sender, bot id, internal, text)."""
    conversation_id = await only_conversation(services)
    return [
        (str(m.sender), m.bot_id, m.internal, m.text)
        for m in await services.store.list_messages(conversation_id, include_internal=True)
    ]


async def only_conversation(services: Container) -> str:
    customer = await services.store.find_message_by_provider_id("twilio:SM1")
    assert customer is not None
    return customer.conversation_id


async def sent_texts(services: Container) -> list[str]:
    return [s.text for s in reversed(await services.store.list_sent_sms(limit=50))]


# --- answering --------------------------------------------------------------------------------


async def test_the_bot_answers_an_sms_with_a_signed_request(
    client: httpx.AsyncClient, services: Container, bot: LoopbackApi
) -> None:
    await give_bot(services, bot.base_url + "/bot")
    await arrive(services, inbound("SM1", "What are your opening hours?"))

    (call,) = bot.requests
    assert (call.method, call.path) == ("POST", "/bot")
    assert signature_matches(SECRET, call.body, call.headers[SIGNATURE_HEADER.lower()])
    assert not signature_matches("another-secret-0123456789", call.body, "sha256=0")
    body = call.json()
    conversation_id = await only_conversation(services)
    customer = await services.store.find_message_by_provider_id("twilio:SM1")
    assert customer is not None
    assert call.headers[IDEMPOTENCY_HEADER.lower()] == customer.id
    assert {k: body[k] for k in ("version", "bot_id", "conversation_id", "channel")} == {
        "version": 1,
        "bot_id": "helper",
        "conversation_id": conversation_id,
        "channel": "sms",
    }
    assert (body["business_address"], body["customer_id"], body["attempt"]) == (
        "+12025550100",
        "cust-ada",
        1,
    )
    assert body["message"]["text"] == "What are your opening hours?"

    assert await sent_texts(services) == [HELLO]
    assert await transcript(services) == [
        ("customer", None, False, "What are your opening hours?"),
        ("bot", "helper", False, HELLO),
    ]
    # The bot has it: no agent is offered anything, nothing waits for one.
    assert await work_of(client, services, "alice") == []
    item = await services.store.open_work_item(conversation_id)
    assert item is not None and item.status == WorkItemStatus.BOT
    assert await services.store.waiting_items("q-general", limit=5) == []


async def test_escalation_hands_the_transcript_to_an_agent(
    client: httpx.AsyncClient, services: Container, bot: LoopbackApi
) -> None:
    await give_bot(services, bot.base_url)
    bot.answer_with(
        reply(),
        Answer(200, {"escalate": True, "reason": "billing dispute", "reply": "One moment."}),
    )
    await arrive(services, inbound("SM1", "Hello"))
    await arrive(services, inbound("SM2", "I want to talk to a person"))

    (work,) = await work_of(client, services, "alice")
    conversation_id = work["conversation"]["id"]
    assert work["item"]["status"] == "active"
    messages = await client.get(
        f"/api/conversations/{conversation_id}/messages",
        headers=bearer(services, "alice", Role.AGENT),
    )
    assert [(m["sender"], m["bot_id"], m["internal"]) for m in messages.json()] == [
        ("customer", None, False),
        ("bot", "helper", False),
        ("customer", None, False),
        ("bot", "helper", False),
        ("system", "helper", True),
    ]
    assert "bot helper escalated: billing dispute" in messages.json()[-1]["text"]
    assert await sent_texts(services) == [HELLO, "One moment."]  # the note never goes out

    decisions = await client.get(
        f"/api/supervisor/conversations/{conversation_id}/routing",
        headers=bearer(services, "sup", Role.SUPERVISOR),
    )
    reasons = [d["reason"] for d in decisions.json()]
    assert reasons[0] == "bot helper escalated: billing dispute"
    assert reasons[-1].startswith("assigned by")

    # Now a human has it: the bot hears no more.
    await arrive(services, inbound("SM3", "Thanks"))
    assert len(bot.requests) == 2


async def test_the_bot_fronts_only_its_queues(
    client: httpx.AsyncClient, services: Container, bot: LoopbackApi
) -> None:
    await give_bot(services, bot.base_url, queue_ids=("q-billing",))
    await arrive(services, inbound("SM1", "Where is my parcel?"))  # q-general: no bot
    assert bot.requests == []
    assert len(await work_of(client, services, "alice")) == 1
    await arrive(services, inbound("SM2", "My bill is wrong", sender="+14155550102"))
    assert len(bot.requests) == 1


# --- a bot that fails -------------------------------------------------------------------------


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A port that takes connections and never answers: what a hung bot looks like."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/bot"


async def test_a_bot_that_times_out_hands_over_at_once(
    client: httpx.AsyncClient, services: Container, silent_endpoint: str
) -> None:
    await give_bot(services, silent_endpoint, timeout_seconds=0.2)
    await arrive(services, inbound("SM1", "Hello?"))
    (work,) = await work_of(client, services, "alice")
    (*_, note) = await transcript(services)
    assert note[:3] == ("system", "helper", True)
    assert "no answer within 0.2 s" in note[3]
    assert work["item"]["status"] == "active"


@pytest.mark.parametrize(
    "answer",
    [
        Answer(404, {"error": "no such bot"}),
        Answer(200, {"text": "a reply under the wrong name"}),
        Answer(200, {"reply": ""}),
    ],
    ids=["http-404", "off-contract", "empty-reply"],
)
async def test_a_permanent_failure_hands_over_without_retrying(
    client: httpx.AsyncClient, services: Container, bot: LoopbackApi, answer: Answer
) -> None:
    await give_bot(services, bot.base_url)
    bot.answer_with(answer)
    await arrive(services, inbound("SM1", "Hello?"))
    assert len(bot.requests) == 1
    assert len(await work_of(client, services, "alice")) == 1
    assert await sent_texts(services) == []


async def test_transient_failures_are_retried_with_backoff(
    client: httpx.AsyncClient, clocked: Container, clock: ManualClock, bot: LoopbackApi
) -> None:
    await give_bot(clocked, bot.base_url, max_attempts=4)
    bot.answer_with(Answer(503, {}), Answer(429, {}), reply())
    await arrive(clocked, inbound("SM1", "Hello"))
    assert len(bot.requests) == 1

    clock.advance(timedelta(seconds=1))
    await drain(clocked)
    assert len(bot.requests) == 1  # the first retry waits 2 s
    clock.advance(timedelta(seconds=1))
    await drain(clocked)
    assert len(bot.requests) == 2  # then 4 s
    clock.advance(timedelta(seconds=4))
    await drain(clocked)
    assert [r.json()["attempt"] for r in bot.requests] == [1, 2, 3]
    assert len({r.headers[IDEMPOTENCY_HEADER.lower()] for r in bot.requests}) == 1
    assert await sent_texts(clocked) == [HELLO]
    assert await work_of(client, clocked, "alice") == []


async def test_a_bot_down_on_every_attempt_hands_over(
    client: httpx.AsyncClient, clocked: Container, clock: ManualClock, bot: LoopbackApi
) -> None:
    await give_bot(clocked, bot.base_url, max_attempts=2)
    bot.answer_with(Answer(502, {}))
    await arrive(clocked, inbound("SM1", "Hello"))
    assert await work_of(client, clocked, "alice") == []
    clock.advance(timedelta(seconds=2))
    await drain(clocked)
    assert len(bot.requests) == 2
    (work,) = await work_of(client, clocked, "alice")
    assert work["item"]["status"] == "active"
    (*_, note) = await transcript(clocked)
    assert "bot helper failed: the bot answered HTTP 502" in note[3]


async def test_an_escalation_out_of_hours_goes_where_the_queue_says(
    client: httpx.AsyncClient, services: Container, bot: LoopbackApi
) -> None:
    today = services.clock.now().date()
    general = await services.store.get_queue("q-general")
    assert general is not None
    await services.store.put_queue(
        general.model_copy(
            update={
                "operating_hours": OperatingHours(
                    time_zone="UTC",
                    windows=(OperatingWindow(days=(0,), start="09:00", end="10:00"),),
                    closed_dates=tuple(today + timedelta(days=d) for d in (-1, 0, 1)),
                ),
                "out_of_hours": Redirect(queue_id="q-billing", message="We are closed."),
            }
        )
    )
    await services.agent_work.set_presence("alice", Presence.AWAY)
    await give_bot(services, bot.base_url)
    bot.answer_with(Answer(200, {"escalate": True}))
    await arrive(services, inbound("SM1", "Hello"))
    (work,) = await work_of(client, services, "carol")
    assert work["item"]["queue_id"] == "q-billing"
    assert await sent_texts(services) == ["We are closed."]


# --- chat -------------------------------------------------------------------------------------


async def test_the_bot_answers_in_the_chat_widget(
    client: httpx.AsyncClient, services: Container, bot: LoopbackApi
) -> None:
    await give_bot(services, bot.base_url)
    started = await client.post(
        "/api/chat/sessions",
        json={
            "widget_id": "demo-widget",
            "pre_chat": {"name": "Ada Lovelace", "topic": "delivery"},
            "context": {"page": "/orders", "cart_total": 42.5},
        },
    )
    assert started.status_code == 201, started.text
    session = started.json()
    auth = {"Authorization": f"Bearer {session['token']}"}
    path = f"/api/chat/sessions/{session['conversation_id']}/messages"
    assert (await client.post(path, json={"text": "Where is it?"}, headers=auth)).status_code == 201
    await drain(services)

    (call,) = bot.requests
    body = call.json()
    assert (body["channel"], body["message"]["text"]) == ("chat", "Where is it?")
    assert body["pre_chat"] == {"name": "Ada Lovelace", "topic": "delivery"}
    assert body["context"] == {"page": "/orders", "cart_total": 42.5}
    update = (await client.get(path, headers=auth)).json()
    assert [(m["sender"], m["sender_name"], m["text"]) for m in update["messages"]][1:] == [
        ("customer", None, "Where is it?"),
        ("bot", "Helper Bot", HELLO),
    ]
    assert update["status"] == "waiting"


# --- configuration ----------------------------------------------------------------------------


async def test_the_bot_secret_is_write_only(client: httpx.AsyncClient, services: Container) -> None:
    admin = bearer(services, "admin", Role.ADMIN)
    current = (await client.get("/api/admin/workstreams/ws-sms", headers=admin)).json()
    with_bot = {
        **current,
        "bot": {"id": "helper", "endpoint": "https://bot.example.test/hook", "secret": SECRET},
    }
    written = await client.put("/api/admin/workstreams/ws-sms", json=with_bot, headers=admin)
    assert written.status_code == 200, written.text
    assert "secret" not in written.json()["bot"]
    read = (await client.get("/api/admin/workstreams/ws-sms", headers=admin)).json()
    assert "secret" not in read["bot"]
    listed = (await client.get("/api/admin/workstreams", headers=admin)).json()
    assert SECRET not in str(listed)

    renamed = {**read, "bot": {**read["bot"], "name": "Ava"}}  # no secret: the stored one stays
    assert (
        await client.put("/api/admin/workstreams/ws-sms", json=renamed, headers=admin)
    ).status_code == 200
    stored = await services.store.get_workstream("ws-sms")
    assert stored is not None and stored.bot is not None
    assert (stored.bot.name, stored.bot.secret) == ("Ava", SECRET)

    chat = (await client.get("/api/admin/workstreams/ws-chat", headers=admin)).json()
    unsigned = {**chat, "bot": {"id": "helper", "endpoint": "https://bot.example.test/hook"}}
    refused = await client.put("/api/admin/workstreams/ws-chat", json=unsigned, headers=admin)
    assert refused.status_code == 400
    unknown_queue = {**with_bot, "bot": {**with_bot["bot"], "queue_ids": ["q-nowhere"]}}
    assert (
        await client.put("/api/admin/workstreams/ws-sms", json=unknown_queue, headers=admin)
    ).status_code == 400
