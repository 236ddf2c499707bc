"""Presence that protects customers (issue 15), over HTTP in process: a disconnected agent
goes Offline after the grace, gets no new work, and its unanswered offer goes back to the head
of its queue at once; at sign-out, active work follows the workstream's policy and
supervisors see it flagged."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from shared.bootstrap import Container
from shared.domain.identity import Role
from shared.domain.presence import DISCONNECT_GRACE
from shared.domain.routing_config import SignOutPolicy
from shared.domain.work import WorkItemStatus
from tests.api.test_agent_flow import arrive, inbound
from tests.api.test_routing_flow import configure_workstream, work_of
from tests.support import ManualClock, bearer, drain

AGENTS = ("alice", "bob", "carol")


async def post(client: httpx.AsyncClient, services: Container, agent_id: str, path: str) -> None:
    headers = bearer(services, agent_id, Role.AGENT)
    response = await client.post(f"/api/agents/me/{path}", headers=headers)
    assert response.status_code == 200, response.text


async def presence(client: httpx.AsyncClient, services: Container, agent_id: str) -> str:
    headers = bearer(services, agent_id, Role.AGENT)
    return str((await client.get("/api/agents/me/presence", headers=headers)).json()["presence"])


async def ongoing(client: httpx.AsyncClient, services: Container) -> list[dict[str, Any]]:
    headers = bearer(services, "sup", Role.SUPERVISOR)
    response = await client.get("/api/supervisor/conversations", headers=headers)
    return list(response.json()["items"])


async def test_a_disconnected_agent_goes_offline_and_its_offer_returns_at_once(
    client: httpx.AsyncClient, clocked: Container, clock: ManualClock
) -> None:
    await configure_workstream(clocked, offer_timeout_seconds=300)
    for agent_id in AGENTS:
        await post(client, clocked, agent_id, "sign-in")
    await arrive(clocked, inbound("SM-gone-1"))
    (offered,) = [w for a in AGENTS for w in await work_of(client, clocked, a)]
    gone = offered["item"]["agent_id"]
    assert offered["item"]["status"] == WorkItemStatus.OFFERED

    clock.advance(DISCONNECT_GRACE + timedelta(seconds=1))
    for agent_id in AGENTS:
        if agent_id != gone:
            await post(client, clocked, agent_id, "heartbeat")
    assert await clocked.agent_work.refresh_presence() == 1  # the presence-refresh timer
    assert await presence(client, clocked, gone) == "offline"  # never Available by itself
    assert await work_of(client, clocked, gone) == []
    # Back at the head of its queue at once, not when the 300 s offer would lapse.
    await drain(clocked)
    item = await clocked.store.get_work_item(offered["item"]["id"])
    assert item is not None and item.status == WorkItemStatus.OFFERED
    assert item.agent_id not in (None, gone)
    decisions = await clocked.store.routing_decisions(item.conversation_id)
    assert any(
        d.reason == f"agent {gone} went offline: back to its place in the queue" for d in decisions
    )

    # No new work for the disconnected agent.
    await arrive(clocked, inbound("SM-gone-2", sender="+14155550102"))
    assert await work_of(client, clocked, gone) == []


async def test_signing_out_keeps_active_work_with_the_agent_flagged_by_default(
    client: httpx.AsyncClient, services: Container
) -> None:
    await post(client, services, "alice", "sign-in")
    await arrive(services, inbound("SM-out-1"))
    (work,) = await work_of(client, services, "alice")
    assert work["item"]["status"] == WorkItemStatus.ACTIVE

    await post(client, services, "alice", "sign-out")
    await drain(services)
    (kept,) = await work_of(client, services, "alice")
    assert (kept["item"]["id"], kept["item"]["status"]) == (work["item"]["id"], "active")
    (state,) = await ongoing(client, services)
    assert state["attention"] == "held by agent alice, who is offline"


async def test_signing_out_returns_active_work_to_the_queue_when_the_workstream_says(
    client: httpx.AsyncClient, services: Container
) -> None:
    admin = bearer(services, "admin", Role.ADMIN)
    workstream = (await client.get("/api/admin/workstreams/ws-sms", headers=admin)).json()
    saved = await client.put(
        "/api/admin/workstreams/ws-sms",
        json={**workstream, "sign_out_policy": SignOutPolicy.RETURN_TO_QUEUE},
        headers=admin,
    )
    assert saved.status_code == 200, saved.text
    await post(client, services, "alice", "sign-in")
    await arrive(services, inbound("SM-out-2"))
    (work,) = await work_of(client, services, "alice")

    await post(client, services, "alice", "sign-out")
    await drain(services)
    assert await work_of(client, services, "alice") == []
    item = await services.store.get_work_item(work["item"]["id"])
    assert item is not None and item.agent_id not in (None, "alice")
    assert item.enqueued_at.isoformat() == work["item"]["enqueued_at"].replace("Z", "+00:00")
    (state,) = await ongoing(client, services)
    assert state["attention"] == "returned to its queue: agent alice went offline"
