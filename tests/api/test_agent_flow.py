"""The agent side of the slice, in process: work, replies, notes, presence, access."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from pydantic import ValidationError

from shared.bootstrap import Container
from shared.bus_messages import INBOUND, OutboundRequest
from shared.domain.conversations import (
    DeliveryStatus,
    Direction,
    InboundMessage,
    Message,
    SenderKind,
)
from shared.domain.identity import Role
from shared.domain.presence import Presence
from tests.support import assert_problem, bearer, drain, twilio_inbound


def inbound(sid: str, text: str = "hello", sender: str = "+14155550101") -> InboundMessage:
    return twilio_inbound(sid, at=datetime(2026, 11, 1, tzinfo=UTC), text=text, sender=sender)


async def arrive(services: Container, message: InboundMessage) -> None:
    await services.bus.send(
        INBOUND,
        message.model_dump_json(),
        session_id=message.session_key,
        message_id=message.provider_message_id,
    )
    await drain(services)


async def alices_conversation(client: httpx.AsyncClient, services: Container) -> str:
    await arrive(services, inbound("SM1"))
    (work,) = (
        await client.get("/api/agents/me/work", headers=bearer(services, "alice", Role.AGENT))
    ).json()
    return str(work["conversation"]["id"])


async def test_a_reply_goes_to_the_customer_from_the_business_number(
    client: httpx.AsyncClient, services: Container
) -> None:
    conversation_id = await alices_conversation(client, services)
    alice = bearer(services, "alice", Role.AGENT)
    response = await client.post(
        f"/api/conversations/{conversation_id}/messages", json={"text": "Hi Ada!"}, headers=alice
    )
    assert response.status_code == 201
    assert response.json()["status"] == "queued"
    await drain(services)

    outbox = (
        await client.get("/api/sandbox/sms", headers=bearer(services, "sup", Role.SUPERVISOR))
    ).json()
    assert [(s["to"], s["from"], s["text"]) for s in outbox] == [
        ("+14155550101", "+12025550100", "Hi Ada!")
    ]
    messages = (
        await client.get(f"/api/conversations/{conversation_id}/messages", headers=alice)
    ).json()
    assert [(m["sequence"], m["sender"], m["status"]) for m in messages] == [
        (1, "customer", "received"),
        (2, "agent", "sent"),
    ]
    assert messages[1]["provider_message_id"] == "twilio:" + outbox[0]["provider_message_id"]


async def test_an_internal_note_is_never_sent(
    client: httpx.AsyncClient, services: Container
) -> None:
    """Invariant 5 on the SMS path."""
    conversation_id = await alices_conversation(client, services)
    alice = bearer(services, "alice", Role.AGENT)
    note = await client.post(
        f"/api/conversations/{conversation_id}/messages",
        json={"text": "VIP, be nice", "internal": True},
        headers=alice,
    )
    assert note.status_code == 201 and note.json()["status"] is None
    assert await drain(services) == 0
    assert await services.store.list_sent_sms(limit=10) == []
    customer_visible = await services.store.list_messages(conversation_id, include_internal=False)
    assert [m.text for m in customer_visible] == ["hello"]


async def test_a_reply_naming_files_not_uploaded_is_refused_not_sent_without_them(
    client: httpx.AsyncClient, services: Container
) -> None:
    """A reply's files are uploads of its conversation (tests/api/test_attachments.py): one
    naming another file, or a URL, is refused, and nothing stored or sent."""
    conversation_id = await alices_conversation(client, services)
    alice = bearer(services, "alice", Role.AGENT)
    response = await client.post(
        f"/api/conversations/{conversation_id}/messages",
        json={"text": "Here is your invoice", "media": [{"attachment_id": "a" * 32}]},
        headers=alice,
    )
    assert_problem(response, 422, "was not uploaded to this conversation")
    for unknown in (
        {"text": "Hi", "attachments": [{"attachment_id": "a" * 32}]},
        {"text": "Hi", "media": [{"url": "https://files.example.test/invoice.pdf"}]},
    ):
        refused = await client.post(
            f"/api/conversations/{conversation_id}/messages", json=unknown, headers=alice
        )
        assert refused.status_code == 400  # a field the API does not know is never ignored
    assert await drain(services) == 0
    assert await services.store.list_sent_sms(limit=10) == []
    stored = await services.store.list_messages(conversation_id, include_internal=True)
    assert [m.text for m in stored] == ["hello"]


class ProcessDied(Exception):
    """The process stopped here (SIGKILL): nothing after this point ran."""


async def test_a_reply_whose_process_died_before_storing_it_is_stored_and_sent_once(
    client: httpx.AsyncClient, services: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Flow 4 across a crash (found by tests/reliability/test_crash.py): the reply was
    enqueued, the process died before it stored it, the agent got no answer. The outbound
    trigger stores it and sends it: never a reply stored and shown as queued but never sent."""
    conversation_id = await alices_conversation(client, services)
    store_message = services.store.append_message

    async def dies_on_the_agents_reply(message: Message) -> Message | None:
        if message.sender == SenderKind.AGENT:
            monkeypatch.setattr(services.store, "append_message", store_message)
            raise ProcessDied
        return await store_message(message)

    monkeypatch.setattr(services.store, "append_message", dies_on_the_agents_reply)
    with pytest.raises(ProcessDied):
        await services.agent_work.post_message(
            "alice", conversation_id, "On its way", internal=False
        )
    assert len(await services.store.list_messages(conversation_id, include_internal=True)) == 1

    assert await drain(services) == 1
    messages = await services.store.list_messages(conversation_id, include_internal=True)
    assert [(m.sequence, m.sender, m.text, m.status) for m in messages] == [
        (1, SenderKind.CUSTOMER, "hello", DeliveryStatus.RECEIVED),
        (2, SenderKind.AGENT, "On its way", DeliveryStatus.SENT),
    ]
    (sent,) = await services.store.list_sent_sms(limit=10)
    assert (sent.message_id, sent.text) == (messages[1].id, "On its way")


