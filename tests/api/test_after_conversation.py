"""After the conversation, over HTTP on both stores: wrap-up with a disposition code, staff
transcripts, the chat customer's survey and transcript by email, the SMS survey answered by a
number, and CSAT in the figures. Bad input is a problem+json 4xx that changes nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from devserver.seed import CHAT_WIDGET_ID
from shared.adapters.sandbox_email import SandboxEmailSender
from shared.bootstrap import Container
from shared.domain.customers import ConsentAction
from shared.domain.identity import Role
from shared.domain.outcomes import Email
from shared.ports import SendFailed
from tests.api.test_agent_flow import alices_conversation, arrive
from tests.cosmos_server import cosmos_app_settings
from tests.support import assert_problem, bearer, drain, twilio_inbound


@pytest.fixture(params=["sqlite", "cosmos"])
def extra_settings(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    if request.param == "sqlite":
        yield {}
        return
    database = "after-" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:20]
    with cosmos_app_settings(database) as cosmos:
        yield cosmos


def alice(services: Container) -> dict[str, str]:
    return bearer(services, "alice", Role.AGENT)


def supervisor(services: Container) -> dict[str, str]:
    return bearer(services, "sup", Role.SUPERVISOR)


async def configure(
    client: httpx.AsyncClient, services: Container, workstream_id: str, **changes: Any
) -> dict[str, Any]:
    """The admin's GET -> change -> PUT of a workstream; returns what GET shows after."""
    admin = bearer(services, "root", Role.ADMIN)
    path = f"/api/admin/workstreams/{workstream_id}"
    record = (await client.get(path, headers=admin)).json()
    saved = await client.put(path, json={**record, **changes}, headers=admin)
    assert saved.status_code == 200, saved.text
    after = (await client.get(path, headers=admin)).json()
    # What GET shows, PUT takes back unchanged.
    again = await client.put(path, json=after, headers=admin)
    assert again.status_code == 200 and (await client.get(path, headers=admin)).json() == after
    return dict(after)


CODES = [
    {"code": "resolved", "label": "Resolved"},
    {"code": "callback", "label": "Call back later"},
]


# --- wrap-up -------------------------------------------------------------------------------------


async def test_wrap_up_takes_a_listed_code_and_shows_in_history(
    client: httpx.AsyncClient, services: Container
) -> None:
    workstream = await configure(client, services, "ws-sms", disposition_codes=CODES)
    assert workstream["disposition_codes"] == CODES
    conversation_id = await alices_conversation(client, services)
    path = f"/api/conversations/{conversation_id}/wrap-up"

    form = (await client.get(path, headers=alice(services))).json()
    assert form == {"disposition_codes": CODES, "code_required": True, "wrap_up": None}
    for bad in ({"disposition_code": "nope"}, {"summary": "no code"}):
        assert_problem(await client.post(path, json=bad, headers=alice(services)), 422)
    stored = await services.store.get_conversation(conversation_id)
    assert stored is not None and stored.wrap_up is None

    assert (
        await client.post(f"/api/conversations/{conversation_id}/end", headers=alice(services))
    ).status_code == 200
    done = await client.post(
        path,
        json={"disposition_code": "resolved", "summary": "  Reset the router.  "},
        headers=alice(services),
    )
    assert done.status_code == 200, done.text
    wrap_up = done.json()["wrap_up"]
    assert (wrap_up["disposition_code"], wrap_up["disposition_label"], wrap_up["summary"]) == (
        "resolved",
        "Resolved",
        "Reset the router.",
    )
    form = (await client.get(path, headers=alice(services))).json()
    assert form["wrap_up"]["disposition_code"] == "resolved"
    # Only the primary agent wraps up: others learn nothing of the conversation.
    bob = bearer(services, "bob", Role.AGENT)
    assert_problem(await client.post(path, json={"disposition_code": "resolved"}, headers=bob), 404)
    close = await client.post(
        f"/api/conversations/{conversation_id}/close", headers=alice(services)
    )
    assert close.status_code == 204
    # Closed: the wrap-up was written before; a late one is refused and changes nothing.
    late = await client.post(path, json={"disposition_code": "callback"}, headers=alice(services))
    assert_problem(late, 409)
    history = await client.get(
        "/api/supervisor/customers/cust-ada/conversations", headers=supervisor(services)
    )
    (record,) = history.json()["items"]
    assert record["status"] == "closed"
    assert record["wrap_up"]["disposition_code"] == "resolved"


