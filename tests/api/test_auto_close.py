"""Auto-close after customer silence, and the sweep telling a waiting backlog a message-only
redirect once: on a clock driven by hand (the embedded queue's schedule follows it)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from shared.bootstrap import Container
from shared.domain.presence import Presence
from shared.domain.routing_config import OperatingHours, OperatingWindow, Redirect
from tests.api.test_agent_flow import arrive
from tests.api.test_bots import work_of
from tests.api.test_routing_flow import configure_workstream, routing_of
from tests.support import ManualClock, drain, twilio_inbound

BILLING = "My bill is wrong"
GOODBYE = "We closed this conversation. Text us again any time."
SILENCE = timedelta(minutes=10)


def text_now(clock: ManualClock, sid: str, text: str, sender: str = "+14155550101") -> Any:
    return twilio_inbound(sid, at=clock.now(), text=text, sender=sender)


async def sent_texts(services: Container) -> list[str]:
    return [s.text for s in reversed(await services.store.list_sent_sms(limit=50))]


async def test_silence_closes_the_work_and_the_freed_capacity_serves_the_queue(
    client: httpx.AsyncClient, clocked: Container, clock: ManualClock
) -> None:
    """Carol (capacity 1) is Billing's only agent: the second customer waits until the
    first one's silence closes their conversation, then is hers at once."""
    await configure_workstream(
        clocked,
        auto_close_after_seconds=int(SILENCE.total_seconds()),
        auto_close_message=GOODBYE,
    )
    await clocked.agent_work.set_presence("alice", Presence.AWAY)
    await arrive(clocked, text_now(clock, "SM1", BILLING))
    (first,) = await work_of(client, clocked, "carol")
    clock.advance(timedelta(minutes=5))
    await arrive(clocked, text_now(clock, "SM2", BILLING, sender="+14155550102"))
    (second,) = await clocked.store.waiting_items("q-billing", limit=5)

    clock.advance(SILENCE - timedelta(minutes=5, seconds=1))
    await drain(clocked)
    assert [w["item"]["id"] for w in await work_of(client, clocked, "carol")] == [
        first["item"]["id"]
    ]

    clock.advance(timedelta(seconds=1))
    await drain(clocked)
    assert [w["item"]["id"] for w in await work_of(client, clocked, "carol")] == [second.id]
    closed = await clocked.store.get_work_item(first["item"]["id"])
    assert closed is not None and closed.status == "closed"
    assert await sent_texts(clocked) == [GOODBYE]
    decisions = await routing_of(client, clocked, first["conversation"]["id"])
    assert decisions[-1]["reason"] == "closed: the customer was silent for 0:10:00"

    # The same number writing again starts new work in its conversation.
    await arrive(clocked, text_now(clock, "SM3", "Me again"))
    assert await clocked.store.open_work_item(first["conversation"]["id"]) is not None


async def test_a_customer_who_writes_again_keeps_the_conversation_open(
    client: httpx.AsyncClient, clocked: Container, clock: ManualClock
) -> None:
    await configure_workstream(clocked, auto_close_after_seconds=int(SILENCE.total_seconds()))
    await arrive(clocked, text_now(clock, "SM1", "Hello"))
    clock.advance(SILENCE - timedelta(minutes=1))
    await arrive(clocked, text_now(clock, "SM2", "Still there?"))
    clock.advance(timedelta(minutes=1))
    await drain(clocked)
    (work,) = await work_of(client, clocked, "alice")  # the first message's check let it be
    clock.advance(SILENCE - timedelta(minutes=1))
    await drain(clocked)
    assert await work_of(client, clocked, "alice") == []
    assert await sent_texts(clocked) == []  # no message configured, none sent
    assert await clocked.store.open_work_item(work["conversation"]["id"]) is None


async def test_a_longer_threshold_set_meanwhile_is_waited_for(
    client: httpx.AsyncClient, clocked: Container, clock: ManualClock
) -> None:
    await configure_workstream(clocked, auto_close_after_seconds=int(SILENCE.total_seconds()))
    await arrive(clocked, text_now(clock, "SM1", "Hello"))
    await configure_workstream(clocked, auto_close_after_seconds=int(2 * SILENCE.total_seconds()))
    clock.advance(SILENCE)
    await drain(clocked)
    assert len(await work_of(client, clocked, "alice")) == 1
    clock.advance(SILENCE)
    await drain(clocked)
    assert await work_of(client, clocked, "alice") == []


async def test_a_chat_nobody_writes_in_closes_and_ends_for_the_widget(
    client: httpx.AsyncClient, clocked: Container, clock: ManualClock
) -> None:
    workstream = await clocked.store.get_workstream("ws-chat")
    assert workstream is not None
    await clocked.store.put_workstream(
        workstream.model_copy(
            update={"auto_close_after_seconds": 600, "auto_close_message": GOODBYE}
        )
    )
    started = await client.post(
        "/api/chat/sessions", json={"widget_id": "demo-widget", "pre_chat": {"name": "Ada"}}
    )
    session = started.json()
    await drain(clocked)
    clock.advance(timedelta(minutes=10))
    await drain(clocked)
    update = await client.get(
        f"/api/chat/sessions/{session['conversation_id']}/messages",
        headers={"Authorization": f"Bearer {session['token']}"},
    )
    assert update.json()["status"] == "ended"
    assert update.json()["messages"][-1]["text"] == GOODBYE


async def test_the_sweep_tells_a_waiting_backlog_a_message_only_redirect_once(
    client: httpx.AsyncClient, services: Container
) -> None:
    """Customers already waiting when the queue closes hear its out-of-hours message from the
    sweep, once; one who arrives after hears it at arrival, and not again from the sweep."""
    for agent_id in ("alice", "bob"):
        await services.agent_work.set_presence(agent_id, Presence.AWAY)
    await arrive(services, text_now(ManualClock(), "SM1", "Hello"))
    general = await services.store.get_queue("q-general")
    assert general is not None
    today = services.clock.now().date()
    await services.store.put_queue(
        general.model_copy(
            update={
                "operating_hours": OperatingHours(
                    time_zone="UTC",
                    windows=(OperatingWindow(days=(0,), start="09:00", end="10:00"),),
                    closed_dates=tuple(today + timedelta(days=d) for d in (-1, 0, 1)),
                ),
                "out_of_hours": Redirect(message="We open at 9."),
            }
        )
    )
    await services.routing.sweep()
    await drain(services)
    await arrive(services, text_now(ManualClock(), "SM2", "Hi", sender="+14155550102"))
    await services.routing.sweep()
    await drain(services)
    sent = await services.store.list_sent_sms(limit=10)
    assert sorted((s.to, s.text) for s in sent) == [
        ("+14155550101", "We open at 9."),
        ("+14155550102", "We open at 9."),
    ]
    (first, _) = await services.store.waiting_items("q-general", limit=5)
    told = [d["reason"] for d in await routing_of(client, services, first.conversation_id)]
    assert told.count("out of hours: told, waits in queue q-general") == 1
