"""Customers over HTTP on both stores: create, read, search, change, delete and merge with
their roles, the timeline, conversation search by role, and bad input answered with
problem+json changing nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from shared.bootstrap import Container
from shared.domain.channels import ChannelKind
from shared.domain.conversations import ClosingReason, Conversation
from shared.domain.identity import Role
from tests.api.test_agent_flow import alices_conversation, arrive, inbound
from tests.cosmos_server import cosmos_app_settings
from tests.support import assert_problem, bearer

ADA = "cust-ada"  # the demo's customer texting from +14155550101


@pytest.fixture(params=["sqlite", "cosmos"])
def extra_settings(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    if request.param == "sqlite":
        yield {}
        return
    database = "customers-" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:20]
    with cosmos_app_settings(database) as cosmos:
        yield cosmos


def admin(services: Container) -> dict[str, str]:
    return bearer(services, "root", Role.ADMIN)


def supervisor(services: Container) -> dict[str, str]:
    return bearer(services, "sue", Role.SUPERVISOR)


def agent(services: Container, name: str = "alice") -> dict[str, str]:
    return bearer(services, name, Role.AGENT)


async def create(client: httpx.AsyncClient, services: Container, **body: Any) -> httpx.Response:
    return await client.post("/api/customers", json=body, headers=admin(services))


async def stored(services: Container, customer_id: str) -> Any:
    customer = await services.store.get_customer(customer_id)
    return None if customer is None else customer.model_dump()


async def test_a_customer_is_created_normalized_read_found_and_changed(
    client: httpx.AsyncClient, services: Container
) -> None:
    made = await create(
        client,
        services,
        display_name="Katherine Johnson",
        mobile_phone="+44 20 7946 0958",
        email="kj@example.org",
    )
    assert made.status_code == 201, made.text
    customer = made.json()
    assert customer["mobile_phone"] == "+442079460958"
    read = await client.get(f"/api/customers/{customer['id']}", headers=agent(services))
    assert read.json() == customer
    for params in (
        {"phone": "442079460958"},
        {"email": "KJ@example.org"},
        {"name": "john"},
        {"name": "kath", "phone": "+44 20 7946 0958"},
    ):
        page = await client.get("/api/customers", params=params, headers=supervisor(services))
        assert [c["id"] for c in page.json()["items"]] == [customer["id"]], params
    changed = await client.patch(
        f"/api/customers/{customer['id']}",
        json={"account_phone": "+1 202 555 0111", "email": None},
        headers=admin(services),
    )
    assert changed.status_code == 200, changed.text
    assert changed.json() == {
        **customer,
        "account_phone": "+12025550111",
        "email": None,
    }
    assert await stored(services, customer["id"]) == changed.json()


async def test_the_record_as_read_saves_back_unchanged(
    client: httpx.AsyncClient, services: Container
) -> None:
    """A desk that reads a customer, edits a field and sends the whole record back is
    answered with the change; its id and merged_into are checked, never changed."""
    read = (await client.get(f"/api/customers/{ADA}", headers=admin(services))).json()
    saved = await client.patch(f"/api/customers/{ADA}", json=read, headers=admin(services))
    assert saved.status_code == 200, saved.text
    assert saved.json() == read
    renamed = await client.patch(
        f"/api/customers/{ADA}", json={**read, "display_name": "Ada King"}, headers=admin(services)
    )
    assert renamed.json() == {**read, "display_name": "Ada King"}
    before = await stored(services, ADA)
    for wrong in ({**read, "id": "cust-grace"}, {**read, "merged_into": "cust-grace"}):
        refused = await client.patch(f"/api/customers/{ADA}", json=wrong, headers=admin(services))
        assert_problem(refused, 422)
    assert await stored(services, ADA) == before


async def test_the_customer_list_pages_by_cursor(
    client: httpx.AsyncClient, services: Container
) -> None:
    for n in range(3):
        await create(client, services, display_name=f"Pager {n}")
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"name": "pager", "limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/customers", params=params, headers=agent(services))).json()
        seen += [c["display_name"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == ["Pager 0", "Pager 1", "Pager 2"]


async def test_bad_input_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, services: Container
) -> None:
    before = await stored(services, ADA)
    duplicate = await create(client, services, display_name="Ada again", mobile_phone="14155550101")
    assert_problem(duplicate, 409, ADA)
    assert duplicate.json()["existing_id"] == ADA
    assert_problem(await create(client, services, display_name="X", mobile_phone="12"), 422)
    assert_problem(await create(client, services, display_name="X", email="not-an-email"), 422)
    listed = await client.get("/api/customers", params={"name": "x"}, headers=admin(services))
    assert listed.json()["items"] == []
    grace_phone = {"mobile_phone": "+14155550102"}
    taken = await client.patch(f"/api/customers/{ADA}", json=grace_phone, headers=admin(services))
    assert_problem(taken, 409, "cust-grace")
    assert_problem(
        await client.patch(f"/api/customers/{ADA}", json={"email": "@"}, headers=admin(services)),
        422,
    )
    assert await stored(services, ADA) == before
    assert_problem(await client.get("/api/customers/nobody", headers=agent(services)), 404)
    assert_problem(
        await client.patch("/api/customers/nobody", json={}, headers=admin(services)), 404
    )
    assert_problem(await client.delete("/api/customers/nobody", headers=admin(services)), 404)
    assert_problem(await client.get("/api/customers/nobody/timeline", headers=agent(services)), 404)
    assert_problem(
        await client.get("/api/customers", params={"phone": "nope"}, headers=agent(services)), 422
    )


async def test_roles(client: httpx.AsyncClient, services: Container) -> None:
    before = await stored(services, ADA)
    rename = {"display_name": "Countess"}
    body = {"display_name": "Someone"}
    assert_problem(await client.post("/api/customers", json=body, headers=agent(services)), 403)
    assert_problem(
        await client.post("/api/customers", json=body, headers=supervisor(services)), 403
    )
    assert_problem(
        await client.patch(f"/api/customers/{ADA}", json=rename, headers=supervisor(services)),
        403,
    )
    # Alice holds no conversation of Ada's yet: not hers to change.
    assert_problem(
        await client.patch(f"/api/customers/{ADA}", json=rename, headers=agent(services)), 403
    )
    assert_problem(await client.delete(f"/api/customers/{ADA}", headers=agent(services)), 403)
    merge = {"customer_id": "cust-grace"}
    assert_problem(
        await client.post(f"/api/customers/{ADA}/merge", json=merge, headers=supervisor(services)),
        403,
    )
    assert await stored(services, ADA) == before
    # Once Ada's conversation is Alice's, Alice may change Ada's details; Bob still may not.
    conversation_id = await alices_conversation(client, services)
    assert_problem(
        await client.patch(f"/api/customers/{ADA}", json=rename, headers=agent(services, "bob")),
        403,
    )
    mine = await client.patch(f"/api/customers/{ADA}", json=rename, headers=agent(services))
    assert mine.status_code == 200, mine.text
    assert (await stored(services, ADA))["display_name"] == "Countess"
    # Handed on to a queue, it is still one Alice held.
    handed = await client.post(
        f"/api/conversations/{conversation_id}/transfer",
        json={"queue_id": "q-billing"},
        headers=agent(services),
    )
    assert handed.status_code == 200, handed.text
    again = await client.patch(
        f"/api/customers/{ADA}", json={"display_name": "Ada"}, headers=agent(services)
    )
    assert again.status_code == 200, again.text


async def test_merging_moves_the_conversations_and_keeps_the_old_record_resolvable(
    client: httpx.AsyncClient, services: Container
) -> None:
    conversation_id = await alices_conversation(client, services)
    twin = (await create(client, services, display_name="Ada L.", email="ada@example.org")).json()
    into_itself = await client.post(
        f"/api/customers/{ADA}/merge", json={"customer_id": ADA}, headers=admin(services)
    )
    assert_problem(into_itself, 422, "itself")
    unknown = await client.post(
        f"/api/customers/{ADA}/merge", json={"customer_id": "nobody"}, headers=admin(services)
    )
    assert_problem(unknown, 404)
    assert (await stored(services, ADA))["email"] is None

    # Ada merges into the twin: the twin takes Ada's phone and her conversation.
    merged = await client.post(
        f"/api/customers/{twin['id']}/merge", json={"customer_id": ADA}, headers=admin(services)
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["mobile_phone"] == "+14155550101"
    old = (await client.get(f"/api/customers/{ADA}", headers=agent(services))).json()
    assert old["merged_into"] == twin["id"]
    conversation = await services.store.get_conversation(conversation_id)
    assert conversation is not None and conversation.customer_id == twin["id"]
    by_phone = await client.get(
        "/api/customers", params={"phone": "+14155550101"}, headers=agent(services)
    )
    assert [c["id"] for c in by_phone.json()["items"]] == [twin["id"]]
    timeline = await client.get(f"/api/customers/{twin['id']}/timeline", headers=agent(services))
    assert [e["conversation_id"] for e in timeline.json()["items"]] == [conversation_id]
    # The same merge again finds it done; into another record it is refused.
    again = await client.post(
        f"/api/customers/{twin['id']}/merge", json={"customer_id": ADA}, headers=admin(services)
    )
    assert again.status_code == 200
    elsewhere = await client.post(
        "/api/customers/cust-grace/merge", json={"customer_id": ADA}, headers=admin(services)
    )
    assert_problem(elsewhere, 409, twin["id"])
    # A new message from Ada's number is identified as the twin.
    await arrive(services, inbound("SM2", "me again"))
    assert (await services.store.get_conversation(conversation_id)).customer_id == twin["id"]  # type: ignore[union-attr]


async def test_deleting_a_customer_leaves_its_conversations_unidentified(
    client: httpx.AsyncClient, services: Container
) -> None:
    conversation_id = await alices_conversation(client, services)
    gone = await client.delete(f"/api/customers/{ADA}", headers=admin(services))
    assert gone.status_code == 204
    assert await stored(services, ADA) is None
    conversation = await services.store.get_conversation(conversation_id)
    assert conversation is not None and conversation.customer_id is None


async def test_the_timeline_lists_every_conversation_newest_first_with_its_outcome(
    client: httpx.AsyncClient, services: Container
) -> None:
    first = await alices_conversation(client, services)
    alice = agent(services)
    for action in ("end", "close"):
        response = await client.post(f"/api/conversations/{first}/{action}", headers=alice)
        assert response.status_code in (200, 204), response.text
    handled = await services.store.get_conversation(first)
    assert handled is not None
    # An earlier chat of Ada's that no agent had.
    chat, _ = await services.store.open_conversation(
        Conversation(
            id="earlier-chat",
            channel=ChannelKind.CHAT,
            channel_id="chat-web",
            workstream_id="ws-chat",
            customer_address="visitor:ada",
            business_address="web",
            customer_id=ADA,
            opened_at=handled.opened_at - timedelta(days=3),
        )
    )
    await services.store.close_conversation(
        chat.id, chat.opened_at + timedelta(minutes=2), ClosingReason.ABANDONED
    )
    timeline = (await client.get(f"/api/customers/{ADA}/timeline", headers=alice)).json()
    entries = timeline["items"]
    assert [e["conversation_id"] for e in entries] == [first, "earlier-chat"]
    closed, earlier = entries
    assert (closed["status"], closed["outcome"], closed["agent_id"]) == (
        "closed",
        "handled",
        "alice",
    )
    assert closed["channel"] == "sms" and closed["queue_id"] == "q-general"
    assert closed["duration_seconds"] is not None and closed["duration_seconds"] >= 0
    assert closed["transcript_url"] == f"/api/conversations/{first}/messages"
    assert (earlier["channel"], earlier["outcome"], earlier["duration_seconds"]) == (
        "chat",
        "abandoned",
        120,
    )
    assert earlier["agent_id"] is None and earlier["transcript_url"] is None
    transcript = await client.get(closed["transcript_url"], headers=alice)
    assert transcript.status_code == 200
    assert transcript.json()[0]["text"] == "hello"
    seen_by_sue = await client.get(f"/api/customers/{ADA}/timeline", headers=supervisor(services))
    url = seen_by_sue.json()["items"][0]["transcript_url"]
    assert url == f"/api/supervisor/conversations/{first}/messages"
    assert (await client.get(url, headers=supervisor(services))).status_code == 200
    one = await client.get(f"/api/customers/{ADA}/timeline?limit=1", headers=alice)
    rest = await client.get(
        f"/api/customers/{ADA}/timeline",
        params={"limit": "1", "cursor": one.json()["next_cursor"]},
        headers=alice,
    )
    assert [e["conversation_id"] for e in rest.json()["items"]] == ["earlier-chat"]
    assert rest.json()["next_cursor"] is None


async def test_conversation_search_by_role(client: httpx.AsyncClient, services: Container) -> None:
    conversation_id = await alices_conversation(client, services)
    alice = agent(services)
    note = await client.post(
        f"/api/conversations/{conversation_id}/messages",
        json={"text": "suspected fraud", "internal": True},
        headers=alice,
    )
    assert note.status_code == 201

    async def search(headers: dict[str, str], **params: str) -> list[str]:
        response = await client.get("/api/search/conversations", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [c["conversation_id"] for c in response.json()["items"]]

    assert await search(alice, text="HELLO") == [conversation_id]
    assert await search(alice, number="+1 415 555 0101", status="open") == [conversation_id]
    assert await search(alice, customer_id=ADA, channel="sms", agent_id="alice") == [
        conversation_id
    ]
    assert await search(alice, text="fraud") == []  # notes: never in an agent's search
    assert await search(supervisor(services), text="fraud") == [conversation_id]
    # Carol answers q-billing only; the conversation waited in q-general, Alice held it.
    assert await search(agent(services, "carol")) == []
    assert await search(agent(services, "bob")) == [conversation_id]  # bob's queue
    assert await search(alice, status="closed") == []
    for params in (
        {"text": "!!!"},
        {"opened_from": "2026-02-01", "opened_to": "2026-01-01"},
        {"opened_from": "2020-01-01", "opened_to": "2026-01-01"},
    ):
        response = await client.get("/api/search/conversations", params=params, headers=alice)
        assert_problem(response, 422)
    bad_cursor = await client.get(
        "/api/search/conversations", params={"cursor": "nope"}, headers=alice
    )
    assert_problem(bad_cursor, 400)
