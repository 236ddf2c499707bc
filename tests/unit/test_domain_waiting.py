"""The wait a queued customer is told: from the queue's speed of answer today and their place,
one figure on firm data, a range on thin data, nothing on none."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.waiting import FIRM_AFTER, WaitEstimate, estimate_wait


@pytest.mark.parametrize(
    ("position", "average", "answered", "said"),
    [
        (1, 60.0, FIRM_AFTER, "1"),
        (3, 60.0, 50, "3"),
        (2, 150.0, 12, "5"),
        (1, 5.0, 40, "1"),  # under a minute is still "1", never "0"
        (4, 0.0, 30, "1"),  # answered at once all day
        (1, 120.0, 1, "1-4"),  # one answer: as likely half as twice the average
        (1, 120.0, 4, "1-3"),
        (5, 120.0, 9, "6-14"),
    ],
)
def test_the_estimate_as_the_customer_reads_it(
    position: int, average: float, answered: int, said: str
) -> None:
    estimate = estimate_wait(position=position, average_answer_seconds=average, answered=answered)
    assert str(estimate) == said


@pytest.mark.parametrize(("average", "answered"), [(None, 0), (30.0, 0), (None, 5)])
def test_no_answer_today_is_no_estimate(average: float | None, answered: int) -> None:
    assert estimate_wait(position=1, average_answer_seconds=average, answered=answered) is None


@given(
    position=st.integers(1, 500),
    average=st.floats(0, 7200),
    answered=st.integers(1, 10_000),
)
def test_a_range_holds_the_point_estimate_and_narrows_as_answers_grow(
    position: int, average: float, answered: int
) -> None:
    estimate = estimate_wait(position=position, average_answer_seconds=average, answered=answered)
    assert estimate is not None and 1 <= estimate.low_minutes <= estimate.high_minutes
    point = position * average / 60
    assert estimate.low_minutes <= max(1, round(point)) <= estimate.high_minutes
    firmer = estimate_wait(position=position, average_answer_seconds=average, answered=answered + 1)
    assert firmer is not None
    assert firmer.high_minutes - firmer.low_minutes <= estimate.high_minutes - estimate.low_minutes
    if answered >= FIRM_AFTER:
        assert estimate == WaitEstimate(
            low_minutes=round(point) or 1, high_minutes=round(point) or 1
        )
