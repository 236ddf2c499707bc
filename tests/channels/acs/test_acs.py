"""ACS SMS through Event Grid, through the whole stack: each fixture posted as Event Grid posts
it (both schemas), with the channel's webhook secret, wrong secrets and none."""

from __future__ import annotations

import asyncio
import copy
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from shared.bootstrap import Container
from shared.bus_messages import DELIVERY, INBOUND
from shared.channels.acs import webhook as acs
from shared.domain.conversations import DeliveryStatus
from shared.domain.identity import Role
from tests.channels.acs.wire import (
    ACS_NUMBER,
    FIXTURES,
    WEBHOOK_SECRET,
    acs_channel,
    fixture,
    fixture_events,
)
from tests.support import alice_replies, assert_problem, bearer, drain

URL = "/api/sms/acs"
CUSTOMER = "+15555555555"  # the fixtures' customer, spelled without '+' there
SUPPORTED_EVENTS = {
    "subscription_validation.eventgrid",
    "sms_received.eventgrid",
    "sms_received.cloudevents",
    "sms_delivery_report.eventgrid",
    "sms_delivery_report_failed.cloudevents-batch",
}
CONTENT_TYPES = {
    "eventgrid": "application/json",
    "cloudevents": "application/cloudevents+json; charset=utf-8",
    "cloudevents-batch": "application/cloudevents-batch+json; charset=utf-8",
}
RECEIVED_ID = "Incoming_20200918002745d29ebbea-3341-4466-9690-0a03af35228e"


@pytest.fixture(autouse=True)
async def channel(services: Container) -> None:
    await services.store.put_channel(acs_channel())


async def post(
    client: httpx.AsyncClient,
    name: str,
    body: Any = None,
    *,
    secret: str | None = WEBHOOK_SECRET,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """A fixture (or a body in its schema) as Event Grid delivers it to `?code=<secret>`."""
    schema = name.split(".", 1)[1]
    sent_headers = {"Content-Type": CONTENT_TYPES[schema], "aeg-event-type": "Notification"}
    if name.startswith("subscription_validation"):
        sent_headers["aeg-event-type"] = "SubscriptionValidation"
    return await client.post(
        URL,
        params={} if secret is None else {"code": secret},
        content=json.dumps(fixture(name) if body is None else body).encode(),
        headers=sent_headers | (headers or {}),
    )


async def pending(services: Container, queue: str) -> int:
    assert services.local_bus is not None
    return await services.local_bus.pending_count(queue)


async def nothing_was_accepted(services: Container) -> None:
    assert await pending(services, INBOUND) == 0
    assert await pending(services, DELIVERY) == 0
    assert await services.store.find_message_by_provider_id(f"acs:{RECEIVED_ID}") is None


def with_data(name: str, **changes: Any) -> list[dict[str, Any]]:
    """The fixture's events with their data keys replaced (PascalCase or camelCase alike)."""
    events = copy.deepcopy(fixture_events(name))
    for event in events:
        data = event["data"]
        for key, value in changes.items():
            for existing in [k for k in data if k.lower() == key.lower()]:
                del data[existing]
            if value is not None:
                data[key] = value
    return events


def test_every_supported_event_has_a_fixture() -> None:
    assert {p.name.removesuffix(".json") for p in FIXTURES.glob("*.json")} == SUPPORTED_EVENTS
    types = {
        event.get("eventType") or event.get("type")
        for name in SUPPORTED_EVENTS
        for event in fixture_events(name)
    }
    assert types == acs.SUPPORTED_EVENT_TYPES


@pytest.mark.parametrize("name", ["sms_received.eventgrid", "sms_received.cloudevents"])
async def test_an_sms_reaches_an_agent_in_either_schema(
    client: httpx.AsyncClient, services: Container, name: str
) -> None:
    response = await post(client, name)
    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "ignored": 0}
    await drain(services)

    alice = bearer(services, "alice", Role.AGENT)
    (work,) = (await client.get("/api/agents/me/work", headers=alice)).json()
    conversation = work["conversation"]
    assert (conversation["customer_address"], conversation["business_address"]) == (
        CUSTOMER,
        ACS_NUMBER,
    )
    assert (work["item"]["queue_id"], work["item"]["status"]) == ("q-general", "active")
    messages = (
        await client.get(f"/api/conversations/{conversation['id']}/messages", headers=alice)
    ).json()
    assert [(m["text"], m["provider_message_id"]) for m in messages] == [
        ("Great to connect with ACS events", f"acs:{RECEIVED_ID}")
    ]


