"""ACS and TeleSign send text only: a message with files fails permanently at the sender, before
any call to the provider (the reply was refused with 422 before; this is the last guard)."""

from __future__ import annotations

import pytest

from shared.channels.acs.sender import AcsSmsSender
from shared.channels.telesign.sender import TeleSignSmsSender
from shared.domain.channels import AcsAccount, Channel, ChannelKind, TeleSignAccount
from shared.ports import SendFailed, SmsSender
from tests.loopback import Answer, LoopbackApi


@pytest.mark.parametrize("provider", ["acs", "telesign"])
async def test_a_message_with_files_fails_permanently_without_calling_the_provider(
    provider: str,
) -> None:
    with LoopbackApi(Answer(500, {})).running() as api:
        sender: SmsSender
        if provider == "acs":
            account: AcsAccount | TeleSignAccount = AcsAccount(
                endpoint=api.base_url.replace("http://", "https://"), webhook_secret="s" * 16
            )
            sender = AcsSmsSender(managed_identity_client_id=None)
        else:
            account = TeleSignAccount(
                customer_id="00000000-0000-0000-0000-000000000000", api_key="a2V5"
            )
            sender = TeleSignSmsSender(
                api_base_url=api.base_url, status_callback_url="https://omni.example.test/s"
            )
        channel = Channel(
            id="sms",
            kind=ChannelKind.SMS,
            addresses=("+12025550100",),
            account=account,
            workstream_id="ws-sms",
        )
        with pytest.raises(SendFailed) as failure:
            await sender.send(
                channel,
                message_id="m1",
                to="+14155550101",
                from_="+12025550100",
                text="Your bill",
                media_urls=["https://omni.example.test/api/attachments/c/a"],
            )
        assert failure.value.permanent
        assert "text only" in failure.value.reason
        assert api.requests == []