async def test_a_reply_the_outbound_trigger_stored_first_is_answered_as_stored(
    client: httpx.AsyncClient, services: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trigger may run before the reply's own request stores it: that request then answers
    with the one stored, once."""
    conversation_id = await alices_conversation(client, services)
    store_message = services.store.append_message

    async def trigger_runs_first(message: Message) -> Message | None:
        monkeypatch.setattr(services.store, "append_message", store_message)
        assert await drain(services) == 1
        return await store_message(message)

    monkeypatch.setattr(services.store, "append_message", trigger_runs_first)
    reply = await services.agent_work.post_message(
        "alice", conversation_id, "On its way", internal=False
    )
    assert (reply.sequence, reply.status) == (2, DeliveryStatus.SENT)
    assert len(await services.store.list_messages(conversation_id, include_internal=True)) == 2


@pytest.mark.parametrize("internal", [True, False])
def test_an_outbound_request_carries_only_the_customer_visible_message_it_names(
    internal: bool,
) -> None:
    message = Message(
        id="c1.m1",
        conversation_id="c1",
        direction=Direction.OUTBOUND,
        sender=SenderKind.AGENT,
        internal=internal,
        text="x",
        created_at=datetime(2026, 11, 1, tzinfo=UTC),
    )
    with pytest.raises(ValidationError):
        OutboundRequest(message_id="c1.m2" if not internal else message.id, message=message)


async def test_an_agent_sees_only_its_own_conversations(
    client: httpx.AsyncClient, services: Container
) -> None:
    """Invariant 7: bob gets 404 for alice's conversation, as if it did not exist."""
    conversation_id = await alices_conversation(client, services)
    bob = bearer(services, "bob", Role.AGENT)
    assert (
        await client.get(f"/api/conversations/{conversation_id}/messages", headers=bob)
    ).status_code == 404
    response = await client.post(
        f"/api/conversations/{conversation_id}/messages", json={"text": "x"}, headers=bob
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert len(await services.store.list_messages(conversation_id, include_internal=True)) == 1
    assert (await client.get("/api/agents/me/work", headers=bob)).json() == []


async def test_unknown_conversation_is_404(client: httpx.AsyncClient, services: Container) -> None:
    response = await client.get(
        "/api/conversations/nope/messages", headers=bearer(services, "alice", Role.AGENT)
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer not.a.jwt"}, 401),
        ({"Authorization": "Basic YWxpY2U6cGFzcw=="}, 401),
    ],
)
async def test_agent_routes_need_a_valid_token(
    client: httpx.AsyncClient, services: Container, headers: dict[str, str], status: int
) -> None:
    response = await client.get("/api/agents/me/work", headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_an_expired_token_is_refused(client: httpx.AsyncClient, services: Container) -> None:
    assert services.dev_issuer is not None
    expired = services.dev_issuer.issue("alice", [Role.AGENT], lifetime_seconds=-60)
    response = await client.get(
        "/api/agents/me/work", headers={"Authorization": f"Bearer {expired}"}
    )
    assert response.status_code == 401


async def test_roles_are_enforced(client: httpx.AsyncClient, services: Container) -> None:
    assert (
        await client.get("/api/agents/me/work", headers=bearer(services, "sup", Role.SUPERVISOR))
    ).status_code == 403
    assert (
        await client.get("/api/sandbox/sms", headers=bearer(services, "alice", Role.AGENT))
    ).status_code == 403


async def test_a_malformed_reply_is_400_and_stores_nothing(
    client: httpx.AsyncClient, services: Container
) -> None:
    conversation_id = await alices_conversation(client, services)
    alice = bearer(services, "alice", Role.AGENT)
    for body in ({"text": ""}, {"internal": True}, {"text": 5}):
        response = await client.post(
            f"/api/conversations/{conversation_id}/messages", json=body, headers=alice
        )
        assert response.status_code == 400, body
        assert response.headers["content-type"] == "application/problem+json"
    bad_json = await client.post(
        f"/api/conversations/{conversation_id}/messages",
        content=b"{not json",
        headers={**alice, "Content-Type": "application/json"},
    )
    assert bad_json.status_code == 400
    assert len(await services.store.list_messages(conversation_id, include_internal=True)) == 1


async def test_no_work_goes_to_an_agent_whose_presence_is_not_allowed(
    client: httpx.AsyncClient, services: Container
) -> None:
    """Invariant 8: with everyone away the item waits; when one is back it is served at once."""
    for agent_id in ("alice", "bob"):
        response = await client.put(
            "/api/agents/me/presence",
            json={"presence": "away"},
            headers=bearer(services, agent_id, Role.AGENT),
        )
        assert response.status_code == 204
    await drain(services)
    await arrive(services, inbound("SM1"))
    assert [i.queue_id for i in await services.store.waiting_items("q-general", limit=5)] == [
        "q-general"
    ]

    await client.put(
        "/api/agents/me/presence",
        json={"presence": "available"},
        headers=bearer(services, "bob", Role.AGENT),
    )
    await drain(services)
    assert await services.store.waiting_items("q-general", limit=5) == []
    (work,) = (
        await client.get("/api/agents/me/work", headers=bearer(services, "bob", Role.AGENT))
    ).json()
    assert work["item"]["status"] == "active"
    alice = await services.store.agent_state("alice")
    assert alice is not None and alice.presence == Presence.AWAY and alice.used_capacity == 0


async def test_capacity_limits_assignment_and_the_backlog_waits_in_order(
    client: httpx.AsyncClient, services: Container
) -> None:
    """Invariant 1 in the flow: general has alice (4) and bob (2): the 7th customer waits."""
    for n in range(7):
        await arrive(services, inbound(f"SM{n}", sender=f"+1415555020{n}"))
    states = {a: await services.store.agent_state(a) for a in ("alice", "bob")}
    assert {a: s.used_capacity for a, s in states.items() if s} == {"alice": 4, "bob": 2}
    (waiting,) = await services.store.waiting_items("q-general", limit=5)
    conversation = await services.store.get_conversation(waiting.conversation_id)
    assert conversation is not None and conversation.customer_address == "+14155550206"


async def test_the_same_customer_keeps_one_conversation(
    client: httpx.AsyncClient, services: Container
) -> None:
    for n in range(3):
        await arrive(services, inbound(f"SM{n}", text=f"part {n}"))
    (work,) = (
        await client.get("/api/agents/me/work", headers=bearer(services, "alice", Role.AGENT))
    ).json()
    messages = await services.store.list_messages(work["conversation"]["id"], include_internal=True)
    assert [(m.sequence, m.text) for m in messages] == [(1, "part 0"), (2, "part 1"), (3, "part 2")]


async def test_health_and_openapi(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/health")).json()["status"] == "ok"
    document = (await client.get("/api/openapi.json")).json()
    assert {
        "/api/sms/twilio",
        "/api/agents/me/work",
        "/api/conversations/{conversation_id}/messages",
    } <= set(document["paths"])
