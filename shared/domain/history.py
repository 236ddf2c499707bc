"""Historical figures over a range of days, grouped by day, queue or agent: stored day records
summed (counts and sums add up, the longest wait is the longest of all). Pure; no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import StrEnum

from shared.domain.figures import DayFigures, FigureScope

_LABELS = frozenset({"day", "scope", "key"})
"""What labels a record; every other field of DayFigures is a measure that adds up, except
the longest ones, of which the longest is kept."""


class GroupBy(StrEnum):
    DAY = "day"
    QUEUE = "queue"
    AGENT = "agent"

    @property
    def scope(self) -> FigureScope:
        """The records a group sums: a day's totals are its queues' (every item is in exactly
        one queue; agents' records would leave out work no agent had)."""
        return FigureScope.AGENT if self is GroupBy.AGENT else FigureScope.QUEUE


def combine(
    records: Iterable[DayFigures], *, day: date, scope: FigureScope, key: str
) -> DayFigures:
    """One record holding the sum of `records` (the averages and service level of the result
    are those of all their work together), labelled with `day`, `scope` and `key`."""
    totals: dict[str, float] = {}
    for record in records:
        for field, value in record.model_dump(exclude=set(_LABELS)).items():
            if not isinstance(value, int | float):
                continue
            held = totals.get(field, 0)
            totals[field] = max(held, value) if field.startswith("longest_") else held + value
    return DayFigures.model_validate({"day": day, "scope": scope, "key": key, **totals})