@pytest.mark.parametrize(
    "spelling",
    [str.lower, str.upper, lambda key: key[0].lower() + key[1:]],
    ids=["lower", "upper", "camel"],
)
def test_keys_are_read_whatever_their_case(spelling: Any) -> None:
    """Microsoft's samples write MessageId and messageId, specversion and specVersion."""

    def respell(value: Any) -> Any:
        if isinstance(value, dict):
            return {spelling(k): respell(v) for k, v in value.items()}
        if isinstance(value, list):
            return [respell(v) for v in value]
        return value

    now = datetime(2026, 1, 1, tzinfo=UTC)
    for name in SUPPORTED_EVENTS:
        body = fixture(name)
        expected = acs.parse_events(json.dumps(body).encode(), now)
        assert acs.parse_events(json.dumps(respell(body)).encode(), now) == expected


async def test_subscription_validation_echoes_the_code(
    client: httpx.AsyncClient, services: Container
) -> None:
    response = await post(client, "subscription_validation.eventgrid")
    assert response.status_code == 200
    assert response.json() == {"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}
    await nothing_was_accepted(services)


@pytest.mark.parametrize(
    ("secret", "status"), [(None, 401), ("not-the-secret-at-all", 403)], ids=["none", "wrong"]
)
async def test_subscription_validation_needs_the_secret_too(
    client: httpx.AsyncClient, secret: str | None, status: int
) -> None:
    """Anyone can make Event Grid validate a subscription to our URL: the handshake proves
    nothing, so it is answered only with a channel's secret."""
    response = await post(client, "subscription_validation.eventgrid", secret=secret)
    assert_problem(response, status)
    assert "validationResponse" not in response.text


async def test_the_secret_may_come_as_a_delivery_header(
    client: httpx.AsyncClient, services: Container
) -> None:
    response = await post(
        client, "sms_received.eventgrid", secret=None, headers={"x-webhook-secret": WEBHOOK_SECRET}
    )
    assert response.status_code == 200
    assert await pending(services, INBOUND) == 1


@pytest.mark.parametrize(
    ("secret", "headers", "status"),
    [
        pytest.param(None, {}, 401, id="no secret"),
        pytest.param("wrong-secret-of-some-length", {}, 403, id="wrong secret"),
        pytest.param("", {}, 403, id="empty secret"),
        pytest.param(WEBHOOK_SECRET[:-1], {}, 403, id="secret prefix"),
        pytest.param(
            WEBHOOK_SECRET, {"x-webhook-secret": "wrong-secret-of-some-length"}, 403, id="one wrong"
        ),
    ],
)
async def test_a_delivery_without_the_channels_secret_is_refused_and_stores_nothing(
    client: httpx.AsyncClient,
    services: Container,
    secret: str | None,
    headers: dict[str, str],
    status: int,
) -> None:
    for name in ("sms_received.eventgrid", "sms_delivery_report.eventgrid"):
        response = await post(client, name, secret=secret, headers=headers)
        assert_problem(response, status)
        assert response.json()["status"] == status
    await nothing_was_accepted(services)


async def test_without_entra_a_bearer_token_is_told_to_use_the_secret(
    client: httpx.AsyncClient,
) -> None:
    response = await post(
        client,
        "sms_received.eventgrid",
        secret=None,
        headers={"Authorization": "Bearer eyJhbGciOi.e30.c2ln"},
    )
    assert response.status_code == 401
    assert "webhook secret" in response.json()["detail"]


async def test_another_channels_secret_is_refused(
    client: httpx.AsyncClient, services: Container
) -> None:
    other = acs_channel(
        channel_id="sms-acs-2", number="+12025550188", secret="second-channel-secret"
    )
    await services.store.put_channel(other)
    assert (
        await post(client, "sms_received.eventgrid", secret="second-channel-secret")
    ).status_code == 403
    await nothing_was_accepted(services)


async def test_each_event_of_a_batch_needs_its_own_channels_secret(
    client: httpx.AsyncClient, services: Container
) -> None:
    second_number = "+12025550188"
    mine = fixture_events("sms_received.eventgrid")
    theirs = with_data("sms_received.eventgrid", To="12025550188", MessageId="Incoming_2")
    theirs[0]["id"] = "Incoming_2"
    batch = mine + theirs

    await services.store.put_channel(
        acs_channel(channel_id="sms-acs-2", number=second_number, secret="second-channel-secret")
    )
    assert (await post(client, "sms_received.eventgrid", batch)).status_code == 403
    await nothing_was_accepted(services)

    # One ACS resource, one subscription, one secret: channels sharing it take a mixed batch.
    await services.store.put_channel(acs_channel(channel_id="sms-acs-2", number=second_number))
    response = await post(client, "sms_received.eventgrid", batch)
    assert (response.status_code, response.json()) == (200, {"accepted": 2, "ignored": 0})
    assert await pending(services, INBOUND) == 2


async def test_a_number_no_acs_channel_serves_gets_404(
    client: httpx.AsyncClient, services: Container
) -> None:
    twilio_number = with_data("sms_received.eventgrid", To="12025550100")
    response = await post(client, "sms_received.eventgrid", twilio_number)
    assert response.status_code == 404
    await nothing_was_accepted(services)


async def test_concurrent_redeliveries_store_the_message_once(
    client: httpx.AsyncClient, services: Container
) -> None:
    """Invariant 3: Event Grid delivers at least once; the same event five times at once."""
    responses = await asyncio.gather(
        *(post(client, "sms_received.eventgrid") for _ in range(5)),
        post(client, "sms_received.cloudevents"),  # the same event id in the other schema
    )
    assert [r.status_code for r in responses] == [200] * 6
    assert await pending(services, INBOUND) == 1
    await drain(services)
    (work,) = (
        await client.get("/api/agents/me/work", headers=bearer(services, "alice", Role.AGENT))
    ).json()
    stored = await services.store.list_messages(work["conversation"]["id"], include_internal=True)
    assert [m.provider_message_id for m in stored] == [f"acs:{RECEIVED_ID}"]


def _valid_then(broken: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return fixture_events("sms_received.eventgrid") + broken


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        pytest.param(b"not json", "not an Event Grid delivery", id="not json"),
        pytest.param(b"[]", "no events", id="empty batch"),
        pytest.param(b"[42]", "not a JSON object", id="not an object"),
        pytest.param(
            with_data("sms_received.eventgrid", MessageId=None), "messageid", id="no message id"
        ),
        pytest.param(
            with_data("sms_received.eventgrid", From="not-a-number"), "from", id="bad number"
        ),
        pytest.param(with_data("sms_received.eventgrid", To=""), "to", id="empty number"),
        pytest.param(
            with_data("sms_delivery_report.eventgrid", deliveryStatus=None),
            "deliverystatus",
            id="report without status",
        ),
        pytest.param(
            _valid_then(with_data("sms_received.eventgrid", Message=None)),
            "message",
            id="second event broken",
        ),
        pytest.param(
            [{**fixture_events("sms_received.eventgrid")[0], "id": ""}], "id", id="empty id"
        ),
        pytest.param(
            [{**fixture("sms_received.cloudevents"), "specVersion": "0.3"}],
            "specversion",
            id="cloudevents 0.3",
        ),
        pytest.param(
            [
                {
                    **fixture_events("sms_received.eventgrid")[0],
                    "data": {**fixture_events("sms_received.eventgrid")[0]["data"], "from": "1"},
                }
            ],
            "twice",
            id="key twice in two cases",
        ),
        pytest.param(
            fixture_events("subscription_validation.eventgrid") * 2,
            "one subscription validation",
            id="two validations",
        ),
    ],
)
async def test_a_malformed_delivery_gets_400_and_stores_nothing(
    client: httpx.AsyncClient, services: Container, body: Any, detail: str
) -> None:
    response = await client.post(
        URL,
        params={"code": WEBHOOK_SECRET},
        content=body if isinstance(body, bytes) else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 400, detail)
    assert "Great to connect" not in response.text  # the customer's text is never echoed
    await nothing_was_accepted(services)


