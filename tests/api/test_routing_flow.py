"""Routing end to end in process: push offers (accept, decline, lapse), pick mode, released
capacity serving the backlog, operating hours and overflow, and the decisions a supervisor
reads."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from shared.bootstrap import Container
from shared.domain.identity import Role
from shared.domain.presence import Presence
from shared.domain.routing_config import (
    OperatingHours,
    OperatingWindow,
    OverflowRule,
    Redirect,
    WorkDistribution,
)
from shared.services.notices import CustomerNotices
from shared.services.routing import RoutingService
from tests.api.test_agent_flow import arrive, inbound
from tests.support import ManualClock, bearer, drain

BILLING = "My bill is wrong"


async def configure_workstream(services: Container, **fields: Any) -> None:
    workstream = await services.store.get_workstream("ws-sms")
    assert workstream is not None
    await services.store.put_workstream(workstream.model_copy(update=fields))


async def set_presence(services: Container, agent_id: str, presence: Presence) -> None:
    await services.agent_work.set_presence(agent_id, presence)


async def work_of(client: httpx.AsyncClient, services: Container, agent_id: str) -> list[Any]:
    headers = bearer(services, agent_id, Role.AGENT)
    return list((await client.get("/api/agents/me/work", headers=headers)).json())


async def routing_of(
    client: httpx.AsyncClient, services: Container, conversation_id: str
) -> list[Any]:
    response = await client.get(
        f"/api/supervisor/conversations/{conversation_id}/routing",
        headers=bearer(services, "sup", Role.SUPERVISOR),
    )
    assert response.status_code == 200
    return list(response.json())


async def test_an_offer_is_worked_only_once_accepted(
    client: httpx.AsyncClient, services: Container
) -> None:
    await configure_workstream(services, offer_timeout_seconds=30)
    await arrive(services, inbound("SM1"))
    (offer,) = await work_of(client, services, "alice")
    assert offer["item"]["status"] == "offered"
    assert offer["item"]["offer_expires_at"] is not None
    conversation_id = offer["conversation"]["id"]
    alice = bearer(services, "alice", Role.AGENT)
    messages = f"/api/conversations/{conversation_id}/messages"
    assert (await client.get(messages, headers=alice)).status_code == 404
    bob = bearer(services, "bob", Role.AGENT)
    assert (
        await client.post(f"/api/conversations/{conversation_id}/accept", headers=bob)
    ).status_code == 404

    accepted = await client.post(f"/api/conversations/{conversation_id}/accept", headers=alice)
    assert accepted.status_code == 200
    assert accepted.json()["item"]["status"] == "active"
    assert (await client.get(messages, headers=alice)).status_code == 200
    again = await client.post(f"/api/conversations/{conversation_id}/accept", headers=alice)
    assert again.status_code == 404


async def test_a_declined_offer_goes_to_the_next_agent_and_the_decisions_say_why(
    client: httpx.AsyncClient, services: Container
) -> None:
    await configure_workstream(services, offer_timeout_seconds=30)
    await arrive(services, inbound("SM1"))
    (offer,) = await work_of(client, services, "alice")
    conversation_id = offer["conversation"]["id"]
    declined = await client.post(
        f"/api/conversations/{conversation_id}/decline",
        headers=bearer(services, "alice", Role.AGENT),
    )
    assert declined.status_code == 204
    await drain(services)
    assert await work_of(client, services, "alice") == []
    (bobs,) = await work_of(client, services, "bob")
    assert (bobs["item"]["status"], bobs["item"]["enqueued_at"]) == (
        "offered",
        offer["item"]["enqueued_at"],
    )

    decisions = await routing_of(client, services, conversation_id)
    assert [(d["chosen_agent_id"], d["method"]) for d in decisions] == [
        ("alice", "highest_capacity"),
        (None, None),
        ("bob", "highest_capacity"),
    ]
    assert "declined" in decisions[1]["reason"]
    assert decisions[2]["reason"] == "offered by highest_capacity"
    alice_verdict, bob_verdict = decisions[2]["candidates"]
    assert alice_verdict["agent_id"] == "alice" and "declined" in alice_verdict["skipped"]
    assert bob_verdict == {"agent_id": "bob", "skipped": None}


async def test_the_sweep_takes_back_a_lapsed_offer(
    client: httpx.AsyncClient, services: Container
) -> None:
    await configure_workstream(services, offer_timeout_seconds=30)
    await arrive(services, inbound("SM1"))
    (offer,) = await work_of(client, services, "alice")

    class Later:
        def now(self) -> datetime:
            return services.clock.now() + timedelta(seconds=31)

    notices = CustomerNotices(services.store, services.bus, Later())
    await RoutingService(services.store, services.bus, Later(), notices).sweep()
    await drain(services)
    assert await work_of(client, services, "alice") == []
    (bobs,) = await work_of(client, services, "bob")
    assert bobs["item"]["id"] == offer["item"]["id"]
    decisions = await routing_of(client, services, offer["conversation"]["id"])
    assert any("alice let the offer lapse" in d["reason"] for d in decisions)


async def test_pick_mode_lists_waiting_work_to_members_and_one_pick_wins(
    client: httpx.AsyncClient, services: Container
) -> None:
    await configure_workstream(services, distribution=WorkDistribution.PICK)
    await arrive(services, inbound("SM1"))
    alice, bob = (bearer(services, a, Role.AGENT) for a in ("alice", "bob"))
    carol = bearer(services, "carol", Role.AGENT)
    assert await work_of(client, services, "alice") == []  # nothing pushed
    listed = await client.get("/api/queues/q-general/items", headers=bob)
    (waiting,) = listed.json()
    assert (await client.get("/api/queues/q-general/items", headers=carol)).status_code == 404
    conversation_id = waiting["conversation"]["id"]

    picked = await client.post(f"/api/conversations/{conversation_id}/pick", headers=bob)
    assert picked.status_code == 200 and picked.json()["item"]["agent_id"] == "bob"
    second = await client.post(f"/api/conversations/{conversation_id}/pick", headers=alice)
    assert second.status_code == 409
    assert (await client.get("/api/queues/q-general/items", headers=bob)).json() == []
    (decision,) = await routing_of(client, services, conversation_id)
    assert (decision["mode"], decision["chosen_agent_id"]) == ("pick", "bob")


async def test_a_close_retried_after_it_died_midway_closes_the_conversation(
    client: httpx.AsyncClient, services: Container
) -> None:
    """The process died after closing the work item and before closing its conversation: the
    agent's retry finishes the close instead of answering 404."""
    await arrive(services, inbound("SM1"))
    (work,) = await work_of(client, services, "alice")
    conversation_id = work["conversation"]["id"]
    now = services.clock.now()
    assert await services.store.close_work_item(work["item"]["id"], now, agent_id="alice")
    half = await services.store.get_conversation(conversation_id)
    assert half is not None and half.status == "open"

    bob = bearer(services, "bob", Role.AGENT)
    url = f"/api/conversations/{conversation_id}/close"
    assert (await client.post(url, headers=bob)).status_code == 404  # not bob's to finish
    alice = bearer(services, "alice", Role.AGENT)
    assert (await client.post(url, headers=alice)).status_code == 204
    closed = await services.store.get_conversation(conversation_id)
    assert closed is not None and closed.status == "closed"
    assert (await client.post(url, headers=alice)).status_code == 404  # nothing left to close


