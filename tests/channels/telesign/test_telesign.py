"""TeleSign callbacks through the whole stack: each fixture signed as TeleSign would sign it,
replies sent through the real SDK to TeleSign's API stood up on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from shared.bootstrap import Container
from shared.bus_messages import DELIVERY, INBOUND
from shared.channels.telesign import webhook as telesign
from shared.domain.channels import Channel
from shared.domain.conversations import DeliveryStatus
from shared.domain.customers import ConsentAction
from shared.domain.identity import Role
from shared.services.channels import VALIDATION_TEXT
from tests.channels.telesign.helpers import (
    ACCEPTED,
    API_KEY,
    CUSTOMER_ID,
    CUSTOMER_NUMBER,
    FIXTURES,
    NUMBER,
    REFERENCE_ID,
    account,
    channel,
    fixture,
    signed,
)
from tests.loopback import Answer, LoopbackApi
from tests.support import PUBLIC_BASE_URL, REPLY, alice_replies, assert_problem, bearer, drain

SUPPORTED_EVENTS = {
    "inbound_sms",
    "inbound_stop",
    "inbound_start",
    "status_sent",
    "status_delivered",
    "status_failed",
}
STATUS_URL = f"{PUBLIC_BASE_URL}/api/sms/telesign/status"
OTHER_KEY = "b3RoZXIga2V5"


@pytest.fixture(autouse=True)
def telesign_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackApi]:
    """Replies leave through the TeleSign sender, to this API: set before the app is built."""
    with LoopbackApi(ACCEPTED).running() as api:
        monkeypatch.setenv("SMS_SENDER", "providers")
        monkeypatch.setenv("TELESIGN_API_BASE_URL", api.base_url)
        yield api


@pytest.fixture(autouse=True)
async def telesign_channel(telesign_api: LoopbackApi, services: Container) -> Channel:
    created = channel()
    await services.store.put_channel(created)
    return created


async def post(
    client: httpx.AsyncClient, body: bytes, headers: dict[str, str], path: str = ""
) -> httpx.Response:
    return await client.post(f"/api/sms/telesign{path}", content=body, headers=headers)


async def nothing_was_accepted(services: Container) -> None:
    assert services.local_bus is not None
    assert await services.local_bus.pending_count(INBOUND) == 0
    assert await services.local_bus.pending_count(DELIVERY) == 0


def changed(name: str, **fields: object) -> bytes:
    """A fixture with top-level or user_response fields replaced."""
    document = json.loads(fixture(name))
    for key, value in fields.items():
        target = document["user_response"] if key in document.get("user_response", {}) else document
        target[key] = value
    return json.dumps(document).encode()


def test_every_supported_event_has_a_fixture() -> None:
    assert {p.stem for p in FIXTURES.glob("*.json")} == SUPPORTED_EVENTS


def test_telesign_official_signature_vector() -> None:
    """TeleSign/python_telesign tests/test_util.py."""
    key = "EXAMPLE----TE8sTgg45yusumoN6BYsBVkh+yRJ5czgsnCehZaOYldPJdmFh6NeX8kunZ2zU1YWaUw/0wV6xfw=="
    body = b"{'test': 123}"
    assert telesign.callback_signature(key, body) == "B97g3N9lPdVaptvifxRau7bzVAC5hhRBZ6HKXABN744="
    assert telesign.callback_signature(key, body + b" ") != (
        "B97g3N9lPdVaptvifxRau7bzVAC5hhRBZ6HKXABN744="
    )


async def test_inbound_sms_reaches_an_agent(client: httpx.AsyncClient, services: Container) -> None:
    response = await post(client, fixture("inbound_sms"), signed(fixture("inbound_sms")))
    assert (response.status_code, response.content) == (200, b"")
    await drain(services)

    alice = bearer(services, "alice", Role.AGENT)
    (work,) = (await client.get("/api/agents/me/work", headers=alice)).json()
    conversation = work["conversation"]
    assert (conversation["customer_address"], conversation["business_address"]) == (
        CUSTOMER_NUMBER,
        NUMBER,
    )
    assert conversation["channel_id"] == "sms-telesign"
    assert conversation["customer_id"] == "cust-ada"  # identified by mobile phone
    assert (work["item"]["queue_id"], work["item"]["status"]) == ("q-general", "active")
    messages = (
        await client.get(f"/api/conversations/{conversation['id']}/messages", headers=alice)
    ).json()
    assert [(m["sequence"], m["text"], m["provider_message_id"]) for m in messages] == [
        (1, "Where is my order?", "telesign:3579C5ADCA4C0A04911C0A10D6C5A7E1")
    ]


@pytest.mark.parametrize("header", ["Authorization", "X-TS-Authorization"])
async def test_either_signature_header_is_enough(
    client: httpx.AsyncClient, services: Container, header: str
) -> None:
    body = fixture("inbound_sms")
    assert (await post(client, body, signed(body, header=header))).status_code == 200
    assert services.local_bus is not None
    assert await services.local_bus.pending_count(INBOUND) == 1


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Content-Type": "application/json"}, id="no signature"),
        pytest.param(
            {"Authorization": f"TSA {CUSTOMER_ID}:bm90IGEgc2lnbmF0dXJl"}, id="wrong signature"
        ),
        pytest.param(signed(fixture("inbound_sms"), key=OTHER_KEY), id="other key"),
        pytest.param(
            signed(fixture("inbound_sms"), customer_id="00000000-0000-0000-0000-000000000000"),
            id="other customer id",
        ),
        pytest.param(
            {"Authorization": "Basic " + signed(fixture("inbound_sms"))["Authorization"][4:]},
            id="other scheme",
        ),
    ],
)
async def test_a_bad_signature_is_refused_and_stores_nothing(
    client: httpx.AsyncClient, services: Container, headers: dict[str, str]
) -> None:
    response = await post(client, fixture("inbound_sms"), headers)
    assert_problem(response, 403)
    await nothing_was_accepted(services)


async def test_a_tampered_body_is_refused(client: httpx.AsyncClient, services: Container) -> None:
    headers = signed(fixture("inbound_sms"))
    tampered = fixture("inbound_sms").replace(b"Where is my order?", b"Refund me twice")
    assert (await post(client, tampered, headers)).status_code == 403
    await nothing_was_accepted(services)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        pytest.param(b"{not json", "inbound SMS callback", id="not json"),
        pytest.param(
            changed("inbound_sms", phone_number="not-a-number"), "phone_number", id="bad number"
        ),
        pytest.param(changed("inbound_sms", reference_id=""), "reference_id", id="no reference id"),
        pytest.param(changed("inbound_sms", sub_resource="voice"), "sub_resource", id="not an sms"),
        pytest.param(changed("inbound_sms", user_response=None), "user_response", id="no sms"),
    ],
)
async def test_a_malformed_callback_gets_400_and_stores_nothing(
    client: httpx.AsyncClient,
    services: Container,
    body: bytes,
    detail: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    response = await post(client, body, signed(body))
    assert_problem(response, 400, detail)
    assert "Where is my order?" not in response.text + caplog.text  # the body is never echoed
    if detail == "phone_number":
        assert "field user_response.phone_number is not a phone number" in caplog.text
    await nothing_was_accepted(services)


async def test_a_number_no_channel_serves_gets_404(
    client: httpx.AsyncClient, services: Container
) -> None:
    body = changed("inbound_sms", sender_id="12025550199")
    response = await post(client, body, signed(body))
    assert response.status_code == 404
    await nothing_was_accepted(services)


async def test_a_twilio_number_is_not_a_telesign_channel(
    client: httpx.AsyncClient, services: Container
) -> None:
    body = changed("inbound_sms", sender_id="12025550100")  # the seeded Twilio channel
    assert (await post(client, body, signed(body))).status_code == 404
    await nothing_was_accepted(services)


async def test_concurrent_retries_store_the_message_once(
    client: httpx.AsyncClient, services: Container
) -> None:
    """Invariant 3: TeleSign delivers the same callback five times at once."""
    body = fixture("inbound_sms")
    responses = await asyncio.gather(*(post(client, body, signed(body)) for _ in range(5)))
    assert [r.status_code for r in responses] == [200] * 5
    await drain(services)
    (work,) = (
        await client.get("/api/agents/me/work", headers=bearer(services, "alice", Role.AGENT))
    ).json()
    stored = await services.store.list_messages(work["conversation"]["id"], include_internal=True)
    assert len(stored) == 1


async def test_stop_opts_the_number_out_and_start_back_in(
    client: httpx.AsyncClient, services: Container
) -> None:
    for name, opted_out in (("inbound_stop", True), ("inbound_start", False)):
        body = fixture(name)
        assert (await post(client, body, signed(body))).status_code == 200
        await drain(services)
        assert await services.store.is_opted_out(CUSTOMER_NUMBER) is opted_out


def test_telesigns_keyword_action_is_the_consent_whatever_the_text() -> None:
    callback = telesign.parse(
        changed("inbound_stop", mo_message="stop sending these please"), telesign.MoCallback
    )
    inbound = telesign.parse_inbound(callback, datetime(2024, 5, 14, tzinfo=UTC))
    assert inbound.consent == ConsentAction.OPT_OUT
    generic = changed("inbound_sms", action="generic")
    inbound = telesign.parse_inbound(
        telesign.parse(generic, telesign.MoCallback), datetime(2024, 5, 14, tzinfo=UTC)
    )
    assert inbound.consent is None


# --- replies and delivery reports ------------------------------------------------------------


async def reply_sent_by_alice(
    client: httpx.AsyncClient, services: Container, telesign_api: LoopbackApi
) -> str:
    """An inbound SMS answered by alice and sent through TeleSign: returns the reply's id."""
    body = fixture("inbound_sms")
    assert (await post(client, body, signed(body))).status_code == 200
    reply = await alice_replies(client, services)
    (request,) = telesign_api.requests
    assert (request.method, request.path) == ("POST", "/v1/messaging")
    assert request.form() == {
        "phone_number": ["14155550101"],
        "message": [REPLY],
        "message_type": ["ARN"],
        "callback_url": [STATUS_URL],
        "external_id": [reply.id],
    }
    assert (reply.status, reply.provider_message_id) == ("sent", f"telesign:{REFERENCE_ID}")
    return reply.id


