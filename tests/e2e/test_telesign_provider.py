"""TeleSign end to end over real HTTP with SMS_SENDER=providers: an admin adds and validates a
TeleSign channel, a signed inbound SMS reaches alice, her reply leaves through TeleSign's
Messaging API (stood up on loopback) and TeleSign's signed delivery report marks it delivered."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.channels.telesign.helpers import (
    ACCEPTED,
    NUMBER,
    REFERENCE_ID,
    account,
    fixture,
    signed,
)
from tests.e2e.runtime import Runtime, eventually, work_of
from tests.loopback import LoopbackApi

pytestmark = pytest.mark.e2e


def test_telesign_inbound_reply_and_delivery_report(runtime: Runtime) -> None:
    with LoopbackApi(ACCEPTED).running() as telesign_api:
        runtime.start(
            settings={"SMS_SENDER": "providers", "TELESIGN_API_BASE_URL": telesign_api.base_url}
        )
        admin = runtime.auth("admin")
        created = httpx.put(
            f"{runtime.base}/api/admin/channels/sms-telesign",
            json={
                "kind": "sms",
                "addresses": [NUMBER],
                "account": account(),
                "workstream_id": "ws-sms",
            },
            headers=admin,
        )
        assert created.status_code == 200, created.text
        validated = httpx.post(
            f"{runtime.base}/api/admin/channels/sms-telesign/validate", headers=admin
        )
        assert [(c["ok"], c["provider_message_id"]) for c in validated.json()] == [
            (True, REFERENCE_ID)
        ]

        inbound = fixture("inbound_sms")
        accepted = httpx.post(
            f"{runtime.base}/api/sms/telesign", content=inbound, headers=signed(inbound)
        )
        assert (accepted.status_code, accepted.content) == (200, b"")
        (work,) = eventually(lambda: work_of(runtime, "alice"), "the offer to alice")
        assert work["conversation"]["business_address"] == NUMBER
        messages_url = f"{runtime.base}/api/conversations/{work['conversation']['id']}/messages"
        reply = httpx.post(
            messages_url, json={"text": "It ships today."}, headers=runtime.auth("alice")
        )
        assert reply.status_code == 201

        sent = eventually(lambda: telesign_api.requests[1:], "the reply at TeleSign")[0]
        assert (sent.method, sent.path) == ("POST", "/v1/messaging")
        form = sent.form()
        assert (form["phone_number"], form["message"], form["external_id"]) == (
            ["14155550101"],
            ["It ships today."],
            [reply.json()["id"]],
        )
        status_url = form["callback_url"][0]
        assert status_url == f"{runtime.base}/api/sms/telesign/status"

        def reply_status() -> Any:
            listed = httpx.get(messages_url, headers=runtime.auth("alice")).json()
            return listed[-1]["status"]

        assert eventually(lambda: reply_status() == "sent", "the reply marked sent")
        report = fixture("status_delivered")
        delivered = httpx.post(status_url, content=report, headers=signed(report))
        assert delivered.status_code == 200
        assert eventually(lambda: reply_status() == "delivered", "the reply marked delivered")

        forged = httpx.post(status_url, content=report, headers={"Authorization": "TSA x:Zm9v"})
        assert forged.status_code == 403
        assert forged.headers["content-type"] == "application/problem+json"
        assert runtime.stop() == 0
