"""What every store adapter must do as an OutcomeStore: outcome fields changed atomically on
the conversation and nothing else, an address's latest conversation, CSAT answers by time."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from shared.domain.conversations import ClosingReason, Conversation, ConversationStatus
from shared.domain.outcomes import CsatAnswer, CsatFact, WrapUp
from shared.ports import Store
from tests.contract.builders import T0, conversation
from tests.contract.conftest import StoreFactory


def answer(score: int, comment: str = "") -> CsatAnswer:
    return CsatAnswer(score=score, comment=comment, answered_at=T0, via="chat")


def answer_once(new: CsatAnswer):  # type: ignore[no-untyped-def]
    def change(current: Conversation) -> Conversation | None:
        return None if current.csat is not None else current.model_copy(update={"csat": new})

    return change


async def test_an_outcome_change_is_stored_and_keeps_the_lifecycle(store: Store) -> None:
    opened, _ = await store.open_conversation(conversation())
    closed = await store.close_conversation(opened.id, T0, ClosingReason.HANDLED)
    assert closed is not None
    wrap_up = WrapUp(agent_id="a1", disposition_code="resolved", summary="fixed", at=T0)
    result = await store.change_conversation_outcome(
        opened.id,
        # A change that also tries to reopen it: only the outcome fields are written.
        lambda c: c.model_copy(update={"wrap_up": wrap_up, "status": ConversationStatus.OPEN}),
    )
    assert result is not None
    stored, changed = result
    assert changed and stored.wrap_up == wrap_up and stored.status == ConversationStatus.CLOSED
    assert await store.get_conversation(opened.id) == stored
    # The lifecycle moves on without losing the outcome.
    reopened = await store.reopen_conversation(opened.id, T0 + timedelta(minutes=1))
    assert reopened is not None
    again = await store.get_conversation(opened.id)
    assert again is not None and again.wrap_up == wrap_up and again.status == "open"


async def test_a_refused_change_writes_nothing_and_unknown_is_none(store: Store) -> None:
    opened, _ = await store.open_conversation(conversation())
    assert await store.change_conversation_outcome("nope", answer_once(answer(5))) is None
    first = await store.change_conversation_outcome(opened.id, answer_once(answer(4)))
    second = await store.change_conversation_outcome(opened.id, answer_once(answer(1)))
    assert first is not None and first[1]
    assert second is not None and not second[1]
    assert second[0].csat == answer(4)
    stored = await store.get_conversation(opened.id)
    assert stored is not None and stored.csat == answer(4)


async def test_racing_answers_store_one(store_factory: StoreFactory, tmp_path: Path) -> None:
    async with store_factory(tmp_path) as one, store_factory(tmp_path) as two:
        opened, _ = await one.open_conversation(conversation())
        results = await asyncio.gather(
            *(
                (one if n % 2 else two).change_conversation_outcome(
                    opened.id, answer_once(answer(1 + n % 5, f"answer {n}"))
                )
                for n in range(8)
            )
        )
        winners = [r for r in results if r is not None and r[1]]
        assert len(winners) == 1
        stored = await one.get_conversation(opened.id)
        assert stored is not None and stored.csat == winners[0][0].csat
        assert all(r is not None and r[0].csat == stored.csat for r in results)


async def test_the_address_conversation_is_the_open_one_else_the_last(store: Store) -> None:
    assert await store.address_conversation("sms-1", "+14155550101") is None
    first, _ = await store.open_conversation(conversation())
    found = await store.address_conversation("sms-1", "+14155550101")
    assert found is not None and found.id == first.id
    await store.close_conversation(first.id, T0 + timedelta(minutes=1), ClosingReason.HANDLED)
    closed = await store.address_conversation("sms-1", "+14155550101")
    assert closed is not None and closed.id == first.id and closed.status == "closed"
    later = conversation().model_copy(
        update={"id": "c-later", "opened_at": T0 + timedelta(hours=1)}
    )
    second, created = await store.open_conversation(later)
    assert created
    latest = await store.address_conversation("sms-1", "+14155550101")
    assert latest is not None and latest.id == second.id
    assert await store.address_conversation("sms-2", "+14155550101") is None


async def test_csat_facts_by_the_instant_answered(store: Store) -> None:
    def fact(conversation_id: str, hours: float, score: int) -> CsatFact:
        return CsatFact(
            conversation_id=conversation_id,
            queue_id="q1",
            agent_id="a1",
            score=score,
            answered_at=T0 + timedelta(hours=hours),
        )

    await store.put_csat_fact(fact("c1", 1, 5))
    await store.put_csat_fact(fact("c2", 30, 2))  # the next UTC day
    await store.put_csat_fact(fact("c3", -2, 3))
    await store.put_csat_fact(fact("c1", 1.5, 4))  # replaced: one per conversation
    window = await store.csat_facts(T0, T0 + timedelta(hours=31))
    assert [(f.conversation_id, f.score) for f in window] == [("c1", 4), ("c2", 2)]
    assert [f.conversation_id for f in await store.csat_facts(T0, T0 + timedelta(hours=30))] == [
        "c1"
    ]
    assert [f.conversation_id for f in await store.csat_facts(T0 - timedelta(days=1), T0)] == ["c3"]