async def test_a_workstream_without_codes_takes_a_summary_only(
    client: httpx.AsyncClient, services: Container
) -> None:
    conversation_id = await alices_conversation(client, services)
    path = f"/api/conversations/{conversation_id}/wrap-up"
    refused = await client.post(path, json={"disposition_code": "x"}, headers=alice(services))
    assert_problem(refused, 422)
    done = await client.post(path, json={"summary": "Asked about hours"}, headers=alice(services))
    assert done.status_code == 200 and done.json()["wrap_up"]["disposition_code"] is None


async def test_duplicate_disposition_codes_are_refused(
    client: httpx.AsyncClient, services: Container
) -> None:
    admin = bearer(services, "root", Role.ADMIN)
    path = "/api/admin/workstreams/ws-sms"
    record = (await client.get(path, headers=admin)).json()
    twice = [*CODES, {"code": "resolved", "label": "Again"}]
    response = await client.put(path, json={**record, "disposition_codes": twice}, headers=admin)
    assert response.status_code in (400, 422)
    assert (await client.get(path, headers=admin)).json() == record


# --- transcripts ---------------------------------------------------------------------------------


async def test_staff_transcripts_mark_notes_and_escape_everything(
    client: httpx.AsyncClient, services: Container
) -> None:
    await arrive(
        services, twilio_inbound("SM-x", at=datetime(2026, 11, 1, tzinfo=UTC), text="<b>hi</b>")
    )
    (work,) = (await client.get("/api/agents/me/work", headers=alice(services))).json()
    conversation_id = work["conversation"]["id"]
    for written, internal in (("VIP <script>alert(1)</script>", True), ("Hello Ada", False)):
        posted = await client.post(
            f"/api/conversations/{conversation_id}/messages",
            json={"text": written, "internal": internal},
            headers=alice(services),
        )
        assert posted.status_code == 201
    await drain(services)

    text = await client.get(
        f"/api/conversations/{conversation_id}/transcript", headers=alice(services)
    )
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    assert "Customer: Ada Lovelace" in text.text and "Queue: General support" in text.text
    assert "Alice" in text.text and "[internal note]" in text.text and "Hello Ada" in text.text

    html = await client.get(
        f"/api/supervisor/conversations/{conversation_id}/transcript",
        params={"format": "html"},
        headers=supervisor(services),
    )
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "<script>" not in html.text and "&lt;script&gt;" in html.text
    assert "&lt;b&gt;hi&lt;/b&gt;" in html.text and "internal note" in html.text
    assert "@media print" in html.text and "Ada Lovelace" in html.text

    bob = bearer(services, "bob", Role.AGENT)
    assert_problem(
        await client.get(f"/api/conversations/{conversation_id}/transcript", headers=bob), 404
    )
    assert_problem(
        await client.get(
            "/api/supervisor/conversations/absent/transcript", headers=supervisor(services)
        ),
        404,
    )
    # Each role area keeps its roles: a supervisor reads transcripts under /supervisor.
    assert_problem(
        await client.get(
            f"/api/conversations/{conversation_id}/transcript", headers=supervisor(services)
        ),
        403,
    )
    bad_format = await client.get(
        f"/api/conversations/{conversation_id}/transcript",
        params={"format": "pdf"},
        headers=alice(services),
    )
    assert bad_format.status_code in (400, 422)


# --- the chat customer, after the chat ------------------------------------------------------------


async def start_chat(client: httpx.AsyncClient, services: Container) -> tuple[str, dict[str, str]]:
    started = await client.post(
        "/api/chat/sessions", json={"widget_id": CHAT_WIDGET_ID, "pre_chat": {"name": "Vi"}}
    )
    assert started.status_code == 201, started.text
    await drain(services)
    session = started.json()
    return session["conversation_id"], {"Authorization": f"Bearer {session['token']}"}


