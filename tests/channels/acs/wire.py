"""What ACS puts on the wire, for the channel tests and the end-to-end test alike: the Event
Grid fixtures, the SMS REST API's documented answers, and its HMAC-SHA256 request signing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from shared.domain.channels import AcsAccount, Channel, ChannelKind
from tests.loopback import Answer, RecordedRequest

FIXTURES = Path(__file__).parent / "fixtures"

ACS_NUMBER = "+12025550187"  # the number the fixtures text (they spell it without '+')
WEBHOOK_SECRET = "acs-webhook-secret-0123456789"
ACCESS_KEY = base64.b64encode(b"acs-test-access-key-0123456789ab").decode()
API_VERSION = "2021-03-07"  # what azure-communication-sms 1.1.0 sends


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def fixture_events(name: str) -> list[dict[str, Any]]:
    document = fixture(name)
    return document if isinstance(document, list) else [document]


def acs_channel(
    endpoint: str = "https://acs-demo.unitedstates.communication.azure.com",
    *,
    channel_id: str = "sms-acs",
    number: str = ACS_NUMBER,
    secret: str = WEBHOOK_SECRET,
) -> Channel:
    return Channel(
        id=channel_id,
        kind=ChannelKind.SMS,
        addresses=(number,),
        account=AcsAccount(endpoint=endpoint, access_key=ACCESS_KEY, webhook_secret=secret),
        workstream_id="ws-sms",
    )


def sent(to: str, message_id: str) -> Answer:
    """ACS's 202 for POST /sms: one result per recipient."""
    return Answer(
        202,
        {"value": [{"to": to, "messageId": message_id, "httpStatusCode": 202, "successful": True}]},
    )


def refused(to: str, status: int, error: str) -> Answer:
    """Still 202 as a whole: ACS fails recipients one by one."""
    return Answer(
        202,
        {
            "value": [
                {"to": to, "httpStatusCode": status, "errorMessage": error, "successful": False}
            ]
        },
    )


def signed_with(request: RecordedRequest, access_key: str, host: str) -> bool:
    """Whether ACS would accept the request's HMAC-SHA256 signature: over the method, the path
    and query, x-ms-date, the host and the body's SHA-256, which must be the body's."""
    content_hash = base64.b64encode(hashlib.sha256(request.body).digest()).decode()
    if request.headers.get("x-ms-content-sha256") != content_hash:
        return False
    query = "&".join(
        f"{name}={value}" for name, values in request.query.items() for value in values
    )
    string_to_sign = (
        f"{request.method}\n{request.path}?{query}\n"
        f"{request.headers['x-ms-date']};{host};{content_hash}"
    )
    signature = base64.b64encode(
        hmac.new(base64.b64decode(access_key), string_to_sign.encode(), hashlib.sha256).digest()
    ).decode()
    expected = f"HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={signature}"
    return hmac.compare_digest(request.headers.get("authorization", ""), expected)