async def post_status(client: httpx.AsyncClient, body: bytes, **signing: str) -> httpx.Response:
    return await post(client, body, signed(body, **signing), "/status")


async def agent_view(
    client: httpx.AsyncClient, services: Container, message_id: str
) -> dict[str, object]:
    message = await services.store.get_message(message_id)
    assert message is not None
    listed = (
        await client.get(
            f"/api/conversations/{message.conversation_id}/messages",
            headers=bearer(services, "alice", Role.AGENT),
        )
    ).json()
    (view,) = [m for m in listed if m["id"] == message_id]
    return dict(view)


async def test_delivery_reports_move_a_reply_forward_only(
    client: httpx.AsyncClient, services: Container, telesign_api: LoopbackApi
) -> None:
    reply = await reply_sent_by_alice(client, services, telesign_api)
    for name in ("status_delivered", "status_sent", "status_delivered"):
        response = await post_status(client, fixture(name))
        assert (response.status_code, response.content) == (200, b"")
        await drain(services)
    view = await agent_view(client, services, reply)
    assert (view["status"], view["error"]) == ("delivered", None)  # the late 203 changed nothing


async def test_a_failed_report_marks_the_reply_failed_with_telesigns_reason(
    client: httpx.AsyncClient, services: Container, telesign_api: LoopbackApi
) -> None:
    reply = await reply_sent_by_alice(client, services, telesign_api)
    assert (await post_status(client, fixture("status_failed"))).status_code == 200
    await drain(services)
    view = await agent_view(client, services, reply)
    assert (view["status"], view["error"]) == (
        "failed",
        "TeleSign status 211: Permanent phone error",
    )