async def test_a_closed_queue_lets_no_one_pick(
    client: httpx.AsyncClient, services: Container
) -> None:
    """Out of hours a queue assigns nothing, picked work included: 409, and it still waits."""
    await configure_workstream(services, distribution=WorkDistribution.PICK)
    await arrive(services, inbound("SM1"))
    today = services.clock.now().date()
    general = await services.store.get_queue("q-general")
    assert general is not None
    await services.store.put_queue(
        general.model_copy(
            update={
                "operating_hours": OperatingHours(
                    time_zone="UTC",
                    windows=(OperatingWindow(days=tuple(range(7)), start="09:00", end="17:00"),),
                    closed_dates=(today,),
                )
            }
        )
    )
    bob = bearer(services, "bob", Role.AGENT)
    (waiting,) = (await client.get("/api/queues/q-general/items", headers=bob)).json()
    conversation_id = waiting["conversation"]["id"]
    refused = await client.post(f"/api/conversations/{conversation_id}/pick", headers=bob)
    assert refused.status_code == 409 and "closed" in refused.json()["detail"]
    assert len(await services.store.waiting_items("q-general", limit=5)) == 1


async def test_an_agent_away_cannot_pick(client: httpx.AsyncClient, services: Container) -> None:
    """Invariant 8 holds in pick mode too."""
    await configure_workstream(services, distribution=WorkDistribution.PICK)
    await set_presence(services, "bob", Presence.AWAY)
    await arrive(services, inbound("SM1"))
    (waiting,) = await services.store.waiting_items("q-general", limit=5)
    response = await client.post(
        f"/api/conversations/{waiting.conversation_id}/pick",
        headers=bearer(services, "bob", Role.AGENT),
    )
    assert response.status_code == 409


