"""The ACS sender against the ACS SMS REST API stood up on loopback over HTTPS (ACS endpoints
are https:// only, and the SDK verifies the test's own certificate for real): what
azure-communication-sms sends, and how each documented answer becomes a sent or failed message."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.bootstrap import Container
from shared.channels.acs.sender import AcsSmsSender
from shared.channels.senders import ProviderSmsSender
from shared.domain.channels import AcsAccount, Channel, SmsProvider
from shared.ports import SendFailed
from shared.services.channels import VALIDATION_TEXT, ChannelService, NumberCheck
from tests.channels.acs.wire import (
    ACCESS_KEY,
    ACS_NUMBER,
    API_VERSION,
    WEBHOOK_SECRET,
    acs_channel,
    refused,
    sent,
    signed_with,
)
from tests.loopback import Answer, LoopbackApi, LoopbackCertificate

CUSTOMER = "+14155550101"
ACS_MESSAGE_ID = "Outgoing_20230605200017d1c1e1b0-ec52-4d5a-8b53-8f4c7f0c9e11"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> LoopbackCertificate:
    return LoopbackCertificate.create(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def acs_api(certificate: LoopbackCertificate) -> Iterator[LoopbackApi]:
    with LoopbackApi(sent(CUSTOMER, ACS_MESSAGE_ID), tls=certificate).running() as api:
        yield api


def sender(certificate: LoopbackCertificate) -> AcsSmsSender:
    return AcsSmsSender(
        retries=2, retry_backoff_seconds=0, connection_verify=str(certificate.cert_file)
    )


async def send(api: LoopbackApi, certificate: LoopbackCertificate, **account: str) -> str:
    channel = acs_channel(api.base_url + "/")  # as the portal shows it, with a trailing '/'
    if account:
        assert isinstance(channel.account, AcsAccount)
        channel = channel.model_copy(update={"account": channel.account.model_copy(update=account)})
    return await sender(certificate).send(
        channel, message_id="msg-1", to=CUSTOMER, from_=ACS_NUMBER, text="We are on it"
    )


async def test_a_reply_is_sent_as_the_sdk_sends_it(
    acs_api: LoopbackApi, certificate: LoopbackCertificate
) -> None:
    assert await send(acs_api, certificate) == ACS_MESSAGE_ID
    (request,) = acs_api.requests
    assert (request.method, request.path, request.query) == (
        "POST",
        "/sms",
        {"api-version": [API_VERSION]},
    )
    body = request.json()
    (recipient,) = body.pop("smsRecipients")
    assert body == {
        "from": ACS_NUMBER,
        "message": "We are on it",
        "smsSendOptions": {"enableDeliveryReport": True, "tag": "msg-1"},
    }
    assert recipient["to"] == CUSTOMER
    assert recipient["repeatabilityRequestId"] and recipient["repeatabilityFirstSent"]
    host = acs_api.base_url.removeprefix("https://")
    assert signed_with(request, ACCESS_KEY, host)
    assert not signed_with(request, "b3RoZXIta2V5LW9mLTMyLWJ5dGVzLWxvbmctLS0=", host)


@pytest.mark.parametrize(
    ("status", "permanent"), [(400, True), (403, True), (429, False), (500, False)]
)
async def test_a_refused_recipient_fails_with_acs_reason(
    acs_api: LoopbackApi, certificate: LoopbackCertificate, status: int, permanent: bool
) -> None:
    acs_api.answer_with(refused(CUSTOMER, status, "Invalid To phone number format."))
    with pytest.raises(SendFailed) as failure:
        await send(acs_api, certificate)
    assert failure.value.permanent is permanent
    assert failure.value.reason == f"ACS error {status}: Invalid To phone number format."


async def test_an_outage_is_retried_by_the_sdk_with_the_same_repeatability_id(
    acs_api: LoopbackApi, certificate: LoopbackCertificate
) -> None:
    """ACS deduplicates by repeatabilityRequestId, so the SDK's own retries text once."""
    acs_api.answer_with(
        Answer(503, {"error": {"code": "ServiceUnavailable", "message": "try later"}}),
        sent(CUSTOMER, ACS_MESSAGE_ID),
    )
    assert await send(acs_api, certificate) == ACS_MESSAGE_ID
    first, second = (r.json()["smsRecipients"][0] for r in acs_api.requests)
    assert first["repeatabilityRequestId"] == second["repeatabilityRequestId"]


