"""The pure figures rules: presence spans cut at local midnights (23- and 25-hour days
included), a day's share of each span, offers and transfers counted where they happened."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from shared.domain.figures import FigureScope, fold_day, split_by_day
from shared.domain.presence import Presence, PresenceSpan, PresenceState, ended_span
from shared.domain.work import WorkItem

PARIS = ZoneInfo("Europe/Paris")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


def span(start: datetime, end: datetime, presence: Presence = Presence.AWAY) -> PresenceSpan:
    return PresenceSpan(agent_id="alice", presence=presence, started_at=start, ended_at=end)


def test_a_span_is_cut_at_each_local_midnight() -> None:
    first = date(2026, 3, 28)  # Paris skips 02:00-03:00 on the 29th: a 23-hour day
    pieces = split_by_day(span(at(first, 22), at(first + timedelta(days=2), 1)), PARIS)
    assert [(p.started_at, p.ended_at) for p in pieces] == [
        (at(first, 22), at(first + timedelta(days=1), 0)),
        (at(first + timedelta(days=1), 0), at(first + timedelta(days=2), 0)),
        (at(first + timedelta(days=2), 0), at(first + timedelta(days=2), 1)),
    ]
    assert [p.seconds for p in pieces] == [2 * 3600, 23 * 3600, 3600]
    assert len({p.id for p in pieces}) == 3  # each piece its own record
    within = span(at(first, 9), at(first, 10))
    assert split_by_day(within, PARIS) == [within]


def test_a_day_counts_its_share_of_each_span_and_each_span_once() -> None:
    day = date(2026, 10, 25)  # Paris repeats 02:00-03:00: a 25-hour day
    spans = [
        span(at(day - timedelta(days=1), 20), at(day, 1)),  # 1 h of it on the day
        span(at(day, 1), at(day + timedelta(days=1), 0), Presence.AVAILABLE),  # 24 h
        span(at(day, 1), at(day + timedelta(days=1), 0), Presence.AVAILABLE),  # the same, again
        span(at(day + timedelta(days=1), 0), at(day + timedelta(days=1), 5)),  # the next day
    ]
    (alice,) = fold_day(day, [], zone=PARIS, service_level_seconds=60, spans=spans)
    assert (alice.scope, alice.key) == (FigureScope.AGENT, "alice")
    assert (alice.away_seconds, alice.available_seconds) == (3600, 24 * 3600)


def test_the_ended_span_is_the_presence_an_update_left() -> None:
    nine, ten = at(date(2026, 11, 2), 9), at(date(2026, 11, 2), 10)
    before = PresenceState(presence=Presence.AWAY, custom_presence_id="lunch", since=nine)
    after = PresenceState(presence=Presence.AVAILABLE, since=ten)
    assert ended_span("alice", before, after) == PresenceSpan(
        agent_id="alice",
        presence=Presence.AWAY,
        custom_presence_id="lunch",
        started_at=nine,
        ended_at=ten,
    )
    assert ended_span("alice", before, before.model_copy(update={"signed_in": True})) is None
    assert ended_span("alice", None, after) is None  # never managed before: nothing ended


def test_offers_and_transfers_count_where_and_when_they_happened() -> None:
    day = date(2026, 11, 2)
    item = WorkItem(
        id="w1", conversation_id="c1", workstream_id="ws", queue_id="q1", enqueued_at=at(day, 9)
    )
    offered = item.given_to("alice", at(day, 9, 1), offer_until=at(day, 9, 2))
    moved = offered.model_copy(update={"status": "active"}).transferred_to_queue("q2", at(day, 10))
    routed = moved.given_to("bob", at(day, 10, 5), offer_until=None)
    handed = routed.transferred_to_agent("carol", at(day, 11))
    closed = handed.model_copy(update={"status": "closed", "closed_at": at(day, 12)})
    figures = {
        (f.scope, f.key): f for f in fold_day(day, [closed], zone=PARIS, service_level_seconds=60)
    }
    q1, q2 = figures[FigureScope.QUEUE, "q1"], figures[FigureScope.QUEUE, "q2"]
    assert (q1.incoming, q1.offered, q1.transfers, q1.assigned) == (1, 1, 1, 0)
    # Entered q2 at 10:00 by transfer, routed to bob at 10:05 (a 300 s wait), handed to carol
    # at 11:00 (a transfer out of q2, no assignment), closed by carol at 12:00.
    assert (q2.incoming, q2.offered, q2.transfers, q2.assigned) == (1, 1, 1, 1)
    assert (q2.wait_seconds, q2.handled, q2.handle_seconds) == (300, 1, 3600)
    alice, bob = figures[FigureScope.AGENT, "alice"], figures[FigureScope.AGENT, "bob"]
    carol = figures[FigureScope.AGENT, "carol"]
    assert (alice.offered, alice.transfers, alice.assigned) == (1, 1, 0)
    assert (bob.offered, bob.transfers, bob.assigned, bob.handled) == (1, 1, 1, 0)
    assert (carol.offered, carol.handled, carol.handle_seconds) == (0, 1, 3600)
