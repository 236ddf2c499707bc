"""Outbound sends: a transient provider failure is retried later, by a scheduled message on the
conversation's session, backing off each time; after the last attempt the message is failed.

The real store and the real embedded queue on one SQLite file, with a manual clock; only the SMS
provider is a fake, at its port.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from devserver.seed import SMS_NUMBER, channels
from shared.adapters.local_bus import LocalMessageBus
from shared.adapters.sqlite.database import SqliteDatabase
from shared.adapters.sqlite.store import SqliteStore
from shared.bus_messages import OUTBOUND, OutboundRequest
from shared.domain.channels import Channel
from shared.domain.conversations import Conversation, DeliveryStatus, Direction, Message, SenderKind
from shared.ports import SendFailed
from shared.services.outbound import MAX_SEND_ATTEMPTS, OutboundService, retry_delay
from shared.telemetry import PROVIDER
from tests.support import ManualClock, counter_total

CUSTOMER = "+14155550101"
FAILURES = "omnichannel.sms.send_failures"
SENT = "omnichannel.sms.sent"


class ScriptedProvider:
    """The SmsSender port: fails with each scripted failure in turn, then succeeds."""

    def __init__(self, *failures: SendFailed) -> None:
        self.failures = list(failures)
        self.calls = 0

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
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return f"SM{self.calls}"


def transient(reason: str = "Twilio answered 503") -> SendFailed:
    return SendFailed(reason, permanent=False)


@dataclass
class Rig:
    clock: ManualClock
    store: SqliteStore
    queue: LocalMessageBus
    conversation: Conversation
    message: Message

    def outbound(self, provider: ScriptedProvider) -> OutboundService:
        return OutboundService(self.store, provider, self.queue, self.clock)

    async def deliver_next(self, service: OutboundService) -> Message | None:
        """What the outbound trigger does with the next due message; fails if none is due."""
        leased = await self.queue.receive(OUTBOUND)
        assert leased is not None, "no outbound message is due"
        assert leased.session_id == self.conversation.id
        result = await service.send(OutboundRequest.model_validate_json(leased.body))
        await self.queue.complete(leased)
        return result

    async def stored(self) -> Message:
        message = await self.store.get_message(self.message.id)
        assert message is not None
        return message


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    clock = ManualClock()
    database = SqliteDatabase(tmp_path / "omnichannel.db")
    await database.open()
    store = SqliteStore(database)
    (sms, *_) = channels("token")
    await store.put_channel(sms)
    conversation, _ = await store.open_conversation(
        Conversation(
            id="conv-1",
            channel=sms.kind,
            channel_id=sms.id,
            workstream_id=sms.workstream_id,
            customer_address=CUSTOMER,
            business_address=SMS_NUMBER,
            opened_at=clock.now(),
        )
    )
    message = await store.append_message(
        Message(
            id="reply-1",
            conversation_id=conversation.id,
            direction=Direction.OUTBOUND,
            sender=SenderKind.AGENT,
            text="Your refund is on its way.",
            status=DeliveryStatus.QUEUED,
            created_at=clock.now(),
        )
    )
    assert message is not None
    yield Rig(clock, store, LocalMessageBus(database, clock=clock), conversation, message)
    await database.close()


def test_the_backoff_doubles_from_ten_seconds_up_to_ten_minutes() -> None:
    assert [retry_delay(n).total_seconds() for n in range(1, 9)] == [
        10,
        20,
        40,
        80,
        160,
        320,
        600,
        600,
    ]


def test_a_request_queued_before_retries_existed_reads_as_a_first_attempt() -> None:
    assert OutboundRequest.model_validate_json('{"message_id":"m"}').failed_attempts == 0


async def test_a_transient_failure_is_retried_after_a_pause_on_the_conversations_session(
    rig: Rig,
) -> None:
    service = rig.outbound(ScriptedProvider(transient()))
    after_failure = await service.send(OutboundRequest(message_id=rig.message.id))
    assert after_failure is not None and after_failure.status == DeliveryStatus.QUEUED

    rig.clock.advance(timedelta(seconds=9.9))
    assert await rig.queue.receive(OUTBOUND) is None
    rig.clock.advance(timedelta(seconds=0.1))
    leased = await rig.queue.receive(OUTBOUND)
    assert leased is not None
    assert (leased.session_id, leased.message_id) == (
        rig.conversation.id,
        "outbound:reply-1:retry:1",
    )
    assert OutboundRequest.model_validate_json(leased.body) == OutboundRequest(
        message_id=rig.message.id, failed_attempts=1
    )
    sent = await service.send(OutboundRequest.model_validate_json(leased.body))
    await rig.queue.complete(leased)
    assert sent is not None and sent.status == DeliveryStatus.SENT
    assert await rig.queue.pending_count(OUTBOUND) == 0


async def test_transient_failures_back_off_then_fail_the_message_with_the_last_reason(
    rig: Rig,
) -> None:
    provider = ScriptedProvider(
        *(transient(f"Twilio answered 503 (attempt {n})") for n in range(1, MAX_SEND_ATTEMPTS + 1))
    )
    service = rig.outbound(provider)
    await service.send(OutboundRequest(message_id=rig.message.id))
    for failed_attempts in range(1, MAX_SEND_ATTEMPTS):
        delay = retry_delay(failed_attempts)
        rig.clock.advance(delay - timedelta(milliseconds=1))
        assert await rig.queue.receive(OUTBOUND) is None, f"retry {failed_attempts} came early"
        rig.clock.advance(timedelta(milliseconds=1))
        await rig.deliver_next(service)

    failed = await rig.stored()
    assert failed.status == DeliveryStatus.FAILED
    assert failed.error == f"Twilio answered 503 (attempt {MAX_SEND_ATTEMPTS})"
    assert provider.calls == MAX_SEND_ATTEMPTS
    assert await rig.queue.pending_count(OUTBOUND) == 0


async def test_a_redelivered_request_schedules_its_retry_once(rig: Rig) -> None:
    """The trigger died after scheduling the retry, before completing: the same request comes
    back, fails again, and its retry (same id) is dropped as a duplicate."""
    service = rig.outbound(ScriptedProvider(transient(), transient()))
    request = OutboundRequest(message_id=rig.message.id)
    await service.send(request)
    await service.send(request)
    assert await rig.queue.pending_count(OUTBOUND) == 1


async def test_a_retry_of_a_message_sent_meanwhile_sends_nothing(rig: Rig) -> None:
    provider = ScriptedProvider(transient())
    service = rig.outbound(provider)
    request = OutboundRequest(message_id=rig.message.id)
    await service.send(request)
    await service.send(request)  # redelivered, and this time the provider takes it
    rig.clock.advance(retry_delay(1))
    retried = await rig.deliver_next(service)
    assert retried is not None and retried.status == DeliveryStatus.SENT
    assert provider.calls == 2


async def test_a_permanent_failure_fails_at_once_without_a_retry(rig: Rig) -> None:
    service = rig.outbound(ScriptedProvider(SendFailed("21211: invalid 'To'", permanent=True)))
    failed = await service.send(OutboundRequest(message_id=rig.message.id))
    assert failed is not None
    assert (failed.status, failed.error) == (DeliveryStatus.FAILED, "21211: invalid 'To'")
    assert await rig.queue.pending_count(OUTBOUND) == 0


async def test_each_failed_send_is_counted_by_provider_and_code(rig: Rig) -> None:
    """The send-failure metric the provider-failure alert reads: by provider and error code."""
    refused = {PROVIDER: "twilio", "error.type": "21610", "omnichannel.sms.permanent": True}
    sent = {PROVIDER: "twilio"}
    before = (counter_total(FAILURES, **refused), counter_total(SENT, **sent))
    provider = ScriptedProvider(
        SendFailed("Twilio error 21610: the number unsubscribed", permanent=True, code="21610")
    )
    failed = await rig.outbound(provider).send(OutboundRequest(message_id=rig.message.id))
    assert failed is not None and failed.status == DeliveryStatus.FAILED
    assert (counter_total(FAILURES, **refused), counter_total(SENT, **sent)) == (
        before[0] + 1,
        before[1],
    )
