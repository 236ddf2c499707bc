"""What the agent's desk reads beside a conversation, over HTTP: the customer's card (with
the candidates to choose from when the number matched several records) and the transfer
picker's queues and agents by name. Whoever is not on the conversation learns nothing (404);
a wrong choice is refused and changes nothing."""

from __future__ import annotations

import httpx

from shared.bootstrap import Container
from shared.domain.customers import Customer
from shared.domain.identity import Role
from tests.api.test_agent_flow import arrive, inbound
from tests.support import assert_problem, bearer


def agent(services: Container, agent_id: str) -> dict[str, str]:
    return bearer(services, agent_id, Role.AGENT)


def url(conversation_id: str, action: str) -> str:
    return f"/api/conversations/{conversation_id}/{action}"


async def alices_conversation(client: httpx.AsyncClient, services: Container, sid: str) -> str:
    await arrive(services, inbound(sid))
    (work,) = (await client.get("/api/agents/me/work", headers=agent(services, "alice"))).json()
    return str(work["conversation"]["id"])


async def test_the_card_names_the_identified_customer(
    client: httpx.AsyncClient, services: Container
) -> None:
    conversation_id = await alices_conversation(client, services, "SM-card")
    card = await client.get(url(conversation_id, "customer"), headers=agent(services, "alice"))
    assert card.status_code == 200, card.text
    body = card.json()
    assert body["customer"]["display_name"] == "Ada Lovelace"
    assert body["customer"]["mobile_phone"] == "+14155550101"
    assert (body["customer_address"], body["channel"], body["candidates"]) == (
        "+14155550101",
        "sms",
        [],
    )
    assert_problem(
        await client.get(url(conversation_id, "customer"), headers=agent(services, "bob")), 404
    )
    assert_problem(
        await client.get(url("no-such-conversation", "customer"), headers=agent(services, "alice")),
        404,
    )


async def test_the_agent_offered_the_work_reads_the_card_before_accepting(
    client: httpx.AsyncClient, services: Container
) -> None:
    workstream = await services.store.get_workstream("ws-sms")
    assert workstream is not None
    await services.store.put_workstream(workstream.model_copy(update={"offer_timeout_seconds": 60}))
    await arrive(services, inbound("SM-offer-card"))
    (offer,) = (await client.get("/api/agents/me/work", headers=agent(services, "alice"))).json()
    assert offer["item"]["status"] == "offered"
    conversation_id = offer["conversation"]["id"]
    card = await client.get(url(conversation_id, "customer"), headers=agent(services, "alice"))
    assert card.json()["customer"]["display_name"] == "Ada Lovelace"
    # The offer is no licence to read the conversation itself, nor to choose for it.
    assert_problem(
        await client.get(url(conversation_id, "messages"), headers=agent(services, "alice")), 404
    )
    assert_problem(
        await client.get(url(conversation_id, "customer"), headers=agent(services, "bob")), 404
    )


async def test_the_agent_picks_the_customer_among_the_candidates(
    client: httpx.AsyncClient, services: Container
) -> None:
    await services.store.put_customer(
        Customer(id="acme", display_name="Acme Ltd", account_phone="+14155550101")
    )
    conversation_id = await alices_conversation(client, services, "SM-candidates")
    alice, bob = agent(services, "alice"), agent(services, "bob")
    card = (await client.get(url(conversation_id, "customer"), headers=alice)).json()
    assert card["customer"] is None
    assert [c["display_name"] for c in card["candidates"]] == ["Acme Ltd", "Ada Lovelace"]

    # Not a candidate, someone else's conversation, a malformed body: refused, nothing changed.
    assert_problem(
        await client.put(
            url(conversation_id, "customer"), json={"customer_id": "cust-grace"}, headers=alice
        ),
        409,
        "not among",
    )
    assert_problem(
        await client.put(
            url(conversation_id, "customer"), json={"customer_id": "acme"}, headers=bob
        ),
        404,
    )
    assert_problem(
        await client.put(url(conversation_id, "customer"), json={"customer_id": ""}, headers=alice),
        400,
    )
    unchanged = await services.store.get_conversation(conversation_id)
    assert unchanged is not None and unchanged.customer_id is None

    chosen = await client.put(
        url(conversation_id, "customer"), json={"customer_id": "acme"}, headers=alice
    )
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["customer"]["display_name"] == "Acme Ltd"
    assert chosen.json()["candidates"] == []
    history = await services.store.customer_conversations("acme", after=None, limit=5)
    assert [c.id for c in history] == [conversation_id]
    # Chosen once: there is nothing left to choose from.
    assert_problem(
        await client.put(
            url(conversation_id, "customer"), json={"customer_id": "cust-ada"}, headers=alice
        ),
        409,
        "no candidates",
    )


async def test_a_consultant_reads_the_card_but_does_not_choose(
    client: httpx.AsyncClient, services: Container
) -> None:
    await services.store.put_customer(
        Customer(id="acme", display_name="Acme Ltd", account_phone="+14155550101")
    )
    conversation_id = await alices_conversation(client, services, "SM-consult-card")
    alice, bob = agent(services, "alice"), agent(services, "bob")
    joined = await client.post(
        url(conversation_id, "consult"), json={"agent_id": "bob"}, headers=alice
    )
    assert joined.status_code == 200, joined.text
    assert (await client.get(url(conversation_id, "customer"), headers=bob)).status_code == 200
    assert_problem(
        await client.put(
            url(conversation_id, "customer"), json={"customer_id": "acme"}, headers=bob
        ),
        403,
    )


async def test_transfer_targets_list_queues_and_available_agents_by_name(
    client: httpx.AsyncClient, services: Container
) -> None:
    conversation_id = await alices_conversation(client, services, "SM-targets")
    alice, bob = agent(services, "alice"), agent(services, "bob")
    targets = await client.get(url(conversation_id, "transfer-targets"), headers=alice)
    assert targets.status_code == 200, targets.text
    body = targets.json()
    assert [(q["id"], q["name"]) for q in body["queues"]] == [
        ("q-billing", "Billing"),
        ("q-general", "General support"),
    ]
    # Alice herself is no target; Bob and Carol are available with room.
    assert [(a["agent_id"], a["display_name"], a["queue_ids"]) for a in body["agents"]] == [
        ("bob", "Bob Agent", ["q-general"]),
        ("carol", "Carol Agent", ["q-billing"]),
    ]

    # An agent whose presence the workstream does not allow is not offered.
    away = await client.put("/api/agents/me/presence", json={"presence": "away"}, headers=bob)
    assert away.status_code == 204, away.text
    body = (await client.get(url(conversation_id, "transfer-targets"), headers=alice)).json()
    assert [a["agent_id"] for a in body["agents"]] == ["carol"]

    # Picking a name from the list transfers to that agent.
    moved = await client.post(
        url(conversation_id, "transfer"), json={"agent_id": "carol"}, headers=alice
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["item"]["agent_id"] == "carol"
    # No longer Alice's: she learns nothing of its targets.
    assert_problem(await client.get(url(conversation_id, "transfer-targets"), headers=alice), 404)
