"""How long a waiting customer will wait, as the automated message tells them ({wait_minutes}):
estimated from the queue's average speed of answer today and the customer's place in it."""

from __future__ import annotations

import math

from shared.domain.base import Model

FIRM_AFTER = 10
"""Answers today from which the estimate is one figure; on fewer, the data is thin and the
estimate a range, wider the fewer they are."""

UNKNOWN_WAIT = "?"
"""What {wait_minutes} says before the queue has answered anyone today: no basis to estimate."""


class WaitEstimate(Model):
    low_minutes: int
    high_minutes: int

    def __str__(self) -> str:
        """As the customer reads it: "4", or "2-7" (a hyphen: SMS's GSM alphabet has no dash)."""
        if self.low_minutes == self.high_minutes:
            return str(self.low_minutes)
        return f"{self.low_minutes}-{self.high_minutes}"


def estimate_wait(
    *, position: int, average_answer_seconds: float | None, answered: int
) -> WaitEstimate | None:
    """The wait of the customer at `position` (1: next), in whole minutes, at least one.

    Each customer ahead, and this one, is taken to be answered in about one average speed of
    answer. The average of `answered` answers is uncertain by about 1/sqrt(answered) of itself:
    below FIRM_AFTER answers the estimate spans that much either side. None when no one has
    been answered today."""
    if answered < 1 or average_answer_seconds is None:
        return None
    expected = max(position, 1) * max(average_answer_seconds, 0.0) / 60
    if answered >= FIRM_AFTER:
        minutes = max(1, round(expected))
        return WaitEstimate(low_minutes=minutes, high_minutes=minutes)
    spread = 1 / math.sqrt(answered)
    low = max(1, math.floor(expected * (1 - spread)))
    high = max(low, math.ceil(expected * (1 + spread)))
    return WaitEstimate(low_minutes=low, high_minutes=high)
