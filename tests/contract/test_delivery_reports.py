"""Delivery reports that arrive before their message's provider id is stored, or for a
message this system never sent, on every store: a few short waits, then one warning and a
count, never an exception for the queue to retry or dead-letter. And a status the provider
has not documented, kept on the message with one warning."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

import pytest

from shared.bus_messages import DELIVERY
from shared.domain.channels import SmsProvider
from shared.domain.conversations import (
    DeliveryReport,
    DeliveryStatus,
    Direction,
    Message,
    SenderKind,
)
from shared.ports import Store
from shared.services.delivery import WAITS_FOR_MESSAGE, DeliveryService
from tests.contract.builders import T0, conversation, message
from tests.support import RecordingBus, counter_total

DROPPED = "omnichannel.delivery_reports.dropped"


class FixedClock:
    def now(self) -> datetime:
        return T0


def report(sid: str, status: DeliveryStatus = DeliveryStatus.DELIVERED) -> DeliveryReport:
    return DeliveryReport(
        provider=SmsProvider.TWILIO,
        report_id=f"{sid}:{status}",
        provider_message_id=sid,
        status=status,
    )


async def queued_reply(store: Store) -> Message:
    """An agent's reply waiting for the provider to accept it."""
    conv, _ = await store.open_conversation(conversation())
    reply = message(
        conv.id,
        "It ships today.",
        direction=Direction.OUTBOUND,
        sender=SenderKind.AGENT,
        agent_id="a1",
        status=DeliveryStatus.QUEUED,
    )
    stored = await store.append_message(reply)
    assert stored is not None
    return stored


async def test_a_report_for_a_message_never_sent_waits_a_little_then_is_dropped_once(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    queue = RecordingBus()
    service = DeliveryService(store, queue, FixedClock())
    stray = report(f"SM{uuid.uuid4().hex}")
    before = counter_total(DROPPED, provider="twilio")
    with caplog.at_level(logging.WARNING):
        current = stray
        for wait in WAITS_FOR_MESSAGE:
            assert await service.apply(current) is None
            (name, body), not_before = queue.sent[-1], queue.scheduled[-1]
            assert name == DELIVERY and not_before == T0 + wait
            current = DeliveryReport.model_validate_json(body)
        sent_before_the_last = len(queue.sent)
        assert await service.apply(current) is None
    assert len(queue.sent) == sent_before_the_last  # not put back again
    assert current.waits == len(WAITS_FOR_MESSAGE)
    assert counter_total(DROPPED, provider="twilio") == before + 1
    dropped = [r for r in caplog.records if "dropped" in r.message]
    assert len(dropped) == 1 and dropped[0].levelname == "WARNING"
    assert not any(r.exc_info for r in caplog.records)


async def test_a_report_before_the_send_result_applies_once_the_id_is_stored(
    store: Store,
) -> None:
    queue = RecordingBus()
    service = DeliveryService(store, queue, FixedClock())
    stored = await queued_reply(store)
    sid = f"SM{uuid.uuid4().hex}"
    early = report(sid)

    assert await service.apply(early) is None  # the report comes first: it waits
    (name, body) = queue.sent[-1]
    assert name == DELIVERY
    # The send result comes second and stores the provider's id.
    await store.set_message_delivery(stored.id, DeliveryStatus.SENT, f"twilio:{sid}")
    applied = await service.apply(DeliveryReport.model_validate_json(body))
    assert applied is not None
    assert (applied.id, applied.status) == (stored.id, DeliveryStatus.DELIVERED)
    assert len(queue.sent) == 1


async def test_an_undocumented_status_is_kept_once_and_warned_of_once(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    service = DeliveryService(store, RecordingBus(), FixedClock())
    sid = f"SM{uuid.uuid4().hex}"
    reply = await queued_reply(store)
    await store.set_message_delivery(reply.id, DeliveryStatus.SENT, f"twilio:{sid}")
    undocumented = DeliveryReport(
        provider=SmsProvider.TWILIO,
        report_id=f"{sid}:teleported",
        provider_message_id=sid,
        status=None,
        unknown_status="teleported",
    )
    with caplog.at_level(logging.WARNING):
        for _ in range(2):  # the queue may deliver a report twice
            kept = await service.apply(undocumented)
            assert kept is not None
            assert (kept.status, kept.unknown_status) == (
                DeliveryStatus.SENT,
                "unknown status teleported",
            )
    warnings = [r for r in caplog.records if "teleported" in r.message]
    assert len(warnings) == 1 and warnings[0].levelname == "WARNING"

    delivered = await service.apply(report(sid))  # a documented status replaces it
    assert delivered is not None and delivered.id == reply.id
    assert (delivered.status, delivered.unknown_status) == (DeliveryStatus.DELIVERED, None)
