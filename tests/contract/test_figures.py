"""What every store adapter must do as a FiguresStore: daily figures."""

from __future__ import annotations

from datetime import timedelta

from shared.domain.figures import DayFigures, FigureScope
from shared.ports import Store
from tests.contract.builders import T0


async def test_day_figures_are_stored_per_day_scope_and_key(store: Store) -> None:
    day = T0.date()
    queue_q2 = DayFigures(day=day, scope=FigureScope.QUEUE, key="q2", incoming=3)
    queue_q1 = DayFigures(day=day, scope=FigureScope.QUEUE, key="q1", incoming=5, handled=2)
    agent_a1 = DayFigures(day=day, scope=FigureScope.AGENT, key="a1", handled=2)
    other_day = queue_q1.model_copy(update={"day": day - timedelta(days=1)})
    assert await store.figures_watermark() is None
    await store.put_day_figures([queue_q2, queue_q1, agent_a1, other_day])
    recomputed = queue_q1.model_copy(update={"incoming": 6})
    await store.put_day_figures([recomputed])  # a later run replaces the record
    assert await store.day_figures(day, FigureScope.QUEUE) == [recomputed, queue_q2]
    assert await store.day_figures(day, FigureScope.AGENT) == [agent_a1]
    assert await store.day_figures(other_day.day, FigureScope.QUEUE) == [other_day]
    assert await store.day_figures(day + timedelta(days=1), FigureScope.QUEUE) == []
    await store.set_figures_watermark(day)
    await store.set_figures_watermark(day + timedelta(days=1))
    assert await store.figures_watermark() == day + timedelta(days=1)
