"""ACS end to end over real HTTP with SMS_SENDER=providers: an admin connects an ACS resource
(the ACS SMS API stood up on loopback over HTTPS, its certificate trusted through
SSL_CERT_FILE, so the runtime verifies TLS as in production) and validates it; Event Grid's
SMSReceived reaches alice, her reply leaves through the ACS SDK, and Event Grid's delivery
report marks it delivered."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.channels.acs.wire import ACCESS_KEY, ACS_NUMBER, WEBHOOK_SECRET, sent, signed_with
from tests.e2e.runtime import Runtime, eventually, work_of
from tests.loopback import LoopbackApi, LoopbackCertificate

pytestmark = pytest.mark.e2e

CUSTOMER = "+14155550101"  # Ada, a known customer
VALIDATION_ID = "Outgoing_20260101000000validation"
REPLY_ID = "Outgoing_20260101000001reply"


def now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def event_grid(runtime: Runtime, events: list[dict[str, Any]], content_type: str) -> httpx.Response:
    return httpx.post(
        f"{runtime.base}/api/sms/acs",
        params={"code": WEBHOOK_SECRET},
        json=events if content_type != "application/cloudevents+json" else events[0],
        headers={"Content-Type": content_type, "aeg-event-type": "Notification"},
    )


def test_acs_inbound_reply_and_delivery_report(runtime: Runtime, tmp_path: Path) -> None:
    certificate = LoopbackCertificate.create(tmp_path / "tls")
    answers = (sent(ACS_NUMBER, VALIDATION_ID), sent(CUSTOMER, REPLY_ID))
    with LoopbackApi(*answers, tls=certificate).running() as acs_api:
        runtime.start(
            settings={"SMS_SENDER": "providers", "SSL_CERT_FILE": str(certificate.cert_file)}
        )
        admin = runtime.auth("admin")
        created = httpx.put(
            f"{runtime.base}/api/admin/channels/sms-acs",
            json={
                "kind": "sms",
                "addresses": [ACS_NUMBER],
                "account": {
                    "provider": "acs",
                    "endpoint": acs_api.base_url,
                    "access_key": ACCESS_KEY,
                    "webhook_secret": WEBHOOK_SECRET,
                },
                "workstream_id": "ws-sms",
            },
            headers=admin,
        )
        assert created.status_code == 200, created.text
        assert set(created.json()["secrets_set"]) == {"access_key", "webhook_secret"}
        checks = httpx.post(
            f"{runtime.base}/api/admin/channels/sms-acs/validate", headers=admin, timeout=30
        )
        assert checks.json() == [
            {"number": ACS_NUMBER, "ok": True, "provider_message_id": VALIDATION_ID, "error": None}
        ]

        message_id = f"Incoming_{uuid.uuid4()}"
        received = {
            "id": message_id,
            "topic": "/subscriptions/s/resourcegroups/g/providers/microsoft.communication/"
            "communicationservices/omni-acs",
            "subject": f"/phonenumber/{CUSTOMER.removeprefix('+')}",
            "data": {
                "MessageId": message_id,
                "From": CUSTOMER.removeprefix("+"),
                "To": ACS_NUMBER.removeprefix("+"),
                "Message": "My order never arrived",
                "ReceivedTimestamp": now(),
            },
            "eventType": "Microsoft.Communication.SMSReceived",
            "dataVersion": "1.0",
            "metadataVersion": "1",
            "eventTime": now(),
        }
        accepted = event_grid(runtime, [received], "application/json")
        assert (accepted.status_code, accepted.json()) == (200, {"accepted": 1, "ignored": 0})
        (work,) = eventually(lambda: work_of(runtime, "alice"), "the offer to alice")
        assert work["conversation"]["customer_id"] == "cust-ada"
        assert work["conversation"]["business_address"] == ACS_NUMBER

        messages_url = f"{runtime.base}/api/conversations/{work['conversation']['id']}/messages"
        reply = httpx.post(
            messages_url, json={"text": "A new one ships today."}, headers=runtime.auth("alice")
        )
        assert reply.status_code == 201
        _, send = eventually(lambda: acs_api.requests[1:] and acs_api.requests, "the ACS send")
        assert (send.path, send.query) == ("/sms", {"api-version": ["2021-03-07"]})
        body = send.json()
        assert (body["from"], body["smsRecipients"][0]["to"], body["message"]) == (
            ACS_NUMBER,
            CUSTOMER,
            "A new one ships today.",
        )
        assert body["smsSendOptions"] == {"enableDeliveryReport": True, "tag": reply.json()["id"]}
        assert signed_with(send, ACCESS_KEY, acs_api.base_url.removeprefix("https://"))

        def reply_status() -> Any:
            listed = httpx.get(messages_url, headers=runtime.auth("alice")).json()
            return listed[-1]["status"]

        assert eventually(lambda: reply_status() == "sent", "the reply marked sent")
        report = {
            "specversion": "1.0",
            "id": REPLY_ID,
            "source": "/subscriptions/s/resourceGroups/g/providers/microsoft.communication/"
            "communicationservices/omni-acs",
            "subject": f"/phonenumber/{CUSTOMER.removeprefix('+')}",
            "type": "Microsoft.Communication.SMSDeliveryReportReceived",
            "time": now(),
            "data": {
                "messageId": REPLY_ID,
                "from": ACS_NUMBER,
                "to": CUSTOMER,
                "deliveryStatus": "Delivered",
                "deliveryStatusDetails": "No error.",
                "deliveryAttempts": [
                    {"timestamp": now(), "segmentsSucceeded": 1, "segmentsFailed": 0}
                ],
                "receivedTimestamp": now(),
                "tag": reply.json()["id"],
            },
        }
        delivered = event_grid(runtime, [report], "application/cloudevents+json")
        assert (delivered.status_code, delivered.json()) == (200, {"accepted": 1, "ignored": 0})
        assert eventually(lambda: reply_status() == "delivered", "the reply marked delivered")
        assert runtime.stop() == 0
