"""The TeleSign sender against TeleSign's Messaging API stood up on loopback: what TeleSign's own
SDK sends, and how each documented answer becomes a sent or failed message."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator

import pytest

from shared.channels.telesign.sender import TeleSignSmsSender
from shared.domain.channels import Channel, ChannelKind, TwilioAccount
from shared.ports import SendFailed
from tests.channels.telesign.helpers import ACCEPTED, API_KEY, CUSTOMER_ID, REFERENCE_ID, channel
from tests.loopback import Answer, LoopbackApi, RecordedRequest

STATUS_URL = "https://omni.example.test/api/sms/telesign/status"


@pytest.fixture
def telesign_api() -> Iterator[LoopbackApi]:
    with LoopbackApi(ACCEPTED).running() as api:
        yield api


async def send(api: LoopbackApi, target: Channel | None = None, to: str = "+14155550101") -> str:
    sender = TeleSignSmsSender(api_base_url=api.base_url, status_callback_url=STATUS_URL)
    return await sender.send(
        target or channel(), message_id="msg-1", to=to, from_="+12025550123", text="We are on it"
    )


def expected_authorization(request: RecordedRequest) -> str:
    """TeleSign's REST signature, computed here from its documentation rather than the SDK:
    HMAC-SHA256 with the decoded key over method, content type, date, auth method, nonce, body
    and resource, one per line."""
    string_to_sign = "\n".join(
        [
            "POST",
            "application/x-www-form-urlencoded",
            request.headers["date"],
            "x-ts-auth-method:HMAC-SHA256",
            f"x-ts-nonce:{request.headers['x-ts-nonce']}",
            request.body.decode(),
            "/v1/messaging",
        ]
    )
    digest = hmac.new(base64.b64decode(API_KEY), string_to_sign.encode(), hashlib.sha256).digest()
    return f"TSA {CUSTOMER_ID}:{base64.b64encode(digest).decode()}"


async def test_a_reply_is_sent_as_telesign_documents_it(telesign_api: LoopbackApi) -> None:
    assert await send(telesign_api) == REFERENCE_ID
    (request,) = telesign_api.requests
    assert (request.method, request.path) == ("POST", "/v1/messaging")
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["x-ts-auth-method"] == "HMAC-SHA256"
    assert request.headers["authorization"] == expected_authorization(request)
    assert request.form() == {
        "phone_number": ["14155550101"],  # country code and digits, no '+'
        "message": ["We are on it"],
        "message_type": ["ARN"],
        "callback_url": [STATUS_URL],
        "external_id": ["msg-1"],
    }


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        pytest.param(
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
            "TeleSign error -40008: Invalid value for parameter phone_number.",
            id="bad number",
        ),
        pytest.param(
            401,
            {
                "status": {"code": 10034, "description": "Invalid Customer ID."},
                "errors": [{"code": -30000, "description": "Invalid Customer ID."}],
            },
            "TeleSign error -30000: Invalid Customer ID.",
            id="wrong credentials",
        ),
        pytest.param(
            200,
            {
                "reference_id": REFERENCE_ID,
                "status": {"code": 230, "description": "Message blocked by TeleSign"},
            },
            "TeleSign error 230: Message blocked by TeleSign",
            id="blocked at once",
        ),
        pytest.param(
            200,
            {"status": {"code": 290}},
            "TeleSign accepted the SMS without a reference_id",
            id="no reference id",
        ),
    ],
)
async def test_a_refused_send_fails_permanently_with_telesigns_reason(
    telesign_api: LoopbackApi, status: int, body: dict[str, object], reason: str
) -> None:
    telesign_api.answer_with(Answer(status, body))
    with pytest.raises(SendFailed) as failure:
        await send(telesign_api)
    assert failure.value.permanent
    assert failure.value.reason == reason


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_rate_limits_and_outages_are_retried(telesign_api: LoopbackApi, status: int) -> None:
    telesign_api.answer_with(
        Answer(status, {"status": {"code": 3500, "description": "System Unavailable"}})
    )
    with pytest.raises(SendFailed) as failure:
        await send(telesign_api)
    assert not failure.value.permanent
    assert "System Unavailable" in failure.value.reason


async def test_an_unreachable_api_is_retried() -> None:
    api = LoopbackApi(ACCEPTED)
    api._server.server_close()  # nothing listens there any more
    with pytest.raises(SendFailed) as failure:
        await send(api)
    assert not failure.value.permanent


async def test_an_impossible_number_or_another_providers_channel_is_never_sent(
    telesign_api: LoopbackApi,
) -> None:
    twilio = Channel(
        id="sms-main",
        kind=ChannelKind.SMS,
        addresses=("+12025550100",),
        account=TwilioAccount(account_sid="AC" + "0" * 32, auth_token="token"),
        workstream_id="ws-sms",
    )
    for target, to in ((twilio, "+14155550101"), (channel(), "+1415")):
        with pytest.raises(SendFailed) as failure:
            await send(telesign_api, target, to=to)
        assert failure.value.permanent
    assert telesign_api.requests == []
