"""Rotating a provider secret, as docs/deploy.md tells an operator to: the channel record is the
secret's one home, so the admin's PUT takes effect on the very next webhook, with no restart.

Over real HTTP against the local runtime on SQLite; the store is read on every webhook, so what
holds here holds for Cosmos DB too."""

from __future__ import annotations

import httpx
import pytest

from devserver.banner import signed_twilio_form
from devserver.seed import DEMO_TWILIO_ACCOUNT_SID, SMS_NUMBER
from tests.e2e.runtime import TWILIO_TOKEN, Runtime, free_port

pytestmark = pytest.mark.e2e

ROTATED_TOKEN = "rotated-twilio-auth-token"


def twilio_webhook(runtime: Runtime, auth_token: str, sid: str) -> httpx.Response:
    url = f"{runtime.base}/api/sms/twilio"
    body, signature = signed_twilio_form(
        auth_token, url, sender="+14155550123", to=SMS_NUMBER, text="Hello", sid=sid
    )
    return httpx.post(
        url,
        content=body,
        headers={
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )


@pytest.fixture
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    return Runtime(tmp_path_factory.mktemp("rotation") / "data", free_port())


def test_a_rotated_twilio_token_is_used_at_once_and_the_old_one_refused(runtime: Runtime) -> None:
    runtime.start()
    try:
        assert twilio_webhook(runtime, TWILIO_TOKEN, sid="SM" + "1" * 32).status_code == 200
        channel_url = f"{runtime.base}/api/admin/channels/sms-main"
        before = httpx.get(channel_url, headers=runtime.auth("admin")).json()

        rotated = httpx.put(
            channel_url,
            headers=runtime.auth("admin"),
            json={
                "kind": before["kind"],
                "addresses": before["addresses"],
                "workstream_id": before["workstream_id"],
                "account": {
                    "provider": "twilio",
                    "account_sid": DEMO_TWILIO_ACCOUNT_SID,
                    "auth_token": ROTATED_TOKEN,
                },
            },
        )
        assert rotated.status_code == 200, rotated.text
        assert "auth_token" not in rotated.json()["account"]

        assert twilio_webhook(runtime, ROTATED_TOKEN, sid="SM" + "2" * 32).status_code == 200
        refused = twilio_webhook(runtime, TWILIO_TOKEN, sid="SM" + "3" * 32)
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("application/problem+json")
    finally:
        runtime.stop()
