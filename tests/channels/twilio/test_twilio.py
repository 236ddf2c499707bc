"""Twilio webhooks through the whole stack: each fixture signed as Twilio would sign it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from twilio.request_validator import RequestValidator

from shared.bootstrap import Container
from shared.bus_messages import INBOUND
from shared.channels.twilio.webhook import (
    EMPTY_TWIML,
    FormParams,
    parse_status,
    signature_is_valid,
)
from shared.domain.conversations import DeliveryStatus
from shared.domain.identity import Role
from tests.support import (
    PUBLIC_BASE_URL,
    TWILIO_TOKEN,
    alice_replies,
    assert_problem,
    bearer,
    drain,
)

FIXTURES = Path(__file__).parent / "fixtures"
URL = f"{PUBLIC_BASE_URL}/api/sms/twilio"
SUPPORTED_EVENTS = {
    "inbound_sms",
    "inbound_mms",
    "status_sent",
    "status_delivered",
    "status_undelivered",
}
STATUS_URL = f"{PUBLIC_BASE_URL}/api/sms/twilio/status"


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.form").read_bytes()


def signed(body: bytes, *, token: str = TWILIO_TOKEN, url: str = URL) -> dict[str, str]:
    params = dict(parse_qsl(body.decode(), keep_blank_values=True))
    return {
        "X-Twilio-Signature": RequestValidator(token).compute_signature(url, params),
        "Content-Type": "application/x-www-form-urlencoded",
    }


async def post(client: httpx.AsyncClient, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return await client.post("/api/sms/twilio", content=body, headers=headers)


async def nothing_was_accepted(services: Container) -> None:
    assert services.local_bus is not None
    assert await services.local_bus.pending_count(INBOUND) == 0
    assert await services.store.find_customers_by_phone("+14133881111") == []


def test_every_supported_event_has_a_fixture() -> None:
    assert {p.stem for p in FIXTURES.glob("*.form")} == SUPPORTED_EVENTS


def test_twilio_official_signature_vector() -> None:
    params = FormParams(
        [
            ("CallSid", "CA1234567890ABCDE"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
            ("Caller", "+14158675309"),
        ]
    )
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert signature_is_valid("12345", url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", None)
    assert not signature_is_valid("12345", url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B9=", None)
    assert not signature_is_valid("54321", url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", None)


async def test_inbound_sms_reaches_an_agent(client: httpx.AsyncClient, services: Container) -> None:
    body = fixture("inbound_sms")
    response = await post(client, body, signed(body))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert response.text == EMPTY_TWIML
    await drain(services)

    work = (
        await client.get("/api/agents/me/work", headers=bearer(services, "alice", Role.AGENT))
    ).json()
    assert len(work) == 1
    conversation = work[0]["conversation"]
    assert (conversation["customer_address"], conversation["business_address"]) == (
        "+14133881111",
        "+12025550100",
    )
    assert conversation["customer_id"] is None  # not a known customer
    assert (work[0]["item"]["queue_id"], work[0]["item"]["status"]) == ("q-general", "active")
    messages = (
        await client.get(
            f"/api/conversations/{conversation['id']}/messages",
            headers=bearer(services, "alice", Role.AGENT),
        )
    ).json()
    assert [(m["sequence"], m["text"], m["provider_message_id"]) for m in messages] == [
        (1, "Msg", "twilio:SMe287d7109a5a925f182f0e07fe5b223b")
    ]


async def test_inbound_mms_keeps_media_as_references(
    client: httpx.AsyncClient, services: Container
) -> None:
    body = fixture("inbound_mms")
    assert (await post(client, body, signed(body))).status_code == 200
    await drain(services)
    (work,) = (
        await client.get("/api/agents/me/work", headers=bearer(services, "alice", Role.AGENT))
    ).json()
    assert work["conversation"]["customer_id"] == "cust-ada"  # identified by mobile phone
    (stored,) = await services.store.list_messages(
        work["conversation"]["id"], include_internal=True
    )
    assert stored.text == "Here is the damaged box"
    assert [(m.content_type, m.url.rsplit("/", 1)[-1]) for m in stored.media] == [
        ("image/jpeg", "ME0001"),
        ("image/png", "ME0002"),
    ]


async def test_sha256_signatures_are_accepted(
    client: httpx.AsyncClient, services: Container
) -> None:
    body = fixture("inbound_sms")
    params = dict(parse_qsl(body.decode(), keep_blank_values=True))
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(URL, params, "HMAC_SHA256")
    headers = {
        "X-Twilio-Signature": signature,
        "X-Twilio-Webhooks-Signature-Settings": "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256",
    }
    assert (await post(client, body, headers)).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no signature"),
        pytest.param({"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}, id="wrong signature"),
        pytest.param(signed(fixture("inbound_sms"), token="another-token"), id="other token"),
        pytest.param(
            signed(fixture("inbound_sms"), url="https://elsewhere.test/api/sms/twilio"),
            id="other url",
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
    tampered = fixture("inbound_sms").replace(b"Body=Msg", b"Body=Transfer+all+funds")
    assert (await post(client, tampered, headers)).status_code == 403
    await nothing_was_accepted(services)


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        pytest.param({"From": "not-a-number"}, "From", id="bad number"),
        pytest.param({"MessageSid": ""}, "MessageSid", id="no sid"),
        pytest.param({"NumMedia": "two"}, "NumMedia", id="bad media count"),
        pytest.param({"NumMedia": "1"}, "MediaUrl0", id="media without url"),
    ],
)
async def test_a_malformed_webhook_gets_400_and_stores_nothing(
    client: httpx.AsyncClient, services: Container, change: dict[str, str], detail: str
) -> None:
    params = dict(parse_qsl(fixture("inbound_sms").decode(), keep_blank_values=True)) | change
    body = urlencode(params).encode()
    response = await post(client, body, signed(body))
    assert_problem(response, 400, detail)
    await nothing_was_accepted(services)


async def test_a_number_no_channel_serves_gets_404(
    client: httpx.AsyncClient, services: Container
) -> None:
    body = fixture("inbound_sms").replace(b"To=%2B12025550100", b"To=%2B12028831111")
    response = await post(client, body, signed(body))
    assert response.status_code == 404
    await nothing_was_accepted(services)


async def test_concurrent_retries_store_the_message_once(
    client: httpx.AsyncClient, services: Container
) -> None:
    """Invariant 3: Twilio delivers the same webhook five times at once."""
    body = fixture("inbound_sms")
    responses = await asyncio.gather(*(post(client, body, signed(body)) for _ in range(5)))
    assert [r.status_code for r in responses] == [200] * 5
    await drain(services)
    (work,) = (
        await client.get("/api/agents/me/work", headers=bearer(services, "alice", Role.AGENT))
    ).json()
    assert (
        len(await services.store.list_messages(work["conversation"]["id"], include_internal=True))
        == 1
    )


async def reply_sent_by_alice(client: httpx.AsyncClient, services: Container) -> str:
    """An inbound SMS answered by alice and sent: returns the reply's provider message id."""
    body = fixture("inbound_sms")
    assert (await post(client, body, signed(body))).status_code == 200
    reply = await alice_replies(client, services)
    assert reply.provider_message_id is not None
    return reply.provider_message_id.removeprefix("twilio:")