async def test_a_retried_report_is_queued_once(
    client: httpx.AsyncClient, services: Container
) -> None:
    body = fixture("status_delivered")
    responses = await asyncio.gather(*(post_status(client, body) for _ in range(4)))
    assert [r.status_code for r in responses] == [200] * 4
    assert (await post_status(client, fixture("status_sent"))).status_code == 200
    assert services.local_bus is not None
    assert await services.local_bus.pending_count(DELIVERY) == 2  # 200 once, 203 once


@pytest.mark.parametrize(
    "signing",
    [
        pytest.param({"key": OTHER_KEY}, id="other key"),
        pytest.param(
            {"customer_id": "00000000-0000-0000-0000-000000000000"}, id="unknown customer id"
        ),
    ],
)
async def test_a_report_not_signed_by_our_account_is_refused(
    client: httpx.AsyncClient, services: Container, signing: dict[str, str]
) -> None:
    response = await post_status(client, fixture("status_delivered"), **signing)
    assert_problem(response, 403)
    await nothing_was_accepted(services)


async def test_an_unsigned_report_is_refused(
    client: httpx.AsyncClient, services: Container
) -> None:
    response = await post(
        client, fixture("status_delivered"), {"Content-Type": "application/json"}, "/status"
    )
    assert response.status_code == 403
    await nothing_was_accepted(services)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        pytest.param(b"[]", "delivery report", id="not an object"),
        pytest.param(changed("status_delivered", status=None), "status", id="no status"),
        pytest.param(
            changed("status_delivered", status={"code": 200, "updated_on": "yesterday"}),
            "updated_on",
            id="bad date",
        ),
    ],
)
async def test_a_malformed_report_gets_400_and_stores_nothing(
    client: httpx.AsyncClient, services: Container, body: bytes, detail: str
) -> None:
    response = await post_status(client, body)
    assert response.status_code == 400
    assert detail in response.json()["detail"]
    await nothing_was_accepted(services)


