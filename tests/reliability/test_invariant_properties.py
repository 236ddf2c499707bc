"""Invariants 3, 4 and 9 as properties, over random interleavings: several customers text
the business number, each message's webhook is delivered in the order the customer sent it
but providers retry at random later moments, and the inbound queue is consumed by several
concurrent consumers, as in the local runtime. Whatever the interleaving: one open
conversation per number (9), each acknowledged message stored once (3), in the order the
customer sent it (4)."""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devserver.banner import signed_twilio_form
from devserver.runtime import consume
from devserver.seed import SMS_NUMBER, seed_demo
from shared import bootstrap
from shared.bootstrap import build_container
from shared.domain.channels import SmsProvider
from shared.settings import Settings
from tests.reliability.soak import examples
from tests.support import PUBLIC_BASE_URL, TWILIO_TOKEN, catalog, twilio_call

NUMBERS = ("+14155550101", "+14155550177", "+14155550188")
URL = f"{PUBLIC_BASE_URL}/api/sms/twilio"

# A delivery: (customer, that customer's n-th message). Each customer's first deliveries
# arrive in its own order; the strategy then adds retries of earlier messages anywhere later.
deliveries = st.lists(st.sampled_from(range(len(NUMBERS))), min_size=1, max_size=14).flatmap(
    lambda senders: st.tuples(
        st.just(senders),
        st.lists(st.tuples(st.integers(0, len(senders) - 1), st.integers(0, 20)), max_size=6),
    )
)


async def scenario(
    data_dir: Path, senders: list[int], retries: list[tuple[int, int]], consumers: int
) -> None:
    container = await build_container(
        Settings(
            sqlite_path=data_dir / "omnichannel.db",
            dev_auth_key_file=data_dir / "key.pem",
            chat_token_key_file=data_dir / "chat.key",
            twilio_auth_token=TWILIO_TOKEN,
            public_base_url=PUBLIC_BASE_URL,
            sentiment_enabled=False,
        )
    )
    previous = bootstrap.replace_container(container)
    try:
        await seed_demo(container.store, twilio_auth_token=TWILIO_TOKEN)
        counters = [0] * len(NUMBERS)
        sent: list[tuple[int, str, str]] = []  # (customer, sid, text) in delivery order
        for customer in senders:
            sid = f"SM{customer}x{counters[customer]:03d}"
            sent.append((customer, sid, f"{customer}:{counters[customer]}"))
            counters[customer] += 1
        schedule = list(sent)
        for which, later in retries:
            # A provider retry of delivery `which`, arriving `later` deliveries after it.
            schedule.insert(min(which + 1 + later, len(schedule)), sent[which])

        queue = container.local_bus
        assert queue is not None
        workers = [
            asyncio.create_task(consume(function, queue))
            for function in catalog().queue_functions
            for _ in range(consumers)
        ]
        try:
            for customer, sid, text in schedule:
                body, signature = signed_twilio_form(
                    TWILIO_TOKEN, URL, sender=NUMBERS[customer], to=SMS_NUMBER, text=text, sid=sid
                )
                await container.sms_webhooks.accept(
                    SmsProvider.TWILIO, twilio_call(URL, body, signature)
                )
            for _ in range(400):
                if not any([await queue.pending_count(name) for name in ("inbound", "route")]):
                    break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError("the queues did not drain")
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

        for customer, number in enumerate(NUMBERS):
            expected = [text for c, _, text in sent if c == customer]
            conversations = _open_conversations(container.settings, number)
            if not expected:
                assert conversations == []
                continue
            assert len(conversations) == 1, (number, conversations)  # invariant 9
            messages = await container.store.list_messages(conversations[0], include_internal=True)
            assert [m.text for m in messages] == expected  # invariants 3 and 4
    finally:
        bootstrap.replace_container(previous)
        await container.close()


def _open_conversations(settings: Settings, number: str) -> list[str]:
    with sqlite3.connect(settings.sqlite_path) as db:
        return [
            row[0]
            for row in db.execute(
                "SELECT id FROM conversations WHERE customer_address = ? AND status = 'open'",
                (number,),
            )
        ]


@settings(
    max_examples=examples(20),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(plan=deliveries, consumers=st.integers(1, 3))
def test_one_open_conversation_per_number_with_every_message_once_in_order(
    plan: tuple[list[int], list[tuple[int, int]]], consumers: int
) -> None:
    senders, retries = plan
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(scenario(Path(folder), senders, retries, consumers))
