"""A TeleSign account as tests use it, its fixtures, and callbacks signed as TeleSign signs them.
Shared by the channel tests and the end-to-end test."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from shared.channels.telesign.webhook import callback_signature
from shared.domain.channels import Channel, ChannelKind, TeleSignAccount
from tests.loopback import Answer

FIXTURES = Path(__file__).parent / "fixtures"

CUSTOMER_ID = "FFFFFFFF-EEEE-DDDD-1234-AB1234567890"
API_KEY = base64.b64encode(b"telesign test api key: 32 bytes!").decode()
NUMBER = "+12025550123"  # what the fixtures' sender_id names
CUSTOMER_NUMBER = "+14155550101"  # Ada, a known customer
REFERENCE_ID = "B56259E45884010488343BAA15FB0002"  # the status fixtures' reference_id

# TeleSign's documented answer to POST /v1/messaging: accepted, in progress.
ACCEPTED = Answer(
    200,
    {
        "reference_id": REFERENCE_ID,
        "external_id": "CustomExternalID7349",
        "status": {
            "code": 290,
            "description": "Message in progress",
            "updated_on": "2016-10-21T14:05:30.173469Z",
        },
        "additional_info": {"message_parts_count": 1},
    },
)


def account(**changes: str) -> dict[str, str]:
    """The account as the admin API takes it."""
    return {"provider": "telesign", "customer_id": CUSTOMER_ID, "api_key": API_KEY, **changes}


def channel(channel_id: str = "sms-telesign", number: str = NUMBER) -> Channel:
    return Channel(
        id=channel_id,
        kind=ChannelKind.SMS,
        addresses=(number,),
        account=TeleSignAccount.model_validate(account()),
        workstream_id="ws-sms",
    )


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def signed(
    body: bytes,
    *,
    key: str = API_KEY,
    customer_id: str = CUSTOMER_ID,
    header: str | None = None,
) -> dict[str, Any]:
    """The headers TeleSign sends: the signature in Authorization and X-TS-Authorization, or
    in only the one named."""
    value = f"TSA {customer_id}:{callback_signature(key, body)}"
    names = [header] if header else ["Authorization", "X-TS-Authorization"]
    return {"Content-Type": "application/json", **dict.fromkeys(names, value)}
