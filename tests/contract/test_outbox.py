"""What every store adapter must do as a OutboxStore: the sandbox sender's record."""

from __future__ import annotations

from datetime import timedelta

from shared.domain.conversations import SentSms
from shared.ports import Store
from tests.contract.builders import T0


async def test_sent_sms_are_recorded_once_newest_first(store: Store) -> None:
    for n in range(3):
        sms = SentSms(
            provider_message_id=f"SB{n}",
            message_id=f"m{n}",
            to="+1415",
            from_="+1202",
            text=str(n),
            sent_at=T0 + timedelta(seconds=n),
        )
        await store.record_sent_sms(sms)
        await store.record_sent_sms(sms)
    assert [s.provider_message_id for s in await store.list_sent_sms(limit=2)] == ["SB2", "SB1"]
