"""Time in presence: supervisors see since when each agent has had its presence,
on a clock driven by hand."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from shared.bootstrap import Container
from shared.domain.identity import Role
from tests.support import ManualClock, bearer


async def agents(client: httpx.AsyncClient, services: Container) -> dict[str, Any]:
    response = await client.get(
        "/api/supervisor/agents", headers=bearer(services, "sue", Role.SUPERVISOR)
    )
    assert response.status_code == 200, response.text
    return {a["agent_id"]: a for a in response.json()["items"]}


async def test_supervisors_see_time_in_presence(
    client: httpx.AsyncClient, clocked: Container, clock: ManualClock
) -> None:
    alice = bearer(clocked, "alice", Role.AGENT)
    # Never signed in: presence is the admin's, with no start known.
    before = (await agents(client, clocked))["alice"]
    assert (before["presence_since"], before["seconds_in_presence"]) == (None, None)

    signed_in_at = clock.now()
    assert (await client.post("/api/agents/me/sign-in", headers=alice)).status_code < 300
    clock.advance(timedelta(seconds=90))
    assert (await client.post("/api/agents/me/heartbeat", headers=alice)).status_code < 300
    seen = (await agents(client, clocked))["alice"]
    assert seen["presence"] == "available"
    assert seen["presence_since"] == signed_in_at.isoformat().replace("+00:00", "Z")
    assert seen["seconds_in_presence"] == 90

    chose_at = clock.now()
    chosen = await client.put(
        "/api/agents/me/presence", json={"presence": "busy_dnd"}, headers=alice
    )
    assert chosen.status_code == 204
    clock.advance(timedelta(seconds=30))
    seen = (await agents(client, clocked))["alice"]
    assert seen["presence"] == "busy_dnd"
    assert seen["presence_since"] == chose_at.isoformat().replace("+00:00", "Z")
    assert seen["seconds_in_presence"] == 30
