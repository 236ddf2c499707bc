"""Delivery reports the local runtime cannot match at once, over real HTTP and on each store:
one that arrives before the send result stores the provider's id (a real race) is applied
when it is, and one for a message this system never sent is dropped with one warning.
Neither leaves a traceback in the runtime's log or a dead letter."""

from __future__ import annotations

import sqlite3
from urllib.parse import urlencode

import httpx
import pytest
from twilio.request_validator import RequestValidator

from shared.services.delivery import WAITS_FOR_MESSAGE
from tests.channels.twilio.test_twilio_sender import CREATED
from tests.e2e.runtime import TWILIO_TOKEN, Runtime, eventually, send_sms, work_of
from tests.loopback import Answer, LoopbackApi

pytestmark = pytest.mark.e2e


def post_status(runtime: Runtime, sid: str, status: str) -> httpx.Response:
    url = f"{runtime.base}/api/sms/twilio/status"
    params = {
        "MessageSid": sid,
        "MessageStatus": status,
        "AccountSid": str(CREATED["account_sid"]),
        "From": "+12025550100",
        "To": "+14155550101",
        "ApiVersion": "2010-04-01",
    }
    return httpx.post(
        url,
        content=urlencode(params),
        headers={
            "X-Twilio-Signature": RequestValidator(TWILIO_TOKEN).compute_signature(url, params),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )


def dead_letters(runtime: Runtime) -> int:
    with sqlite3.connect(runtime.data_dir / "omnichannel.db") as db:
        (count,) = db.execute("SELECT COUNT(*) FROM dead_letters").fetchone()
    return int(count)


def test_an_early_report_applies_and_a_stray_one_is_dropped_without_a_traceback(
    runtime: Runtime, store_settings: dict[str, str]
) -> None:
    with LoopbackApi(Answer(201, CREATED)).running() as twilio_api:
        runtime.start(
            settings={
                **store_settings,
                "SMS_SENDER": "providers",
                "TWILIO_API_BASE_URL": twilio_api.base_url,
            }
        )
        assert send_sms(runtime, "Is my parcel lost?").status_code == 200
        (work,) = eventually(lambda: work_of(runtime, "alice"), "the offer to alice")
        messages_url = f"{runtime.base}/api/conversations/{work['conversation']['id']}/messages"

        # Twilio reports "delivered" before the reply it concerns has even been sent.
        assert post_status(runtime, str(CREATED["sid"]), "delivered").status_code == 204
        # And a correctly signed report about a message some other application sent.
        assert post_status(runtime, "SMnot0ours", "delivered").status_code == 204
        reply = httpx.post(
            messages_url, json={"text": "It is on its way."}, headers=runtime.auth("alice")
        )
        assert reply.status_code == 201

        def reply_status() -> str:
            return str(httpx.get(messages_url, headers=runtime.auth("alice")).json()[-1]["status"])

        assert eventually(lambda: reply_status() == "delivered", "the early report applied")
        waited = sum(wait.total_seconds() for wait in WAITS_FOR_MESSAGE)
        eventually(
            lambda: any("dropped twilio delivery report" in line for line in runtime.output),
            f"the stray report dropped after {waited:.0f} s of waits",
        )
        assert runtime.stop() == 0
    log = "".join(runtime.output)
    assert "Traceback" not in log
    assert log.count("dropped twilio delivery report") == 1
    assert dead_letters(runtime) == 0
