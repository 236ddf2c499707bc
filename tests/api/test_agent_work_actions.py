"""Presence and the agent's work through the API: each presence rule as stored and
applied, and each action on a conversation, with the wrong role, agent or state refused by a
clear problem (403/404/409) that changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from shared.bootstrap import Container
from shared.domain.identity import Role
from shared.domain.presence import Presence, PresencePolicy, PresenceSettings
from shared.domain.work import WorkItemStatus
from shared.services.agent_work import AgentWorkService
from shared.services.presence import PresenceService
from tests.api.test_agent_flow import arrive, inbound
from tests.support import assert_problem, bearer, drain


def agent(services: Container, agent_id: str) -> dict[str, str]:
    return bearer(services, agent_id, Role.AGENT)


async def presence_of(services: Container, agent_id: str) -> Presence:
    state = await services.store.agent_state(agent_id)
    assert state is not None
    return state.presence


async def sign_in(client: httpx.AsyncClient, services: Container, *agents: str) -> None:
    for agent_id in agents:
        response = await client.post("/api/agents/me/sign-in", headers=agent(services, agent_id))
        assert response.status_code == 200, response.text


async def alices_conversation(client: httpx.AsyncClient, services: Container) -> str:
    await arrive(services, inbound("SM-work-1"))
    (work,) = (await client.get("/api/agents/me/work", headers=agent(services, "alice"))).json()
    return str(work["conversation"]["id"])


def url(conversation_id: str, action: str) -> str:
    return f"/api/conversations/{conversation_id}/{action}"


# --- presence ----------------------------------------------------------------------------------


async def test_signing_in_makes_an_agent_eligible_and_routes_its_queues_at_once(
    client: httpx.AsyncClient, services: Container
) -> None:
    await sign_in(client, services, "alice", "bob")
    for agent_id in ("alice", "bob"):
        out = await client.post("/api/agents/me/sign-out", headers=agent(services, agent_id))
        assert out.json()["after"] == "offline"
    await arrive(services, inbound("SM-wait"))
    assert await services.store.waiting_items("q-general", limit=5) != []  # invariant 8

    signed = await client.post("/api/agents/me/sign-in", headers=agent(services, "bob"))
    assert (signed.json()["before"], signed.json()["after"]) == ("offline", "available")
    await drain(services)
    assert await services.store.waiting_items("q-general", limit=5) == []
    (work,) = (await client.get("/api/agents/me/work", headers=agent(services, "bob"))).json()
    assert work["item"]["status"] == "active"


async def test_automatic_presence_follows_capacity(
    client: httpx.AsyncClient, services: Container
) -> None:
    await sign_in(client, services, "carol")  # capacity 1, billing only
    await client.post("/api/agents/me/sign-out", headers=agent(services, "alice"))
    await arrive(services, inbound("SM-bill", "my invoice is wrong"))
    assert await presence_of(services, "carol") == Presence.BUSY
    (work,) = (await client.get("/api/agents/me/work", headers=agent(services, "carol"))).json()
    closed = await client.post(
        url(work["conversation"]["id"], "close"), headers=agent(services, "carol")
    )
    assert closed.status_code == 204
    assert await presence_of(services, "carol") == Presence.AVAILABLE


async def test_custom_presences_are_the_admins_and_routing_sees_their_base(
    client: httpx.AsyncClient, services: Container
) -> None:
    admin = bearer(services, "root", Role.ADMIN)
    settings = {"custom": [{"id": "training", "name": "In training", "base": "away"}]}
    assert_problem(
        await client.put("/api/admin/presences", json=settings, headers=agent(services, "alice")),
        403,
    )
    assert (
        await client.put("/api/admin/presences", json=settings, headers=admin)
    ).status_code == 200
    await sign_in(client, services, "alice")
    alice = agent(services, "alice")
    chosen = await client.put(
        "/api/agents/me/presence", json={"custom_presence_id": "training"}, headers=alice
    )
    assert chosen.status_code == 204
    view = (await client.get("/api/agents/me/presence", headers=alice)).json()
    assert (view["presence"], view["state"]["custom_presence_id"]) == ("away", "training")
    assert [c["name"] for c in view["custom_presences"]] == ["In training"]
    assert_problem(
        await client.put(
            "/api/agents/me/presence", json={"custom_presence_id": "x"}, headers=alice
        ),
        404,
    )
    assert_problem(await client.put("/api/agents/me/presence", json={}, headers=alice), 400)
    assert await presence_of(services, "alice") == Presence.AWAY


class StepClock:
    def __init__(self) -> None:
        self.at = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


async def test_the_refresh_timer_applies_grace_inactivity_and_the_default(
    services: Container,
) -> None:
    clock = StepClock()
    presence = PresenceService(services.store, clock, time_zone=services.settings.org_time_zone)
    work = AgentWorkService(services.store, services.bus, services.routing, clock, presence)
    await services.store.put_presence_settings(
        PresenceSettings(
            policy=PresencePolicy(
                inactivity_timeout=timedelta(minutes=5), default_presence=Presence.OFFLINE
            )
        )
    )
    await work.sign_in("alice")
    await work.set_presence("alice", Presence.AWAY)
    clock.at += timedelta(seconds=140)  # silent, within the 150 s grace: kept
    assert await work.refresh_presence() == 0
    assert await presence_of(services, "alice") == Presence.AWAY
    clock.at += timedelta(seconds=20)  # past the grace: the admin's default
    assert await work.refresh_presence() == 1
    assert await presence_of(services, "alice") == Presence.OFFLINE
    await work.heartbeat("alice")  # back: the manual choice still holds
    assert await presence_of(services, "alice") == Presence.AWAY
    clock.at += timedelta(minutes=6)  # inactive: the choice is cleared
    await work.refresh_presence()
    await work.heartbeat("alice")
    assert await presence_of(services, "alice") == Presence.AVAILABLE
    # Agents that never signed in keep their configured presence.
    assert await presence_of(services, "bob") == Presence.AVAILABLE


# --- the agent's work ----------------------------------------------------------------------------


async def test_work_lists_timers_and_wrap_up_restarts_them(
    client: httpx.AsyncClient, services: Container
) -> None:
    conversation_id = await alices_conversation(client, services)
    alice = agent(services, "alice")
    (before,) = (await client.get("/api/agents/me/work", headers=alice)).json()
    assert before["role"] == "primary" and before["elapsed_seconds"] >= 0
    ended = await client.post(url(conversation_id, "end"), headers=alice)
    assert ended.status_code == 200 and ended.json()["item"]["status"] == "wrap_up"
    (after,) = (await client.get("/api/agents/me/work", headers=alice)).json()
    assert after["timer_started_at"] == after["item"]["wrap_up_at"]
    assert after["timer_started_at"] > before["timer_started_at"]
    assert_problem(await client.post(url(conversation_id, "end"), headers=alice), 409)
    assert_problem(
        await client.post(url(conversation_id, "end"), headers=agent(services, "bob")), 404
    )


async def test_consult_rules(client: httpx.AsyncClient, services: Container) -> None:
    conversation_id = await alices_conversation(client, services)
    alice, bob = agent(services, "alice"), agent(services, "bob")
    candidates = (
        await client.get(url(conversation_id, "consult-candidates"), headers=alice)
    ).json()
    assert [c["agent_id"] for c in candidates] == ["bob"]
    assert_problem(await client.get(url(conversation_id, "consult-candidates"), headers=bob), 404)
    assert_problem(
        await client.post(
            url(conversation_id, "consult"), json={"agent_id": "carol"}, headers=alice
        ),
        409,  # not of the originating queue
    )
    joined = await client.post(
        url(conversation_id, "consult"), json={"agent_id": "bob"}, headers=alice
    )
    assert joined.json()["item"]["consultants"] == ["bob"]
    (consult,) = (await client.get("/api/agents/me/work", headers=bob)).json()
    assert consult["role"] == "consultant"
    assert (await client.get(url(conversation_id, "messages"), headers=bob)).status_code == 200

    # A consultant writes notes only, and may not consult, transfer, end or close (invariant 6).
    assert_problem(
        await client.post(url(conversation_id, "messages"), json={"text": "hi"}, headers=bob), 403
    )
    note = {"text": "check the depot", "internal": True}
    assert (
        await client.post(url(conversation_id, "messages"), json=note, headers=bob)
    ).status_code == 201
    refused = [
        await client.post(url(conversation_id, "consult"), json={"agent_id": "carol"}, headers=bob),
        await client.post(url(conversation_id, "transfer"), json={"agent_id": "bob"}, headers=bob),
        await client.post(url(conversation_id, "end"), headers=bob),
        await client.post(url(conversation_id, "close"), headers=bob),
    ]
    for response in refused:
        assert_problem(response, 403)
    item = await services.store.open_work_item(conversation_id)
    assert item is not None and (item.agent_id, item.status) == ("alice", WorkItemStatus.ACTIVE)

    assert (
        await client.post(url(conversation_id, "consult/leave"), headers=bob)
    ).status_code == 204
    assert_problem(await client.post(url(conversation_id, "consult/leave"), headers=bob), 404)
    assert (await client.get("/api/agents/me/work", headers=bob)).json() == []
    assert await services.store.list_sent_sms(limit=5) == []  # the note never left (inv. 5)


async def test_transfer_to_an_agent_moves_the_work_and_its_capacity(
    client: httpx.AsyncClient, services: Container
) -> None:
    conversation_id = await alices_conversation(client, services)
    alice, bob = agent(services, "alice"), agent(services, "bob")
    assert_problem(await client.post(url(conversation_id, "transfer"), json={}, headers=alice), 400)
    assert_problem(
        await client.post(
            url(conversation_id, "transfer"), json={"agent_id": "nobody"}, headers=alice
        ),
        404,
    )
    moved = await client.post(
        url(conversation_id, "transfer"), json={"agent_id": "bob"}, headers=alice
    )
    assert moved.status_code == 200 and moved.json()["item"]["agent_id"] == "bob"
    alice_state, bob_state = (
        await services.store.agent_state("alice"),
        await services.store.agent_state("bob"),
    )
    assert alice_state is not None and bob_state is not None
    assert (alice_state.used_capacity, bob_state.used_capacity) == (0, 1)
    # The sender is out of it; the receiver is primary (invariant 6).
    assert_problem(
        await client.post(
            url(conversation_id, "transfer"), json={"agent_id": "bob"}, headers=alice
        ),
        404,
    )
    assert (await client.get(url(conversation_id, "messages"), headers=bob)).status_code == 200


async def test_transfer_to_a_full_agent_or_in_wrap_up_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, services: Container
) -> None:
    conversation_id = await alices_conversation(client, services)
    alice = agent(services, "alice")
    carol = await services.store.get_agent("carol")
    assert carol is not None
    await services.store.put_agent(carol.model_copy(update={"max_capacity": 0}))
    assert_problem(
        await client.post(
            url(conversation_id, "transfer"), json={"agent_id": "carol"}, headers=alice
        ),
        409,
    )
    await client.post(url(conversation_id, "end"), headers=alice)
    assert_problem(
        await client.post(
            url(conversation_id, "transfer"), json={"queue_id": "q-billing"}, headers=alice
        ),
        409,
    )
    item = await services.store.open_work_item(conversation_id)
    assert item is not None and (item.agent_id, item.status) == ("alice", WorkItemStatus.WRAP_UP)


async def test_transfer_to_a_queue_routes_it_again_keeping_its_place(
    client: httpx.AsyncClient, services: Container
) -> None:
    conversation_id = await alices_conversation(client, services)
    alice = agent(services, "alice")
    before = await services.store.open_work_item(conversation_id)
    assert_problem(
        await client.post(
            url(conversation_id, "transfer"), json={"queue_id": "nope"}, headers=alice
        ),
        404,
    )
    moved = await client.post(
        url(conversation_id, "transfer"), json={"queue_id": "q-billing"}, headers=alice
    )
    assert moved.json()["item"]["status"] == "waiting"
    await drain(services)
    after = await services.store.open_work_item(conversation_id)
    assert before is not None and after is not None
    assert (after.queue_id, after.status) == ("q-billing", WorkItemStatus.ACTIVE)
    assert (after.priority, after.enqueued_at) == (before.priority, before.enqueued_at)
    history = await services.store.routing_decisions(conversation_id)
    assert any("transferred by agent alice to queue q-billing" in d.reason for d in history)


async def test_closed_work_stays_readable_and_reopens_to_the_same_agent(
    client: httpx.AsyncClient, services: Container
) -> None:
    conversation_id = await alices_conversation(client, services)
    alice, bob = agent(services, "alice"), agent(services, "bob")
    (first,) = (await client.get("/api/agents/me/work", headers=alice)).json()
    assert_problem(await client.post(url(conversation_id, "reopen"), headers=alice), 409)
    assert (await client.post(url(conversation_id, "close"), headers=alice)).status_code == 204
    history = await client.get(url(conversation_id, "messages"), headers=alice)
    assert [m["text"] for m in history.json()] == ["hello"]
    assert_problem(
        await client.post(url(conversation_id, "messages"), json={"text": "x"}, headers=alice), 409
    )
    assert_problem(await client.post(url(conversation_id, "reopen"), headers=bob), 404)
    reopened = await client.post(url(conversation_id, "reopen"), headers=alice)
    assert reopened.status_code == 200, reopened.text
    assert (reopened.json()["item"]["agent_id"], reopened.json()["item"]["status"]) == (
        "alice",
        "active",
    )
    assert reopened.json()["timer_started_at"] > first["timer_started_at"]  # restarted


async def test_a_reopen_goes_to_the_queue_when_the_agent_cannot_take_it(
    client: httpx.AsyncClient, services: Container
) -> None:
    conversation_id = await alices_conversation(client, services)
    alice = agent(services, "alice")
    await client.post(url(conversation_id, "close"), headers=alice)
    await sign_in(client, services, "alice")
    await client.put("/api/agents/me/presence", json={"presence": "away"}, headers=alice)
    reopened = await client.post(url(conversation_id, "reopen"), headers=alice)
    assert reopened.json()["item"]["status"] == "waiting"
    await drain(services)
    item = await services.store.open_work_item(conversation_id)
    assert item is not None and item.agent_id == "bob"


async def test_agent_actions_need_the_agent_role(
    client: httpx.AsyncClient, services: Container
) -> None:
    conversation_id = await alices_conversation(client, services)
    supervisor = bearer(services, "sup", Role.SUPERVISOR)
    for action in ("end", "reopen", "consult/leave"):
        assert_problem(await client.post(url(conversation_id, action), headers=supervisor), 403)
    assert_problem(await client.post("/api/agents/me/sign-in", headers=supervisor), 403)
    item = await services.store.open_work_item(conversation_id)
    assert item is not None and item.status == WorkItemStatus.ACTIVE