@pytest.mark.parametrize(
    ("status", "attempts"),
    [
        pytest.param(500, 3, id="500: first try and two SDK retries"),
        pytest.param(503, 3, id="503: first try and two SDK retries"),
        pytest.param(429, 1, id="429 without Retry-After: azure-core resends no POST"),
    ],
)
async def test_a_lasting_outage_is_left_to_the_queue_to_retry(
    acs_api: LoopbackApi, certificate: LoopbackCertificate, status: int, attempts: int
) -> None:
    acs_api.answer_with(Answer(status, {"error": {"code": "Outage", "message": "try later"}}))
    with pytest.raises(SendFailed) as failure:
        await send(acs_api, certificate)
    assert not failure.value.permanent
    assert failure.value.reason.startswith(f"ACS error {status}")
    assert len(acs_api.requests) == attempts


async def test_a_rejected_key_fails_permanently(
    acs_api: LoopbackApi, certificate: LoopbackCertificate
) -> None:
    acs_api.answer_with(
        Answer(401, {"error": {"code": "Denied", "message": "Denied by the resource provider."}})
    )
    with pytest.raises(SendFailed) as failure:
        await send(acs_api, certificate)
    assert failure.value.permanent
    assert failure.value.reason.startswith("ACS error 401")


async def test_a_key_that_is_not_base64_fails_before_any_request(
    acs_api: LoopbackApi, certificate: LoopbackCertificate
) -> None:
    with pytest.raises(SendFailed) as failure:
        await send(acs_api, certificate, access_key="not base64!")
    assert failure.value.permanent
    assert acs_api.requests == []


async def test_an_untrusted_certificate_is_refused(acs_api: LoopbackApi) -> None:
    """TLS is verified for real: without the test's CA the loopback API is not trusted."""
    strict = AcsSmsSender(retries=0)
    with pytest.raises(SendFailed) as failure:
        await strict.send(
            acs_channel(acs_api.base_url), message_id="m", to=CUSTOMER, from_=ACS_NUMBER, text="x"
        )
    assert not failure.value.permanent
    assert acs_api.requests == []


async def test_an_unreachable_api_is_retried(certificate: LoopbackCertificate) -> None:
    api = LoopbackApi(sent(CUSTOMER, ACS_MESSAGE_ID), tls=certificate)
    closed = api.base_url
    api._server.server_close()  # nothing listens there any more
    with pytest.raises(SendFailed) as failure:
        await sender(certificate).send(
            acs_channel(closed), message_id="m", to=CUSTOMER, from_=ACS_NUMBER, text="x"
        )
    assert not failure.value.permanent


async def test_another_providers_channel_is_refused(certificate: LoopbackCertificate) -> None:
    twilio = Channel.model_validate(
        {
            "id": "sms-main",
            "kind": "sms",
            "addresses": ["+12025550100"],
            "account": {"provider": "twilio", "account_sid": "AC" + "0" * 32, "auth_token": "t"},
            "workstream_id": "ws-sms",
        }
    )
    with pytest.raises(SendFailed) as failure:
        await sender(certificate).send(twilio, message_id="m", to=CUSTOMER, from_="+1", text="x")
    assert failure.value.permanent


async def test_channel_validation_texts_each_number_through_acs(
    acs_api: LoopbackApi, certificate: LoopbackCertificate, services: Container
) -> None:
    """POST /api/admin/channels/{id}/validate's service, with the ACS sender of
    SMS_SENDER=providers: one test SMS per number, from and to that number."""
    second = "+12025550188"
    channel = acs_channel(acs_api.base_url).model_copy(update={"addresses": (ACS_NUMBER, second)})
    await services.store.put_channel(channel)
    acs_api.answer_with(
        sent(ACS_NUMBER, ACS_MESSAGE_ID), refused(second, 400, "Invalid From phone number.")
    )
    checks = await ChannelService(
        services.store, ProviderSmsSender({SmsProvider.ACS: sender(certificate)})
    ).validate(channel.id)
    assert checks == [
        NumberCheck(number=ACS_NUMBER, ok=True, provider_message_id=ACS_MESSAGE_ID),
        NumberCheck(number=second, ok=False, error="ACS error 400: Invalid From phone number."),
    ]
    assert [(r.json()["from"], r.json()["smsRecipients"][0]["to"]) for r in acs_api.requests] == [
        (ACS_NUMBER, ACS_NUMBER),
        (second, second),
    ]
    assert {r.json()["message"] for r in acs_api.requests} == {VALIDATION_TEXT}
    assert WEBHOOK_SECRET not in str(checks)
