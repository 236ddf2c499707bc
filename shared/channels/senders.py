"""SMS_SENDER=providers: each message leaves through its channel's own provider account."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from shared.domain.channels import AcsAccount, Channel, SmsProvider, TeleSignAccount, TwilioAccount
from shared.ports import SendFailed, SmsSender


def account_of[Account: (TwilioAccount, TeleSignAccount, AcsAccount)](
    channel: Channel, kind: type[Account]
) -> Account:
    """The channel's account of the provider a sender serves; a channel of another provider
    reaching it fails permanently: resending would not help."""
    if not isinstance(channel.account, kind):
        raise SendFailed(
            f"channel {channel.id} is not a {kind.__name__}", permanent=True, code="configuration"
        )
    return channel.account


def is_transient(status: int) -> bool:
    """Whether a provider's HTTP error is worth retrying: rate limiting and the provider's own
    failures. Every other 4xx (bad number, unsubscribed recipient, wrong credentials) fails
    the same way again."""
    return status == 429 or status >= 500


class ProviderSmsSender:
    def __init__(self, senders: Mapping[SmsProvider, SmsSender]) -> None:
        self._senders = dict(senders)

    async def send(
        self,
        channel: Channel,
        *,
        message_id: str,
        to: str,
        from_: str,
        text: str,
        media_urls: Sequence[str] = (),
    ) -> str:
        sender = self._senders.get(channel.provider) if channel.provider else None
        if sender is None:
            raise SendFailed(
                f"channel {channel.id} has no SMS provider account",
                permanent=True,
                code="configuration",
            )
        return await sender.send(
            channel, message_id=message_id, to=to, from_=from_, text=text, media_urls=media_urls
        )
