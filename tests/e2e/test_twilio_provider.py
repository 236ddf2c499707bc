"""Twilio end to end over real HTTP with SMS_SENDER=providers: a signed inbound SMS reaches
alice, her reply leaves through Twilio's Messages API (stood up on loopback), and Twilio's
signed status callback marks it delivered."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from twilio.request_validator import RequestValidator

from tests.channels.twilio.test_twilio_sender import CREATED
from tests.e2e.runtime import TWILIO_TOKEN, Runtime, eventually, send_sms, work_of
from tests.loopback import Answer, LoopbackApi

pytestmark = pytest.mark.e2e


def test_twilio_inbound_reply_and_delivery_report(runtime: Runtime) -> None:
    with LoopbackApi(Answer(201, CREATED)).running() as twilio_api:
        runtime.start(
            settings={"SMS_SENDER": "providers", "TWILIO_API_BASE_URL": twilio_api.base_url}
        )
        assert send_sms(runtime, "Is my parcel lost?").status_code == 200
        (work,) = eventually(lambda: work_of(runtime, "alice"), "the offer to alice")
        messages_url = f"{runtime.base}/api/conversations/{work['conversation']['id']}/messages"
        reply = httpx.post(
            messages_url,
            json={"text": "No, it is out for delivery."},
            headers=runtime.auth("alice"),
        )
        assert reply.status_code == 201

        (sent,) = eventually(lambda: twilio_api.requests, "the send at Twilio")
        assert sent.path.endswith("/Messages.json")
        form = sent.form()
        assert (form["To"], form["From"], form["Body"]) == (
            ["+14155550101"],
            ["+12025550100"],
            ["No, it is out for delivery."],
        )
        status_url = form["StatusCallback"][0]
        assert status_url == f"{runtime.base}/api/sms/twilio/status"

        def reply_status() -> Any:
            listed = httpx.get(messages_url, headers=runtime.auth("alice")).json()
            return listed[-1]["status"]

        assert eventually(lambda: reply_status() == "sent", "the reply marked sent")
        params = {
            "MessageSid": CREATED["sid"],
            "MessageStatus": "delivered",
            "SmsStatus": "delivered",
            "AccountSid": CREATED["account_sid"],
            "From": "+12025550100",
            "To": "+14155550101",
            "ApiVersion": "2010-04-01",
        }
        callback = httpx.post(
            status_url,
            content=urlencode(params),
            headers={
                "X-Twilio-Signature": RequestValidator(TWILIO_TOKEN).compute_signature(
                    status_url, params
                ),
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        assert callback.status_code == 204
        assert eventually(lambda: reply_status() == "delivered", "the reply marked delivered")
        assert runtime.stop() == 0