async def test_a_bad_number_is_logged_without_the_message(
    client: httpx.AsyncClient, services: Container, caplog: pytest.LogCaptureFixture
) -> None:
    body = with_data("sms_received.eventgrid", From="not-a-number")
    assert (await post(client, "sms_received.eventgrid", body)).status_code == 400
    assert "not a phone number" in caplog.text
    assert "Great to connect" not in caplog.text
    assert "not-a-number" not in caplog.text


async def test_other_event_types_are_acknowledged_and_ignored(
    client: httpx.AsyncClient, services: Container
) -> None:
    chat = {
        "id": "c8ac6ad0-2a3b-4e0a-8b0e-3f0c3d1c5e01",
        "topic": "/subscriptions/{id}/resourcegroups/{group}/providers/microsoft.communication/"
        "communicationservices/{name}",
        "subject": "thread/19:thread@thread.v2/sender/8:acs:sender/recipient/8:acs:recipient",
        "data": {"messageBody": "hello", "type": "Text"},
        "eventType": "Microsoft.Communication.ChatMessageReceived",
        "dataVersion": "1.0",
        "metadataVersion": "1",
        "eventTime": "2021-02-19T00:25:58.0000000Z",
    }
    response = await post(client, "sms_received.eventgrid", [chat])
    assert (response.status_code, response.json()) == (200, {"accepted": 0, "ignored": 1})
    await nothing_was_accepted(services)
    # Ignored or not, it takes a channel's secret.
    assert (
        await post(client, "sms_received.eventgrid", [chat], secret="x" * 20)
    ).status_code == 403


