"""The admin API for routing configuration: CRUD with cursors, references checked, and
changes that take effect at once."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.bootstrap import Container
from shared.domain.identity import Role
from tests.api.test_agent_flow import arrive, inbound
from tests.support import bearer, drain


def admin(services: Container) -> dict[str, str]:
    return bearer(services, "root", Role.ADMIN)


async def put(
    client: httpx.AsyncClient, services: Container, path: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.put(f"/api/admin/{path}", json=body, headers=admin(services))


VIP_QUEUE = {"id": "q-vip", "name": "VIP", "assignment_method": "round_robin"}
VIP_RULE = {
    "id": "ws-sms-vip",
    "workstream_id": "ws-sms",
    "order": 1,
    "name": "VIP",
    "conditions": [{"field": "text", "operator": "contains", "value": "vip"}],
    "queue_id": "q-vip",
    "priority": 2,
}


async def test_a_new_queue_and_rule_route_work_and_a_member_gets_it_at_once(
    client: httpx.AsyncClient, services: Container
) -> None:
    assert (await put(client, services, "queues/q-vip", VIP_QUEUE)).status_code == 200
    assert (await put(client, services, "rules/ws-sms-vip", VIP_RULE)).status_code == 200
    await arrive(services, inbound("SM1", "I am a VIP"))
    (waiting,) = await services.store.waiting_items("q-vip", limit=10)
    assert waiting.priority == 2

    carol = (await client.get("/api/admin/agents/carol", headers=admin(services))).json()
    carol["queue_ids"] = [*carol["queue_ids"], "q-vip"]
    assert (await put(client, services, "agents/carol", carol)).status_code == 200
    await drain(services)  # the edit asked for routing: no sweep needed
    work = (
        await client.get("/api/agents/me/work", headers=bearer(services, "carol", Role.AGENT))
    ).json()
    assert [w["item"]["id"] for w in work] == [waiting.id]


async def test_lists_page_by_cursor(client: httpx.AsyncClient, services: Container) -> None:
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = (
            await client.get("/api/admin/agents", params=params, headers=admin(services))
        ).json()
        seen += [a["id"] for a in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ["alice", "bob", "carol"]
    for listing, ids in (
        ("workstreams", ["ws-chat", "ws-sms"]),
        ("queues", ["q-billing", "q-general"]),
        ("rules", ["ws-chat-billing", "ws-sms-billing"]),
    ):
        body = (await client.get(f"/api/admin/{listing}", headers=admin(services))).json()
        assert ([r["id"] for r in body["items"]], body["next_cursor"]) == (ids, None)


async def test_workstream_carries_its_distribution_settings(
    client: httpx.AsyncClient, services: Container
) -> None:
    workstream = (await client.get("/api/admin/workstreams/ws-sms", headers=admin(services))).json()
    workstream |= {
        "distribution": "pick",
        "offer_timeout_seconds": 30,
        "auto_close_after_seconds": 3600,
        "allowed_presences": ["available"],
    }
    response = await put(client, services, "workstreams/ws-sms", workstream)
    assert response.status_code == 200
    stored = await services.store.get_workstream("ws-sms")
    assert stored is not None
    assert (stored.distribution, stored.offer_timeout_seconds) == ("pick", 30)


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "detail"),
    [
        ("put", "rules/r1", {**VIP_RULE, "id": "r1"}, 400, "queue 'q-vip'"),
        ("put", "rules/other", VIP_RULE, 400, "path"),
        (
            "put",
            "workstreams/ws-x",
            {"id": "ws-x", "name": "X", "channel": "sms", "fallback_queue_id": "nope"},
            400,
            "queue 'nope'",
        ),
        (
            "put",
            "agents/dave",
            {"id": "dave", "display_name": "D", "queue_ids": ["nope"]},
            400,
            "queue 'nope'",
        ),
        (
            "put",
            "queues/q-x",
            {
                "id": "q-x",
                "name": "X",
                "operating_hours": {
                    "time_zone": "Mars/Olympus",
                    "windows": [{"days": [0], "start": "09:00", "end": "17:00"}],
                },
            },
            400,
            "schema",
        ),
        ("get", "queues/nope", None, 404, "nope"),
        ("get", "rules/nope", None, 404, "nope"),
        ("delete", "agents/nope", None, 404, "nope"),
        ("delete", "queues/q-general", None, 409, "member"),
        ("delete", "workstreams/ws-sms", None, 409, "rules"),
    ],
)
async def test_bad_requests_are_problems_and_change_nothing(
    client: httpx.AsyncClient,
    services: Container,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
    detail: str,
) -> None:
    response = await client.request(
        method, f"/api/admin/{path}", json=body, headers=admin(services)
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert detail in response.json()["detail"]
    assert await services.store.get_rule("r1") is None
    assert await services.store.get_agent("dave") is None
    assert await services.store.get_queue("q-general") is not None


async def test_an_agent_holding_work_is_not_deleted(
    client: httpx.AsyncClient, services: Container
) -> None:
    await arrive(services, inbound("SM1"))
    response = await client.delete("/api/admin/agents/alice", headers=admin(services))
    assert response.status_code == 409
    assert (
        await client.delete("/api/admin/agents/carol", headers=admin(services))
    ).status_code == 204
    assert await services.store.get_agent("carol") is None


async def test_routing_admin_needs_the_admin_role(
    client: httpx.AsyncClient, services: Container
) -> None:
    for role in (Role.AGENT, Role.SUPERVISOR):
        headers = bearer(services, "x", role)
        assert (await client.get("/api/admin/queues", headers=headers)).status_code == 403
