"""Poison messages on the real path: the app's own queue-trigger functions, run by the local
runtime's consumers (`consume`, as `make run` runs them) on the embedded queue. A message its
handler can never process is retried up to the delivery count, then moved to dead letters
with the handler's error as the reason; meanwhile the other customers' messages flow, and the
poisoned customer's own later messages flow once it is out of the way (its session is
blocked only while the poison is being retried, never for good)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from devserver.runtime import consume
from shared.bootstrap import Container
from shared.bus_messages import INBOUND
from tests.support import ManualClock, catalog, post_twilio_sms

ADA = "+14155550101"
BOB = "+14155550102"
BUSINESS = "+12025550100"
ATTEMPTS = 3


@pytest.fixture
def extra_settings() -> dict[str, str]:
    return {"QUEUE_MAX_DELIVERY_COUNT": str(ATTEMPTS)}


@pytest.fixture
async def consumers(clocked: Container) -> AsyncIterator[None]:
    """The local runtime's consumers of every queue, on the clocked container's queue."""
    assert clocked.local_bus is not None
    tasks = [
        asyncio.create_task(consume(function, clocked.local_bus))
        for function in catalog().queue_functions
    ]
    yield
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def customer_texts(container: Container) -> dict[str, list[str]]:
    with sqlite3.connect(container.settings.sqlite_path) as db:
        rows = db.execute(
            "SELECT c.customer_address, json_extract(m.doc, '$.text') FROM messages m "
            "JOIN conversations c ON c.id = m.conversation_id "
            "WHERE json_extract(m.doc, '$.sender') = 'customer' "
            "ORDER BY c.customer_address, m.sequence"
        ).fetchall()
    found: dict[str, list[str]] = {}
    for number, text in rows:
        found.setdefault(number, []).append(text)
    return found


async def test_a_poison_message_is_dead_lettered_with_its_reason_and_the_rest_flow(
    client: httpx.AsyncClient, clocked: Container, clock: ManualClock, consumers: None
) -> None:
    queue = clocked.local_bus
    assert queue is not None
    session = f"sms:{ADA}:{BUSINESS}"  # Ada's conversation's session: her later texts wait
    await queue.send(INBOUND, '{"not": "an inbound message"}', session_id=session, message_id="p1")

    for n, (sender, text) in enumerate(
        [(ADA, "ada 1"), (BOB, "bob 1"), (ADA, "ada 2"), (BOB, "bob 2")]
    ):
        response = await post_twilio_sms(
            client, sender=sender, to=BUSINESS, text=text, sid=f"SMpoison{n:04d}"
        )
        assert response.status_code == 200, response.text

    expected = {ADA: ["ada 1", "ada 2"], BOB: ["bob 1", "bob 2"]}
    deadline = time.monotonic() + 20
    while customer_texts(clocked) != expected or await queue.pending_count(INBOUND):
        assert time.monotonic() < deadline, (
            customer_texts(clocked),
            await queue.dead_letters(INBOUND),
        )
        if customer_texts(clocked).get(BOB) == expected[BOB]:
            assert ADA not in customer_texts(clocked) or await queue.dead_letters(INBOUND), (
                "Ada's texts overtook the message ahead of them in her session"
            )
        clock.advance(timedelta(seconds=10))  # past the retry backoff
        await asyncio.sleep(0.05)

    (letter,) = await queue.dead_letters(INBOUND)
    assert (letter.message_id, letter.session_id, letter.attempts) == ("p1", session, ATTEMPTS)
    assert letter.body == '{"not": "an inbound message"}'
    assert letter.reason.startswith("ValidationError: "), letter.reason
    assert "InboundMessage" in letter.reason