async def post_status(
    client: httpx.AsyncClient, name: str, sid: str, *, token: str = TWILIO_TOKEN
) -> httpx.Response:
    body = fixture(name).replace(b"MessageSid=SMyyy", f"MessageSid={sid}".encode())
    headers = signed(body, token=token, url=STATUS_URL)
    return await client.post("/api/sms/twilio/status", content=body, headers=headers)


async def test_status_callbacks_move_a_reply_forward_only(
    client: httpx.AsyncClient, services: Container
) -> None:
    sid = await reply_sent_by_alice(client, services)
    for name in ("status_delivered", "status_sent", "status_delivered"):
        assert (await post_status(client, name, sid)).status_code == 204
        await drain(services)
    message = await services.store.find_message_by_provider_id(f"twilio:{sid}")
    assert message is not None
    assert message.status == "delivered"  # the late "sent" changed nothing


async def test_an_undelivered_status_marks_the_reply_failed_with_twilios_reason(
    client: httpx.AsyncClient, services: Container
) -> None:
    sid = await reply_sent_by_alice(client, services)
    assert (await post_status(client, "status_undelivered", sid)).status_code == 204
    await drain(services)
    message = await services.store.find_message_by_provider_id(f"twilio:{sid}")
    assert message is not None
    assert (message.status, message.error) == ("failed", "Twilio error 30003")


async def test_a_status_callback_with_a_bad_signature_is_refused(
    client: httpx.AsyncClient, services: Container
) -> None:
    sid = await reply_sent_by_alice(client, services)
    response = await post_status(client, "status_delivered", sid, token="another-token")
    assert response.status_code == 403
    assert services.local_bus is not None
    assert await services.local_bus.pending_count("delivery") == 0


# Twilio's documented MessageStatus values; `receiving` and `received` are an inbound
# message's: a report of them about our reply changes nothing (see advance_delivery).
DOCUMENTED_STATUSES = {
    "accepted": DeliveryStatus.QUEUED,
    "scheduled": DeliveryStatus.QUEUED,
    "queued": DeliveryStatus.QUEUED,
    "sending": DeliveryStatus.SENT,
    "sent": DeliveryStatus.SENT,
    "partially_delivered": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.FAILED,
    "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
    "receiving": DeliveryStatus.RECEIVED,
    "received": DeliveryStatus.RECEIVED,
}


@pytest.mark.parametrize(("raw", "status"), DOCUMENTED_STATUSES.items())
def test_every_documented_status_means_what_twilio_says(raw: str, status: DeliveryStatus) -> None:
    params = FormParams.parse(
        f"MessageSid=SM1&MessageStatus={raw}&From=%2B12025550100&To=%2B14155550101".encode()
    )
    report = parse_status(params)
    assert (report.status, report.unknown_status) == (status, None)
    assert report.report_id == f"SM1:{raw}"


async def test_a_status_twilio_may_add_later_is_acknowledged_and_kept(
    client: httpx.AsyncClient, services: Container
) -> None:
    body = fixture("status_sent").replace(b"MessageStatus=sent", b"MessageStatus=teleported")
    response = await client.post(
        "/api/sms/twilio/status", content=body, headers=signed(body, url=STATUS_URL)
    )
    assert response.status_code == 204
    assert services.local_bus is not None
    assert await services.local_bus.pending_count("delivery") == 1