# TeleSign's documented SMS status codes ("All Status and Error Codes", SMS rows).
DOCUMENTED_STATUS_CODES = {
    200: DeliveryStatus.DELIVERED,
    201: DeliveryStatus.DELIVERED,
    203: DeliveryStatus.SENT,
    290: DeliveryStatus.QUEUED,
    292: DeliveryStatus.QUEUED,
    295: DeliveryStatus.SENT,
    250: DeliveryStatus.SENT,
    251: DeliveryStatus.SENT,
    **dict.fromkeys(
        (207, 210, 211, 220, 221, 222, 229, 230, 231, 233, 234, 237, 238), DeliveryStatus.FAILED
    ),
    **dict.fromkeys(range(500, 510), DeliveryStatus.FAILED),
}


@pytest.mark.parametrize(("code", "status"), DOCUMENTED_STATUS_CODES.items())
def test_every_documented_status_code_means_what_telesign_says(
    code: int, status: DeliveryStatus
) -> None:
    report = telesign.parse_status(
        telesign.parse(
            changed("status_delivered", status={"code": code}), telesign.DeliveryCallback
        )
    )
    assert (report.status, report.unknown_status) == (status, None)
    assert (report.error is not None) == (status is DeliveryStatus.FAILED)


async def test_transaction_not_attempted_marks_the_reply_failed(
    client: httpx.AsyncClient, services: Container, telesign_api: LoopbackApi
) -> None:
    reply = await reply_sent_by_alice(client, services, telesign_api)
    body = changed(
        "status_delivered", status={"code": 500, "description": "Transaction not attempted"}
    )
    response = await post_status(client, body)
    assert (response.status_code, response.content) == (200, b"")
    await drain(services)
    view = await agent_view(client, services, reply)
    assert (view["status"], view["error"]) == (
        "failed",
        "TeleSign status 500: Transaction not attempted",
    )