async def test_chat_survey_and_transcript_email_after_the_chat(
    client: httpx.AsyncClient, services: Container
) -> None:
    conversation_id, visitor = await start_chat(client, services)
    base = f"/api/chat/sessions/{conversation_id}"
    for text, internal in (
        ("Internal: refund approved", True),
        ("Your refund is on its way", False),
    ):
        await client.post(
            f"/api/conversations/{conversation_id}/messages",
            json={"text": text, "internal": internal},
            headers=alice(services),
        )
    await drain(services)

    # Before the end: nothing to answer or mail.
    assert (await client.get(f"{base}/after", headers=visitor)).json() == {
        "ended": False,
        "survey": None,
        "transcript_email": False,
    }
    assert_problem(await client.post(f"{base}/survey", json={"score": 5}, headers=visitor), 409)
    early = await client.post(
        f"{base}/transcript-email", json={"email": "vi@example.com"}, headers=visitor
    )
    assert_problem(early, 409)

    ended = await client.post(f"/api/conversations/{conversation_id}/end", headers=alice(services))
    assert ended.status_code == 200
    # The workstream does not survey yet.
    assert (await client.get(f"{base}/after", headers=visitor)).json()["survey"] is None
    assert_problem(await client.post(f"{base}/survey", json={"score": 5}, headers=visitor), 409)
    await configure(
        client, services, "ws-chat", csat={"enabled": True, "question": "How did we do?"}
    )
    after = (await client.get(f"{base}/after", headers=visitor)).json()
    assert after == {
        "ended": True,
        "survey": {"question": "How did we do?", "answered": False},
        "transcript_email": True,
    }
    for bad, status in (
        ({"score": 0}, 422),
        ({"score": 6}, 422),
        ({"score": 3, "comment": "x" * 1001}, 400),
        ({}, 400),
    ):
        assert_problem(await client.post(f"{base}/survey", json=bad, headers=visitor), status)
    stored = await services.store.get_conversation(conversation_id)
    assert stored is not None and stored.csat is None

    answered = await client.post(
        f"{base}/survey", json={"score": 4, "comment": "Quick, thanks"}, headers=visitor
    )
    assert answered.status_code == 201, answered.text
    assert (answered.json()["score"], answered.json()["comment"]) == (4, "Quick, thanks")
    assert_problem(await client.post(f"{base}/survey", json={"score": 1}, headers=visitor), 409)
    stored = await services.store.get_conversation(conversation_id)
    assert stored is not None and stored.csat is not None and stored.csat.score == 4

    bad_address = await client.post(
        f"{base}/transcript-email", json={"email": "not an address"}, headers=visitor
    )
    assert_problem(bad_address, 400)
    mailed = await client.post(
        f"{base}/transcript-email", json={"email": "vi@example.com"}, headers=visitor
    )
    assert mailed.status_code == 202, mailed.text
    (email,) = (await client.get("/api/sandbox/email", headers=supervisor(services))).json()
    assert email["to"] == "vi@example.com"
    assert "Your refund is on its way" in email["text"] and "refund approved" not in email["text"]
    assert "refund approved" not in email["html"] and "internal note" not in email["html"]

    # Satisfaction in the day's figures: the queue's and the agent's.
    await services.figures.aggregate()
    intraday = (await client.get("/api/supervisor/intraday", headers=supervisor(services))).json()
    general = next(q for q in intraday["queues"] if q["key"] == "q-general")
    assert (general["csat_answers"], general["average_csat"]) == (1, 4.0)
    agent = next(a for a in intraday["agents"] if a["key"] == "alice")
    assert (agent["csat_answers"], agent["average_csat"]) == (1, 4.0)


