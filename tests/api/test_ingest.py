"""Ingest rules beyond the happy path: identification, contacts, consent, idempotency."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.bootstrap import Container
from shared.domain.conversations import InboundMessage
from shared.domain.customers import ConsentAction, Customer
from tests.support import drain, twilio_inbound

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def inbound(
    sid: str, sender: str, text: str = "hi", consent: ConsentAction | None = None
) -> InboundMessage:
    return twilio_inbound(sid, at=T0, text=text, sender=sender, consent=consent)


async def test_a_number_shared_by_several_records_stays_unidentified_with_candidates(
    services: Container,
) -> None:
    await services.store.put_customer(
        Customer(id="acme", display_name="Acme Ltd", account_phone="+14155550101")
    )
    outcome = await services.ingest.ingest(inbound("SM1", "+14155550101"))
    assert outcome.conversation.customer_id is None
    assert outcome.conversation.customer_candidates == ("acme", "cust-ada")


async def test_unknown_numbers_get_a_contact_only_where_the_channel_says_so(
    services: Container,
) -> None:
    first = await services.ingest.ingest(inbound("SM1", "+14155550999"))
    assert first.conversation.customer_id is None
    assert await services.store.find_customers_by_phone("+14155550999") == []

    channel = await services.store.get_channel("sms-main")
    assert channel is not None
    await services.store.put_channel(channel.model_copy(update={"create_unknown_contacts": True}))
    second = await services.ingest.ingest(inbound("SM2", "+14155550998"))
    again = await services.ingest.ingest(inbound("SM3", "+14155550998"))
    (contact,) = await services.store.find_customers_by_phone("+14155550998")
    assert second.conversation.customer_id == contact.id == again.conversation.customer_id


async def test_stop_and_start_change_the_numbers_consent(services: Container) -> None:
    await services.ingest.ingest(inbound("SM1", "+14155550101", "STOP", ConsentAction.OPT_OUT))
    assert await services.store.is_opted_out("+14155550101")
    await services.ingest.ingest(inbound("SM2", "+14155550101", "START", ConsentAction.OPT_IN))
    assert not await services.store.is_opted_out("+14155550101")


async def test_a_redelivered_message_is_not_stored_twice_but_finishes_the_work(
    services: Container,
) -> None:
    first = await services.ingest.ingest(inbound("SM1", "+14155550101"))
    await drain(services)
    retry = await services.ingest.ingest(inbound("SM1", "+14155550101"))
    assert first.message is not None and retry.message is None
    assert retry.work_item.id == first.work_item.id
    assert (
        len(await services.store.list_messages(first.conversation.id, include_internal=True)) == 1
    )
