"""Supervisors: monitoring every conversation and agent through the API, any conversation's
messages with notes, and the figures of a scripted day checked against numbers worked out by
hand from the script."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from shared.bootstrap import Container
from shared.domain.channels import ChannelKind
from shared.domain.conversations import Conversation
from shared.domain.figures import FigureScope
from shared.domain.identity import Role
from shared.domain.work import WorkItem
from shared.services.figures import FiguresService
from tests.api.test_agent_flow import alices_conversation, arrive, inbound
from tests.support import bearer, drain, unique_number

PARIS = ZoneInfo("Europe/Paris")
DAY = date(2026, 11, 2)


def supervisor(services: Container) -> dict[str, str]:
    return bearer(services, "sue", Role.SUPERVISOR)


async def two_conversations(services: Container) -> None:
    await arrive(services, inbound("SM1", sender="+14155550101"))
    await arrive(services, inbound("SM2", sender="+14155550102"))
    await drain(services)


async def test_supervisors_see_every_ongoing_conversation_filtered_and_paged(
    client: httpx.AsyncClient, services: Container
) -> None:
    await two_conversations(services)
    url = "/api/supervisor/conversations"
    everything = (await client.get(url, headers=supervisor(services))).json()
    assert len(everything["items"]) == 2 and everything["next_cursor"] is None
    held_by = {s["item"]["agent_id"] for s in everything["items"]}
    assert all(s["item"]["status"] == "active" for s in everything["items"])

    for agent_id in held_by:
        mine = await client.get(url, params={"agent": agent_id}, headers=supervisor(services))
        assert {s["item"]["agent_id"] for s in mine.json()["items"]} == {agent_id}
    chats = await client.get(url, params={"channel": "chat"}, headers=supervisor(services))
    assert chats.json()["items"] == []
    waiting = await client.get(url, params={"status": "waiting"}, headers=supervisor(services))
    assert waiting.json()["items"] == []

    first = (await client.get(url, params={"limit": 1}, headers=supervisor(services))).json()
    rest = (
        await client.get(
            url, params={"limit": 1, "cursor": first["next_cursor"]}, headers=supervisor(services)
        )
    ).json()
    paged = [s["conversation"]["id"] for s in first["items"] + rest["items"]]
    assert paged == [s["conversation"]["id"] for s in everything["items"]]


async def test_supervisors_read_internal_notes_customers_never_get(
    client: httpx.AsyncClient, services: Container
) -> None:
    await arrive(services, inbound("SM1"))
    alice = bearer(services, "alice", Role.AGENT)
    (work,) = (await client.get("/api/agents/me/work", headers=alice)).json()
    conversation_id = work["conversation"]["id"]
    await client.post(
        f"/api/conversations/{conversation_id}/messages",
        json={"text": "VIP, be nice", "internal": True},
        headers=alice,
    )
    read = await client.get(
        f"/api/supervisor/conversations/{conversation_id}/messages", headers=supervisor(services)
    )
    assert [(m["text"], m["internal"]) for m in read.json()] == [
        ("hello", False),
        ("VIP, be nice", True),
    ]
    missing = await client.get(
        "/api/supervisor/conversations/nope/messages", headers=supervisor(services)
    )
    assert missing.status_code == 404


async def test_supervisors_see_every_agent_with_capacity_and_work(
    client: httpx.AsyncClient, services: Container
) -> None:
    await two_conversations(services)
    url = "/api/supervisor/agents"
    agents: list[dict[str, Any]] = []
    cursor = None
    while True:  # one agent a page: no cap, the cursor walks them all
        params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(url, params=params, headers=supervisor(services))).json()
        agents += page["items"]
        if (cursor := page["next_cursor"]) is None:
            break
    assert [a["agent_id"] for a in agents] == ["alice", "bob", "carol"]
    busy = [a for a in agents if a["items"]]
    assert sum(len(a["items"]) for a in busy) == 2
    for a in agents:
        assert a["used_capacity"] == len(a["items"])
        assert a["free_capacity"] == a["max_capacity"] - a["used_capacity"]
    billing = await client.get(url, params={"queue": "q-billing"}, headers=supervisor(services))
    assert [a["agent_id"] for a in billing.json()["items"]] == ["alice", "carol"]
    offline = await client.get(url, params={"presence": "offline"}, headers=supervisor(services))
    assert offline.json()["items"] == []


# --- figures -------------------------------------------------------------------------------------


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now_at = now

    def now(self) -> datetime:
        return self.now_at


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


async def arrival(services: Container, queue: str, at: datetime) -> WorkItem:
    store = services.store
    conversation, _ = await store.open_conversation(
        Conversation(
            id=uuid.uuid4().hex,
            channel=ChannelKind.SMS,
            channel_id="sms-main",
            workstream_id="ws-sms",
            customer_address=unique_number(),
            business_address="+12025550100",
            opened_at=at,
        )
    )
    item, _ = await store.create_work_item(
        WorkItem(
            id=uuid.uuid4().hex,
            conversation_id=conversation.id,
            workstream_id="ws-sms",
            queue_id=queue,
            enqueued_at=at,
        )
    )
    return item


async def scripted_day(services: Container) -> None:
    """Paris time; each line says what it counts on DAY."""
    store = services.store
    s = timedelta(seconds=1)
    one = await arrival(services, "q-general", local(DAY, 8))  # in; wait 30 s; handled 600 s
    await store.assign(one.id, "alice", local(DAY, 8) + 30 * s)
    await store.close_work_item(one.id, local(DAY, 8) + 630 * s)
    two = await arrival(services, "q-general", local(DAY, 9))  # in; wait 90 s; handled 300 s
    await store.assign(two.id, "bob", local(DAY, 9) + 90 * s)
    await store.close_work_item(two.id, local(DAY, 9) + 390 * s)
    three = await arrival(services, "q-general", local(DAY, 10))  # in; abandoned
    await store.close_work_item(three.id, local(DAY, 10, 2))
    late = await arrival(services, "q-billing", local(DAY - timedelta(days=1), 23, 30))
    await store.assign(late.id, "alice", local(DAY, 0, 10))  # wait 2400 s; still active
    await arrival(services, "q-general", local(DAY, 23, 50))  # in; still waiting
    await arrival(services, "q-general", local(DAY + timedelta(days=1), 0, 5))  # the next day


async def test_a_scripted_day_gives_the_figures_worked_out_by_hand(services: Container) -> None:
    await scripted_day(services)
    clock = Clock(local(DAY, 23, 55))
    figures = FiguresService(
        services.store, clock, time_zone="Europe/Paris", service_level_seconds=60
    )
    assert await figures.aggregate() == [DAY]

    queues = {f.key: f for f in await services.store.day_figures(DAY, FigureScope.QUEUE)}
    general = queues["q-general"]
    assert (general.incoming, general.assigned, general.handled, general.abandoned) == (4, 2, 2, 1)
    assert (general.average_wait_seconds, general.longest_wait_seconds) == (60, 90)
    assert general.average_handle_seconds == 450
    assert general.service_level == 0.5  # 30 s within 60 s, 90 s not
    billing = queues["q-billing"]
    assert (billing.incoming, billing.assigned, billing.handled) == (0, 1, 0)
    assert (billing.longest_wait_seconds, billing.service_level) == (2400, 0)

    agents = {f.key: f for f in await services.store.day_figures(DAY, FigureScope.AGENT)}
    assert (agents["alice"].assigned, agents["alice"].handled) == (2, 1)
    assert agents["alice"].average_handle_seconds == 600
    assert (agents["bob"].assigned, agents["bob"].handled) == (1, 1)
    assert agents["bob"].average_handle_seconds == 300
    assert "carol" not in agents

    # Replaying the same records gives the same figures; the next day's run leaves DAY final.
    assert await figures.aggregate() == [DAY]
    assert {f.key: f for f in await services.store.day_figures(DAY, FigureScope.QUEUE)} == queues
    clock.now_at = local(DAY + timedelta(days=1), 12)
    assert await figures.aggregate() == [DAY, DAY + timedelta(days=1)]
    assert {f.key: f for f in await services.store.day_figures(DAY, FigureScope.QUEUE)} == queues
    (next_day,) = await services.store.day_figures(DAY + timedelta(days=1), FigureScope.QUEUE)
    assert (next_day.key, next_day.incoming, next_day.assigned) == ("q-general", 1, 0)
    assert await figures.aggregate() == [DAY + timedelta(days=1)]  # from the watermark only


async def test_history_and_an_agents_own_figures_through_the_api(
    client: httpx.AsyncClient, services: Container
) -> None:
    await scripted_day(services)
    clock = Clock(local(DAY + timedelta(days=1), 1))
    await FiguresService(
        services.store, clock, time_zone="Europe/Paris", service_level_seconds=60
    ).aggregate_day(DAY)
    history = await client.get(
        "/api/supervisor/history",
        params={"from": str(DAY - timedelta(days=1)), "to": str(DAY)},
        headers=supervisor(services),
    )
    before, day = history.json()["rows"]  # grouped by day (the default): all queues summed
    assert (before["group"], before["incoming"], before["assigned"]) == (
        str(DAY - timedelta(days=1)),
        0,
        0,
    )
    assert (day["group"], day["incoming"], day["assigned"], day["abandoned"]) == (str(DAY), 4, 3, 1)
    backwards = await client.get(
        "/api/supervisor/history",
        params={"from": str(DAY), "to": str(DAY - timedelta(days=1))},
        headers=supervisor(services),
    )
    assert backwards.status_code == 400

    own = await client.get(
        "/api/agents/me/figures",
        params={"day": str(DAY)},
        headers=bearer(services, "bob", Role.AGENT),
    )
    assert own.json()["key"] == "bob"
    assert (own.json()["handled"], own.json()["average_handle_seconds"]) == (1, 300)


async def test_intraday_adds_the_live_backlog_to_todays_figures(
    client: httpx.AsyncClient, services: Container
) -> None:
    await two_conversations(services)
    await services.figures.aggregate()
    intraday = (await client.get("/api/supervisor/intraday", headers=supervisor(services))).json()
    queues = {q["key"]: q for q in intraday["queues"]}
    assert set(queues) == {"q-general", "q-billing"}
    assert sum(q["incoming"] for q in queues.values()) == 2
    assert sum(q["assigned"] for q in queues.values()) == 2
    assert all(q["waiting_now"] == 0 for q in queues.values())
    assert queues["q-general"]["agents_available"] >= 1
    assert sum(a["assigned"] for a in intraday["agents"]) == 2


async def test_closed_conversations_are_in_the_customers_history_not_the_ongoing_list(
    client: httpx.AsyncClient, services: Container
) -> None:
    conversation_id = await alices_conversation(client, services)
    alice = bearer(services, "alice", Role.AGENT)
    closed = await client.post(f"/api/conversations/{conversation_id}/close", headers=alice)
    assert closed.status_code == 204
    supervisor = bearer(services, "sue", Role.SUPERVISOR)

    ongoing = (await client.get("/api/supervisor/conversations", headers=supervisor)).json()
    assert conversation_id not in [s["conversation"]["id"] for s in ongoing["items"]]
    history = await client.get(
        "/api/supervisor/customers/cust-ada/conversations", headers=supervisor
    )
    assert history.status_code == 200
    (entry,) = history.json()["items"]
    assert (entry["id"], entry["status"], entry["closing_reason"]) == (
        conversation_id,
        "closed",
        "handled",
    )
    assert entry["closed_at"] is not None

    unknown = await client.get(
        "/api/supervisor/customers/cust-nobody/conversations", headers=supervisor
    )
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
