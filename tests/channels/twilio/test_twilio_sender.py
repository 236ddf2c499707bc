"""The Twilio sender against Twilio's Messages API stood up on loopback: what twilio's own
client sends, and how each documented answer becomes a sent or failed message."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from shared.channels.twilio.sender import TwilioSmsSender
from shared.domain.channels import Channel, ChannelKind, TwilioAccount
from shared.ports import SendFailed
from tests.loopback import Answer, LoopbackApi

SID = "AC" + "0" * 31 + "1"
TOKEN = "twilio-test-token"
STATUS_URL = "https://omni.example.test/api/sms/twilio/status"

# Twilio's documented 201 for Messages.json (trimmed to what a client reads).
CREATED = {
    "account_sid": SID,
    "api_version": "2010-04-01",
    "body": "We are on it",
    "direction": "outbound-api",
    "error_code": None,
    "error_message": None,
    "from": "+12025550100",
    "num_segments": "1",
    "sid": "SM1234567890abcdef1234567890abcdef",
    "status": "queued",
    "to": "+14155550101",
    "uri": f"/2010-04-01/Accounts/{SID}/Messages/SM1234567890abcdef1234567890abcdef.json",
}


def channel(**account: str) -> Channel:
    return Channel(
        id="sms-main",
        kind=ChannelKind.SMS,
        addresses=("+12025550100",),
        account=TwilioAccount(account_sid=SID, auth_token=TOKEN, **account),
        workstream_id="ws-sms",
    )


@pytest.fixture
def twilio_api() -> Iterator[LoopbackApi]:
    with LoopbackApi(Answer(201, CREATED)).running() as api:
        yield api


def sender(api: LoopbackApi) -> TwilioSmsSender:
    return TwilioSmsSender(api_base_url=api.base_url, status_callback_url=STATUS_URL)


async def send(api: LoopbackApi, target: Channel | None = None) -> str:
    return await sender(api).send(
        target or channel(),
        message_id="msg-1",
        to="+14155550101",
        from_="+12025550100",
        text="We are on it",
    )


async def test_a_reply_is_created_as_twilio_documents_it(twilio_api: LoopbackApi) -> None:
    assert await send(twilio_api) == CREATED["sid"]
    (request,) = twilio_api.requests
    assert (request.method, request.path) == ("POST", f"/2010-04-01/Accounts/{SID}/Messages.json")
    assert (
        request.headers["authorization"]
        == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    )
    assert request.form() == {
        "To": ["+14155550101"],
        "From": ["+12025550100"],
        "Body": ["We are on it"],
        "StatusCallback": [STATUS_URL],
    }


async def test_files_go_as_mms_media_urls(twilio_api: LoopbackApi) -> None:
    """Twilio's Messages API takes one MediaUrl parameter per file (at most 10)."""
    urls = ["https://omni.example.test/api/attachments/c/1?sig=a", "https://files.test/2.png"]
    await sender(twilio_api).send(
        channel(),
        message_id="msg-1",
        to="+14155550101",
        from_="+12025550100",
        text="Your bill",
        media_urls=urls,
    )
    assert twilio_api.requests[0].form()["MediaUrl"] == urls


async def test_a_messaging_service_sends_instead_of_the_number(twilio_api: LoopbackApi) -> None:
    service = "MG" + "a" * 32
    await send(twilio_api, channel(messaging_service_sid=service))
    form = twilio_api.requests[0].form()
    assert form["MessagingServiceSid"] == [service]
    assert "From" not in form


async def test_a_refused_number_fails_permanently_with_twilios_reason(
    twilio_api: LoopbackApi,
) -> None:
    twilio_api.answer_with(
        Answer(
            400,
            {
                "code": 21211,
                "message": "Invalid 'To' Phone Number: +1415555",
                "more_info": "https://www.twilio.com/docs/errors/21211",
                "status": 400,
            },
        )
    )
    with pytest.raises(SendFailed) as failure:
        await send(twilio_api)
    assert failure.value.permanent
    assert failure.value.reason.startswith("Twilio error 21211: ")
    assert failure.value.reason.endswith("Invalid 'To' Phone Number: +1415555")


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_rate_limits_and_outages_are_retried(twilio_api: LoopbackApi, status: int) -> None:
    twilio_api.answer_with(
        Answer(status, {"code": 20429 if status == 429 else 20500, "message": "try later"})
    )
    with pytest.raises(SendFailed) as failure:
        await send(twilio_api)
    assert not failure.value.permanent


async def test_an_unreachable_api_is_retried() -> None:
    api = LoopbackApi(Answer(201, CREATED))
    closed = api.base_url
    api._server.server_close()  # nothing listens there any more
    failing = TwilioSmsSender(api_base_url=closed, status_callback_url=STATUS_URL)
    with pytest.raises(SendFailed) as failure:
        await failing.send(channel(), message_id="m", to="+14155550101", from_="+1", text="x")
    assert not failure.value.permanent