async def test_an_undocumented_code_is_acknowledged_and_kept_on_the_message(
    client: httpx.AsyncClient,
    services: Container,
    telesign_api: LoopbackApi,
    caplog: pytest.LogCaptureFixture,
) -> None:
    reply = await reply_sent_by_alice(client, services, telesign_api)
    response = await post_status(client, changed("status_delivered", status={"code": 299}))
    assert (response.status_code, response.content) == (200, b"")
    await drain(services)
    message = await services.store.get_message(reply)
    assert message is not None
    assert (message.status, message.unknown_status) == ("sent", "unknown status 299")
    warnings = [r for r in caplog.records if r.levelname == "WARNING" and "299" in r.message]
    assert len(warnings) == 1


@pytest.mark.parametrize(
    ("name", "occurred_at"),
    [
        ("status_delivered", datetime(2016, 10, 21, 14, 5, 36, 181346, tzinfo=UTC)),  # RFC 3339
        ("status_sent", datetime(2016, 10, 21, 14, 5, 31, tzinfo=UTC)),  # RFC 1123
    ],
)
def test_report_dates_are_read_in_either_format(name: str, occurred_at: datetime) -> None:
    report = telesign.parse_status(telesign.parse(fixture(name), telesign.DeliveryCallback))
    assert report.occurred_at == occurred_at
    assert report.report_id.startswith(f"{REFERENCE_ID}:")


# --- channel administration ------------------------------------------------------------------


async def test_channel_validation_sends_a_test_sms_through_telesign(
    client: httpx.AsyncClient, services: Container, telesign_api: LoopbackApi
) -> None:
    admin = bearer(services, "root", Role.ADMIN)
    response = await client.post("/api/admin/channels/sms-telesign/validate", headers=admin)
    assert response.status_code == 200
    assert response.json() == [
        {"number": NUMBER, "ok": True, "provider_message_id": REFERENCE_ID, "error": None}
    ]
    (request,) = telesign_api.requests
    form = request.form()
    assert (form["phone_number"], form["message"]) == (["12025550123"], [VALIDATION_TEXT])

    telesign_api.answer_with(
        Answer(
            400,
            {
                "status": {
                    "code": 11000,
                    "description": "Invalid value for parameter phone_number.",
                },
                "errors": [
                    {"code": -40008, "description": "Invalid value for parameter phone_number."}
                ],
            },
        )
    )
    response = await client.post("/api/admin/channels/sms-telesign/validate", headers=admin)
    (check,) = response.json()
    assert not check["ok"]
    assert check["error"] == "TeleSign error -40008: Invalid value for parameter phone_number."


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"customer_id": "my-account"}, "customer_id", id="not a guid"),
        pytest.param({"api_key": "not base64!"}, "api_key", id="key not base64"),
    ],
)
async def test_a_malformed_telesign_account_is_refused(
    client: httpx.AsyncClient, services: Container, changes: dict[str, str], field: str
) -> None:
    response = await client.put(
        "/api/admin/channels/sms-telesign-2",
        json={
            "kind": "sms",
            "addresses": ["+1 202 555 0124"],
            "account": account(**changes),
            "workstream_id": "ws-sms",
        },
        headers=bearer(services, "root", Role.ADMIN),
    )
    assert response.status_code == 400
    assert field in response.json()["detail"]
    assert "not base64!" not in response.text  # secrets are never echoed
    assert await services.store.get_channel("sms-telesign-2") is None


async def test_a_telesign_channel_keeps_its_key_write_only(
    client: httpx.AsyncClient, services: Container
) -> None:
    response = await client.get(
        "/api/admin/channels/sms-telesign", headers=bearer(services, "root", Role.ADMIN)
    )
    assert response.json()["account"] == {"provider": "telesign", "customer_id": CUSTOMER_ID}
    assert response.json()["secrets_set"] == ["api_key"]
    assert API_KEY not in response.text