async def test_the_cloudevents_handshake_echoes_the_origin(client: httpx.AsyncClient) -> None:
    response = await client.options(
        URL,
        params={"code": WEBHOOK_SECRET},
        headers={"WebHook-Request-Origin": "eventgrid.azure.net"},
    )
    assert response.status_code == 200
    assert response.headers["webhook-allowed-origin"] == "eventgrid.azure.net"
    assert response.headers["webhook-allowed-rate"] == "*"


@pytest.mark.parametrize(
    ("params", "headers", "status"),
    [
        pytest.param({}, {"WebHook-Request-Origin": "eventgrid.azure.net"}, 401, id="no secret"),
        pytest.param(
            {"code": "wrong-secret-of-some-length"},
            {"WebHook-Request-Origin": "eventgrid.azure.net"},
            403,
            id="wrong secret",
        ),
        pytest.param({"code": WEBHOOK_SECRET}, {}, 400, id="no origin"),
    ],
)
async def test_the_cloudevents_handshake_needs_the_secret_and_an_origin(
    client: httpx.AsyncClient, params: dict[str, str], headers: dict[str, str], status: int
) -> None:
    response = await client.options(URL, params=params, headers=headers)
    assert_problem(response, status)
    assert "webhook-allowed-origin" not in response.headers


async def reply_sent_by_alice(client: httpx.AsyncClient, services: Container) -> str:
    """An ACS SMS answered by alice and sent (sandbox sender): the reply's ACS message id."""
    assert (await post(client, "sms_received.eventgrid")).status_code == 200
    reply = await alice_replies(client, services)
    assert reply.status == DeliveryStatus.SENT and reply.provider_message_id is not None
    return reply.provider_message_id.removeprefix("acs:")


def report(name: str, message_id: str, event_id: str, **changes: Any) -> list[dict[str, Any]]:
    events = with_data(name, MessageId=message_id, **changes)
    events[0]["id"] = event_id
    return events


