"""A conversation's whole life over real HTTP, on each store (issue 15): it closes with its
last work item, a customer's message within the reopen window brings it back to its agent,
a later one opens a new conversation, and a transition the lifecycle forbids changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.runtime import Runtime, eventually, send_sms, work_of

pytestmark = pytest.mark.e2e


def supervised(runtime: Runtime, conversation_id: str) -> dict[str, Any]:
    response = httpx.get(
        f"{runtime.base}/api/supervisor/conversations/{conversation_id}",
        headers=runtime.auth("admin"),
    )
    response.raise_for_status()
    return dict(response.json()["conversation"])


def ongoing_ids(runtime: Runtime) -> list[str]:
    response = httpx.get(
        f"{runtime.base}/api/supervisor/conversations", headers=runtime.auth("admin")
    )
    response.raise_for_status()
    return [state["conversation"]["id"] for state in response.json()["items"]]


def act(runtime: Runtime, conversation_id: str, action: str) -> httpx.Response:
    return httpx.post(
        f"{runtime.base}/api/conversations/{conversation_id}/{action}",
        headers=runtime.auth("alice"),
    )


def admin_update(runtime: Runtime, resource: str, **fields: Any) -> None:
    """An admin changes some fields of a resource: GET it, PUT it back changed."""
    url, admin = f"{runtime.base}/api/admin/{resource}", runtime.auth("admin")
    current = httpx.get(url, headers=admin).json()
    httpx.put(url, json={**current, **fields}, headers=admin).raise_for_status()


def refused(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_a_conversation_closes_reopens_within_the_window_and_else_starts_anew(
    runtime: Runtime, store_settings: dict[str, str]
) -> None:
    runtime.start(settings=store_settings)
    assert send_sms(runtime, "Where is my order?", sid="SMlife0001").status_code == 200
    (work,) = eventually(lambda: work_of(runtime, "alice"), "alice's conversation")
    conversation_id = work["conversation"]["id"]
    assert ongoing_ids(runtime) == [conversation_id]

    # A transition the lifecycle does not allow: reopening what is open.
    refused(act(runtime, conversation_id, "reopen"), 409)
    assert supervised(runtime, conversation_id)["status"] == "open"

    assert act(runtime, conversation_id, "end").status_code == 200
    refused(act(runtime, conversation_id, "end"), 409)  # wrap-up cannot end again
    assert act(runtime, conversation_id, "close").status_code == 204
    closed = supervised(runtime, conversation_id)
    assert (closed["status"], closed["closing_reason"]) == ("closed", "handled")
    assert closed["closed_at"] is not None
    assert ongoing_ids(runtime) == []

    # Within the default window the customer's message reopens it, to alice.
    assert send_sms(runtime, "One more thing", sid="SMlife0002").status_code == 200
    (back,) = eventually(lambda: work_of(runtime, "alice"), "the reopened conversation")
    assert back["conversation"]["id"] == conversation_id
    assert back["item"]["status"] == "active"
    reopened = supervised(runtime, conversation_id)
    assert (reopened["status"], reopened["closed_at"]) == ("open", None)
    assert reopened["reopened_at"] is not None
    assert ongoing_ids(runtime) == [conversation_id]

    # With the window off, a message after the close opens a new conversation.
    admin_update(runtime, "workstreams/ws-sms", reopen_window_seconds=0)
    assert act(runtime, conversation_id, "close").status_code == 204
    assert send_sms(runtime, "New question", sid="SMlife0003").status_code == 200
    (fresh,) = eventually(lambda: work_of(runtime, "alice"), "a new conversation")
    assert fresh["conversation"]["id"] != conversation_id
    assert ongoing_ids(runtime) == [fresh["conversation"]["id"]]
    assert supervised(runtime, conversation_id)["status"] == "closed"
    assert runtime.stop() == 0


def test_an_offer_lapses_on_time_not_at_the_next_sweep(runtime: Runtime) -> None:
    """Issue 15: with a 2 s offer timeout, the offer lapses between 2 and 3 s after it was
    made (the sweep runs every 30 s: only the offer's own scheduled message is this quick).
    Measured by the runtime itself: the routing decisions' instants."""
    runtime.start()
    admin = runtime.auth("admin")
    admin_update(runtime, "workstreams/ws-sms", offer_timeout_seconds=2)
    assert send_sms(runtime, "Anyone there?", sid="SMlapse001").status_code == 200
    (conversation_id,) = eventually(lambda: ongoing_ids(runtime), "the conversation")

    def decisions() -> list[dict[str, Any]]:
        response = httpx.get(
            f"{runtime.base}/api/supervisor/conversations/{conversation_id}/routing",
            headers=admin,
        )
        response.raise_for_status()
        return list(response.json())

    def lapsed() -> list[dict[str, Any]]:
        return [d for d in decisions() if "let the offer lapse" in d["reason"]]

    first_lapse = eventually(lapsed, "the lapse")[0]
    offered = next(d for d in decisions() if d["reason"].startswith("offered"))
    assert first_lapse["candidates"][0]["agent_id"] == offered["chosen_agent_id"]
    seconds = (
        datetime.fromisoformat(first_lapse["decided_at"])
        - datetime.fromisoformat(offered["decided_at"])
    ).total_seconds()
    # The offer's 2 s run from the routing pass's instant, which precedes the recording of
    # its decision by the assignment's writes (milliseconds): hence the lower bound's margin.
    assert 1.9 <= seconds < 3.0, seconds
    assert runtime.stop() == 0


def test_a_closed_queue_assigns_nothing_and_routes_its_backlog_when_it_opens(
    runtime: Runtime,
) -> None:
    """Issue 15: out of hours with only a message configured, the customer hears it and the
    work waits; at the opening instant (a route request scheduled for it) it is assigned."""
    runtime.start()
    admin = runtime.auth("admin")
    opening = (datetime.now(UTC) + timedelta(seconds=4)).replace(microsecond=0)
    hours = {
        "time_zone": "UTC",
        "windows": [
            {
                "days": list(range(7)),
                "start": opening.time().isoformat(),
                "end": (opening + timedelta(hours=1)).time().isoformat(),
            }
        ],
    }
    admin_update(
        runtime,
        "queues/q-general",
        operating_hours=hours,
        out_of_hours={"message": "We are closed."},
    )
    assert send_sms(runtime, "Where is my order?", sid="SMhours001").status_code == 200

    def outbox() -> list[str]:
        response = httpx.get(f"{runtime.base}/api/sandbox/sms", headers=admin)
        return [sms["text"] for sms in response.json()]

    assert eventually(outbox, "the out-of-hours message") == ["We are closed."]
    assert datetime.now(UTC) < opening, "the test machine was too slow to see the queue closed"
    assert not any(work_of(runtime, agent) for agent in ("alice", "bob", "carol"))

    (conversation_id,) = ongoing_ids(runtime)
    (work,) = eventually(lambda: work_of(runtime, "alice"), "the work at opening")
    assert work["conversation"]["id"] == conversation_id
    assigned_at = datetime.fromisoformat(work["item"]["assigned_at"])
    assert opening <= assigned_at < opening + timedelta(seconds=1), (opening, assigned_at)
    assert outbox()[0] == "We are closed."
    assert runtime.stop() == 0
