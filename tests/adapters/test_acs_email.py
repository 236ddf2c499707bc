"""The ACS Email sender against a stand-in for the SDK's client: the message it builds, the
idempotent operation id, and how failures map to SendFailed."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError

from shared.adapters import acs_email
from shared.adapters.acs_email import AcsEmailSender
from shared.domain.outcomes import Email
from shared.ports import SendFailed

EMAIL = Email(to="ada@example.com", subject="Transcript", text="plain", html="<p>x</p>", key="c1:1")


class FakeCredential:
    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs

    async def __aenter__(self) -> FakeCredential:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


class FakePoller:
    def __init__(self, result: dict[str, Any]) -> None:
        self._result = result

    async def result(self) -> dict[str, Any]:
        return self._result


def fake_client(calls: list[dict[str, Any]], outcome: dict[str, Any] | Exception) -> type:
    class FakeEmailClient:
        def __init__(self, endpoint: str, credential: object, **kwargs: Any) -> None:
            calls.append({"endpoint": endpoint, "options": kwargs})

        async def __aenter__(self) -> FakeEmailClient:
            return self

        async def __aexit__(self, *exc: object) -> None:
            return None

        async def begin_send(self, message: dict[str, Any], *, operation_id: str) -> FakePoller:
            calls.append({"message": message, "operation_id": operation_id})
            if isinstance(outcome, Exception):
                raise outcome
            return FakePoller(outcome)

    return FakeEmailClient


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    monkeypatch.setattr(acs_email, "DefaultAzureCredential", FakeCredential)
    return []


async def test_an_email_is_sent_from_the_sender_with_a_stable_operation_id(
    calls: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        acs_email, "EmailClient", fake_client(calls, {"id": "op-1", "status": "Succeeded"})
    )
    sender = AcsEmailSender("https://acs.example/", "DoNotReply@x.azurecomm.net")
    assert await sender.send(EMAIL) == "op-1"
    await sender.send(EMAIL)
    client, sent, _, again = calls
    assert client["endpoint"] == "https://acs.example"
    assert sent["message"] == {
        "senderAddress": "DoNotReply@x.azurecomm.net",
        "recipients": {"to": [{"address": "ada@example.com"}]},
        "content": {"subject": "Transcript", "plainText": "plain", "html": "<p>x</p>"},
    }
    assert sent["operation_id"] == again["operation_id"]  # a resend is the same operation


@pytest.mark.parametrize(
    ("outcome", "permanent"),
    [
        (HttpResponseError(message="throttled", response=None), False),
        (ServiceRequestError("no route"), False),
        ({"id": "op", "status": "Failed", "error": {"message": "bad address"}}, True),
    ],
)
async def test_failures_say_whether_to_retry(
    calls: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    outcome: dict[str, Any] | Exception,
    permanent: bool,
) -> None:
    monkeypatch.setattr(acs_email, "EmailClient", fake_client(calls, outcome))
    with pytest.raises(SendFailed) as failed:
        await AcsEmailSender("https://acs.example", "a@b.c").send(EMAIL)
    assert failed.value.permanent is permanent