async def test_an_email_that_cannot_be_sent_is_an_error_and_can_be_retried(
    client: httpx.AsyncClient, services: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation_id, visitor = await start_chat(client, services)
    await client.post(f"/api/conversations/{conversation_id}/end", headers=alice(services))
    sender = services.email_sender
    assert isinstance(sender, SandboxEmailSender)
    attempts: list[str] = []

    async def unavailable(email: Email) -> str:
        attempts.append(email.key)
        raise SendFailed("ACS Email error 503", permanent=False)

    monkeypatch.setattr(sender, "send", unavailable)
    path = f"/api/chat/sessions/{conversation_id}/transcript-email"
    failed = await client.post(path, json={"email": "vi@example.com"}, headers=visitor)
    assert_problem(failed, 503)
    assert len(attempts) == 3  # retried, then said so
    stored = await services.store.get_conversation(conversation_id)
    assert stored is not None and stored.transcript_emails == 0  # the slot is given back
    monkeypatch.undo()
    assert (
        await client.post(path, json={"email": "vi@example.com"}, headers=visitor)
    ).status_code == 202


# --- the SMS survey ------------------------------------------------------------------------------


async def test_an_sms_survey_is_answered_by_a_number_without_a_new_conversation(
    client: httpx.AsyncClient, services: Container
) -> None:
    await configure(client, services, "ws-sms", csat={"enabled": True})
    conversation_id = await alices_conversation(client, services)
    closed = await client.post(
        f"/api/conversations/{conversation_id}/close", headers=alice(services)
    )
    assert closed.status_code == 204
    await drain(services)
    sent = [s.text for s in await services.store.list_sent_sms(limit=10)]
    assert any("1 (poor) to 5 (excellent)" in text for text in sent)

    now = services.clock.now()
    await arrive(services, twilio_inbound("SM-4", at=now, text=" 4 "))
    stored = await services.store.get_conversation(conversation_id)
    assert stored is not None and stored.csat is not None
    assert (stored.csat.score, stored.csat.via) == (4, "sms")
    # The answer reopened nothing, opened nothing, and is in the conversation's record.
    assert stored.status == "closed"
    assert await services.store.open_work_item(conversation_id) is None
    messages = await services.store.list_messages(conversation_id, include_internal=True)
    assert messages[-1].text == " 4 " and messages[-1].sender == "customer"
    history = await client.get(
        "/api/supervisor/customers/cust-ada/conversations", headers=supervisor(services)
    )
    assert [c["csat"]["score"] for c in history.json()["items"]] == [4]
    assert (await client.get("/api/agents/me/work", headers=alice(services))).json() == []

    # Answered: the next number is an ordinary message again (it reopens the conversation).
    await arrive(services, twilio_inbound("SM-5", at=now, text="5"))
    again = await services.store.get_conversation(conversation_id)
    assert again is not None and again.status == "open"
    assert again.csat is not None and again.csat.score == 4


async def test_consent_keywords_come_before_the_survey(
    client: httpx.AsyncClient, services: Container
) -> None:
    await configure(client, services, "ws-sms", csat={"enabled": True})
    conversation_id = await alices_conversation(client, services)
    await client.post(f"/api/conversations/{conversation_id}/close", headers=alice(services))
    await drain(services)
    await arrive(
        services,
        twilio_inbound(
            "SM-stop", at=services.clock.now(), text="STOP", consent=ConsentAction.OPT_OUT
        ),
    )
    assert await services.store.is_opted_out("+14155550101")
    stored = await services.store.get_conversation(conversation_id)
    assert stored is not None and stored.csat is None


async def test_a_number_without_a_survey_is_an_ordinary_message(
    client: httpx.AsyncClient, services: Container
) -> None:
    conversation_id = await alices_conversation(client, services)
    await client.post(f"/api/conversations/{conversation_id}/close", headers=alice(services))
    await drain(services)
    assert all("1 (poor)" not in s.text for s in await services.store.list_sent_sms(limit=10))
    await arrive(services, twilio_inbound("SM-3", at=services.clock.now(), text="3"))
    stored = await services.store.get_conversation(conversation_id)
    assert stored is not None and stored.csat is None and stored.status == "open"


async def test_no_survey_goes_to_a_customer_who_opted_out(
    client: httpx.AsyncClient, services: Container
) -> None:
    await configure(client, services, "ws-sms", csat={"enabled": True})
    conversation_id = await alices_conversation(client, services)
    await services.store.set_sms_consent("+14155550101", opted_out=True, at=services.clock.now())
    await client.post(f"/api/conversations/{conversation_id}/close", headers=alice(services))
    await drain(services)
    assert all("1 (poor)" not in s.text for s in await services.store.list_sent_sms(limit=10))
    stored = await services.store.get_conversation(conversation_id)
    assert stored is not None and stored.csat_requested_at is None
