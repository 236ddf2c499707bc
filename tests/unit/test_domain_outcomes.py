"""After the conversation, pure: disposition codes, the SMS survey's reply, transcripts, and
CSAT in the day's figures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.domain.channels import ChannelKind
from shared.domain.conversations import (
    Conversation,
    Direction,
    Message,
    SenderKind,
)
from shared.domain.figures import FigureScope, fold_day
from shared.domain.outcomes import (
    CsatAnswer,
    CsatFact,
    DispositionCode,
    UnknownDisposition,
    awaits_sms_answer,
    chosen_disposition,
    sms_score,
)
from shared.domain.routing_config import Workstream
from shared.domain.transcripts import (
    TranscriptHeader,
    render_html,
    render_text,
    transcript_lines,
)

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
CODES = (
    DispositionCode(code="resolved", label="Resolved"),
    DispositionCode(code="cb", label="Call back"),
)


def test_a_disposition_code_comes_from_the_list() -> None:
    assert chosen_disposition(CODES, "cb") == CODES[1]
    assert chosen_disposition((), None) is None
    for codes, code in ((CODES, "nope"), (CODES, None), ((), "resolved")):
        with pytest.raises(UnknownDisposition):
            chosen_disposition(codes, code)


def test_a_workstream_refuses_repeated_codes() -> None:
    with pytest.raises(ValueError, match="repeat: resolved"):
        Workstream(
            id="w",
            name="w",
            channel=ChannelKind.SMS,
            fallback_queue_id="q",
            disposition_codes=(CODES[0], CODES[0]),
        )


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("4", 4),
        (" 5 ", 5),
        ("1.", 1),
        ("3!", 3),
        ("0", None),
        ("6", None),
        ("45", None),
        ("4 stars", None),
        ("", None),
        ("STOP", None),
    ],
)
def test_an_sms_reply_is_a_score_only_when_it_is_just_one_to_five(
    text: str, score: int | None
) -> None:
    assert sms_score(text) == score


def test_the_sms_answer_window() -> None:
    answered = CsatAnswer(score=3, answered_at=T0, via="sms")
    assert awaits_sms_answer(T0, None, T0 + timedelta(hours=1), 3600)
    assert not awaits_sms_answer(T0, None, T0 + timedelta(hours=1, seconds=1), 3600)
    assert not awaits_sms_answer(None, None, T0, 3600)  # never asked
    assert not awaits_sms_answer(T0, answered, T0, 3600)  # answered already
    assert not awaits_sms_answer(T0, None, T0 - timedelta(seconds=1), 3600)  # before asking


def _message(sequence: int, sender: SenderKind, text: str, *, internal: bool = False) -> Message:
    return Message(
        id=f"c1.{sequence}",
        conversation_id="c1",
        sequence=sequence,
        direction=Direction.INBOUND if sender == SenderKind.CUSTOMER else Direction.OUTBOUND,
        sender=sender,
        agent_id="alice" if sender == SenderKind.AGENT else None,
        internal=internal,
        text=text,
        created_at=T0 + timedelta(minutes=sequence),
    )


MESSAGES = [
    _message(2, SenderKind.AGENT, "Hello <Ada> & co"),
    _message(1, SenderKind.CUSTOMER, "<script>alert(1)</script>\nsecond line"),
    _message(3, SenderKind.AGENT, "VIP: be nice", internal=True),
]
CONVERSATION = Conversation(
    id="c1",
    channel=ChannelKind.CHAT,
    channel_id="chat",
    workstream_id="w",
    customer_address="visitor:1",
    business_address="widget",
    opened_at=T0,
)
HEADER = TranscriptHeader(
    customer_name="Ada <Lovelace>",
    channel="chat",
    queue_name="General",
    agent_name="Alice",
    opened_at=T0,
)


def test_the_staff_transcript_marks_notes_and_keeps_order() -> None:
    lines = transcript_lines(
        MESSAGES, customer_name="Ada <Lovelace>", agent_names={"alice": "Alice"}, for_customer=False
    )
    assert [line.text.split("\n")[0] for line in lines] == [
        "<script>alert(1)</script>",
        "Hello <Ada> & co",
        "VIP: be nice",
    ]
    text = render_text(CONVERSATION, HEADER, lines)
    assert "Alice [internal note]:\n  VIP: be nice" in text
    assert "  second line" in text and "Queue: General" in text


def test_the_customer_copy_never_has_a_note_whatever_is_passed_in() -> None:
    lines = transcript_lines(MESSAGES, customer_name="Ada", agent_names={}, for_customer=True)
    assert all(not line.note for line in lines) and len(lines) == 2
    assert "VIP" not in render_html(CONVERSATION, HEADER, lines)


def test_the_html_transcript_escapes_every_text_and_prints() -> None:
    lines = transcript_lines(
        MESSAGES, customer_name="Ada <Lovelace>", agent_names={"alice": "Alice"}, for_customer=False
    )
    page = render_html(CONVERSATION, HEADER, lines)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Ada &lt;Lovelace&gt;" in page and "Hello &lt;Ada&gt; &amp; co" in page
    assert '<li class="note">' in page and "@media print" in page and "@page" in page


def test_csat_counts_on_the_day_answered_for_the_queue_and_the_agent() -> None:
    zone = ZoneInfo("UTC")
    facts = [
        CsatFact(conversation_id="c1", queue_id="q", agent_id="alice", score=5, answered_at=T0),
        CsatFact(conversation_id="c2", queue_id="q", agent_id="bob", score=2, answered_at=T0),
        CsatFact(conversation_id="c2", queue_id="q", agent_id="bob", score=2, answered_at=T0),
        CsatFact(
            conversation_id="c3",
            queue_id="q",
            agent_id="alice",
            score=1,
            answered_at=T0 + timedelta(days=1),
        ),
    ]
    folded = {
        (f.scope, f.key): f
        for f in fold_day(date(2026, 11, 1), [], zone=zone, service_level_seconds=20, csat=facts)
    }
    queue = folded[(FigureScope.QUEUE, "q")]
    assert (queue.csat_answers, queue.csat_score_total, queue.average_csat) == (2, 7, 3.5)
    assert folded[(FigureScope.AGENT, "alice")].average_csat == 5
    assert folded[(FigureScope.AGENT, "bob")].csat_answers == 1  # one answer per conversation