async def test_delivery_reports_move_a_reply_forward_only(
    client: httpx.AsyncClient, services: Container
) -> None:
    message_id = await reply_sent_by_alice(client, services)
    name = "sms_delivery_report.eventgrid"
    for body in [
        report(name, message_id, "e1"),
        report(name, message_id, "e1"),  # a redelivery
        report(name, message_id, "e2", deliveryStatus="Failed"),  # late, and stale
    ]:
        response = await post(client, name, body)
        assert (response.status_code, response.json()) == (200, {"accepted": 1, "ignored": 0})
        await drain(services)
    message = await services.store.find_message_by_provider_id(f"acs:{message_id}")
    assert message is not None
    assert (message.status, message.error) == (DeliveryStatus.DELIVERED, None)


async def test_a_failed_report_marks_the_reply_failed_with_acs_reason(
    client: httpx.AsyncClient, services: Container
) -> None:
    message_id = await reply_sent_by_alice(client, services)
    name = "sms_delivery_report_failed.cloudevents-batch"
    assert (await post(client, name, report(name, message_id, "f1"))).status_code == 200
    await drain(services)
    message = await services.store.find_message_by_provider_id(f"acs:{message_id}")
    assert message is not None
    assert (message.status, message.error) == (
        DeliveryStatus.FAILED,
        "The destination number is unreachable.",
    )


async def test_a_report_with_an_unknown_status_is_acknowledged_and_kept_on_the_message(
    client: httpx.AsyncClient, services: Container, caplog: pytest.LogCaptureFixture
) -> None:
    message_id = await reply_sent_by_alice(client, services)
    name = "sms_delivery_report.eventgrid"
    for event_id in ("u1", "u2"):  # ACS says it twice, in two events
        body = report(name, message_id, event_id, deliveryStatus="Teleported")
        response = await post(client, name, body)
        assert (response.status_code, response.json()) == (200, {"accepted": 1, "ignored": 0})
        await drain(services)
    warnings = [r for r in caplog.records if r.levelname == "WARNING" and "Teleported" in r.message]
    assert len(warnings) == 1
    message = await services.store.find_message_by_provider_id(f"acs:{message_id}")
    assert message is not None
    assert (message.status, message.unknown_status) == (
        DeliveryStatus.SENT,
        "unknown status Teleported",
    )


async def test_a_report_with_a_wrong_secret_is_refused(
    client: httpx.AsyncClient, services: Container
) -> None:
    message_id = await reply_sent_by_alice(client, services)
    name = "sms_delivery_report.eventgrid"
    response = await post(client, name, report(name, message_id, "w1"), secret="x" * 20)
    assert response.status_code == 403
    assert await pending(services, DELIVERY) == 0


# ACS's documented deliveryStatus values: the SMSDeliveryReportReceived event's (Delivered,
# Failed) and its delivery report schema's (Pending, Unknown), matched case-insensitively.
DOCUMENTED_DELIVERY_STATUSES = {
    "Delivered": DeliveryStatus.DELIVERED,
    "Failed": DeliveryStatus.FAILED,
    "Pending": DeliveryStatus.SENT,
    "Unknown": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "FAILED": DeliveryStatus.FAILED,
}
# Values ACS does not document, however plausible: each is kept as it was said.
UNDOCUMENTED_DELIVERY_STATUSES = {"Expired": None, "Undelivered": None, "Teleported": None}


@pytest.mark.parametrize(
    ("said", "status"), (DOCUMENTED_DELIVERY_STATUSES | UNDOCUMENTED_DELIVERY_STATUSES).items()
)
def test_every_delivery_status_means_what_acs_says(
    said: str, status: DeliveryStatus | None
) -> None:
    name = "sms_delivery_report.eventgrid"
    body = json.dumps(report(name, "m1", "s1", deliveryStatus=said)).encode()
    (event,) = acs.parse_events(body, datetime.now(UTC))
    assert isinstance(event, acs.DeliveryReportEvent)
    assert event.report.status is status
    assert event.report.unknown_status == (None if status is not None else said)