async def test_closing_work_serves_the_backlog_at_once(
    client: httpx.AsyncClient, services: Container
) -> None:
    """Carol (capacity 1) is Billing's only available agent: the second customer waits until
    she closes the first conversation, then is hers without a sweep."""
    await set_presence(services, "alice", Presence.AWAY)
    await arrive(services, inbound("SM1", BILLING))
    await arrive(services, inbound("SM2", BILLING, sender="+14155550102"))
    (first,) = await work_of(client, services, "carol")
    (second,) = await services.store.waiting_items("q-billing", limit=5)
    carol = bearer(services, "carol", Role.AGENT)

    closed = await client.post(
        f"/api/conversations/{first['conversation']['id']}/close", headers=carol
    )
    assert closed.status_code == 204
    await drain(services)
    assert [w["item"]["id"] for w in await work_of(client, services, "carol")] == [second.id]
    again = await client.post(
        f"/api/conversations/{first['conversation']['id']}/close", headers=carol
    )
    assert again.status_code == 404


async def test_out_of_hours_work_is_redirected_with_an_automated_message(
    client: httpx.AsyncClient, services: Container
) -> None:
    today = services.clock.now().date()
    closed = OperatingHours(
        time_zone="UTC",
        windows=(OperatingWindow(days=tuple(range(7)), start="09:00", end="17:00"),),
        closed_dates=(today - timedelta(days=1), today, today + timedelta(days=1)),
    )
    billing = await services.store.get_queue("q-billing")
    assert billing is not None
    await services.store.put_queue(
        billing.model_copy(
            update={
                "operating_hours": closed,
                "out_of_hours": Redirect(queue_id="q-general", message="Billing opens at 9."),
            }
        )
    )
    await arrive(services, inbound("SM1", BILLING))
    (work,) = await work_of(client, services, "alice")
    assert work["item"]["queue_id"] == "q-general"
    sent = await services.store.list_sent_sms(limit=5)
    assert [(s.to, s.text) for s in sent] == [("+14155550101", "Billing opens at 9.")]
    (decision, assigned) = await routing_of(client, services, work["conversation"]["id"])
    assert decision["reason"] == "out of hours: redirected from queue q-billing to q-general"
    assert assigned["chosen_agent_id"] == "alice"


async def test_the_sweep_moves_an_overflowing_backlog(
    client: httpx.AsyncClient, services: Container
) -> None:
    for agent_id in ("alice", "bob"):
        await set_presence(services, agent_id, Presence.AWAY)
    await arrive(services, inbound("SM1"))
    await arrive(services, inbound("SM2", sender="+14155550102"))
    older, newer = await services.store.waiting_items("q-general", limit=5)
    general = await services.store.get_queue("q-general")
    assert general is not None
    await services.store.put_queue(
        general.model_copy(
            update={"overflow": OverflowRule(max_waiting=2, then=Redirect(queue_id="q-billing"))}
        )
    )
    await services.routing.sweep()
    await drain(services)
    assert await services.store.waiting_items("q-general", limit=5) == []
    # Carol, Billing's agent, takes the older one; the other waits in Billing.
    assert [w["item"]["id"] for w in await work_of(client, services, "carol")] == [older.id]
    assert [i.id for i in await services.store.waiting_items("q-billing", limit=5)] == [newer.id]


async def test_overflow_by_wait_takes_effect_at_its_instant_not_at_the_sweep(
    client: httpx.AsyncClient, services: Container, clocked: Container, clock: ManualClock
) -> None:
    general = await clocked.store.get_queue("q-general")
    assert general is not None
    await clocked.store.put_queue(
        general.model_copy(
            update={
                "overflow": OverflowRule(max_wait_seconds=60, then=Redirect(queue_id="q-billing"))
            }
        )
    )
    for agent_id in ("alice", "bob", "carol"):
        await clocked.agent_work.set_presence(agent_id, Presence.AWAY)
    await arrive(clocked, inbound("SM1"))
    (item,) = await clocked.store.waiting_items("q-general", limit=5)

    clock.advance(timedelta(seconds=59))
    await drain(clocked)
    assert await clocked.store.waiting_items("q-general", limit=5) == [item]

    clock.advance(timedelta(seconds=1))  # no sweep runs: the scheduled check alone moves it
    await drain(clocked)
    assert await clocked.store.waiting_items("q-general", limit=5) == []
    (moved,) = await clocked.store.waiting_items("q-billing", limit=5)
    assert moved.id == item.id


async def test_routing_diagnostics_need_a_supervisor(
    client: httpx.AsyncClient, services: Container
) -> None:
    await arrive(services, inbound("SM1"))
    (work,) = await work_of(client, services, "alice")
    path = f"/api/supervisor/conversations/{work['conversation']['id']}/routing"
    assert (
        await client.get(path, headers=bearer(services, "alice", Role.AGENT))
    ).status_code == 403
    assert (await client.get(path, headers=bearer(services, "root", Role.ADMIN))).status_code == 200
    missing = await client.get(
        "/api/supervisor/conversations/nope/routing",
        headers=bearer(services, "sup", Role.SUPERVISOR),
    )
    assert missing.status_code == 404
