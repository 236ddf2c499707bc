"""The sandbox SMS sender: sends nothing, records what it would send, visible through the API."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from shared.domain.channels import Channel
from shared.domain.conversations import SentSms
from shared.ports import Clock, OutboxStore


class SandboxSmsSender:
    def __init__(self, outbox: OutboxStore, clock: Clock) -> None:
        self._outbox = outbox
        self._clock = clock

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
        # Derived from our message id, so a retried send records the same SMS once.
        provider_id = "SB" + hashlib.sha256(message_id.encode()).hexdigest()[:32]
        await self._outbox.record_sent_sms(
            SentSms(
                provider_message_id=provider_id,
                message_id=message_id,
                to=to,
                from_=from_,
                text=text,
                media_urls=tuple(media_urls),
                sent_at=self._clock.now(),
            )
        )
        return provider_id
