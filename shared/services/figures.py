"""Intraday and historical figures: the aggregates timer folds each day's work items into
stored records per (day, queue) and (day, agent); the figures API reads those records (one
single-partition read per day) and adds what is live (the backlog, agents available)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from pydantic import Field

from shared.domain.base import Model
from shared.domain.figures import (
    DayFigures,
    FigureScope,
    day_window,
    fold_day,
    local_day,
)
from shared.domain.history import GroupBy, combine
from shared.domain.presence import Presence, PresenceSpan
from shared.domain.routing_config import Queue
from shared.domain.staffing import StaffingAdvice, advise
from shared.errors import BadRequest
from shared.ports import (
    AgentStateStore,
    Clock,
    FiguresStore,
    OutcomeStore,
    RoutingConfigStore,
    WorkItemStore,
)
from shared.services.listing import every, every_by


# The longest history range one request may ask for (ten years): a day costs a store read, so
# an unbounded range (year 1 to 9999) would hold a worker for hours.
class FiguresPorts(
    RoutingConfigStore, WorkItemStore, AgentStateStore, FiguresStore, OutcomeStore, Protocol
):
    """The store ports this service needs."""


MAX_HISTORY_DAYS = 3660


class Measures(Model):
    """Figures as shown: counts, with the averages and ratio derived from the stored sums."""

    incoming: int
    offered: int
    assigned: int
    handled: int
    abandoned: int
    transfers: int
    csat_answers: int = Field(description="satisfaction answers given that day")
    average_csat: float | None = Field(description="their average score, 1 to 5")
    answered_within_threshold: int
    average_wait_seconds: float | None
    longest_wait_seconds: float
    average_handle_seconds: float | None
    service_level: float | None = Field(description="assigned within the threshold / assigned")
    available_seconds: float = Field(description="agents: time in Available (0 for queues)")
    busy_seconds: float
    busy_dnd_seconds: float
    away_seconds: float
    offline_seconds: float

    @staticmethod
    def measured(figures: DayFigures) -> dict[str, Any]:
        """Each measure from the stored record: its counts and sums, or what they derive."""
        return {name: getattr(figures, name) for name in Measures.model_fields}


class FiguresView(Measures):
    """A day's figures for one queue or agent."""

    day: date
    key: str = Field(description="the queue id or the agent id")

    @classmethod
    def of(cls, figures: DayFigures) -> FiguresView:
        return cls(day=figures.day, key=figures.key, **Measures.measured(figures))


class QueueIntraday(FiguresView):
    name: str
    waiting_now: int
    longest_waiting_seconds: float = Field(description="how long the oldest waiting item has")
    agents_available: int = Field(description="members whose presence is available")
    staffing: StaffingAdvice | None = Field(
        default=None,
        description="agents needed now (Erlang C) beside those available; None until today has "
        "a handled item to take the average handle time from",
    )


class Intraday(Model):
    day: date
    time_zone: str
    service_level_seconds: float
    service_level_target: float
    staffing_window_minutes: float
    queues: list[QueueIntraday]
    agents: list[FiguresView]


class HistoryRow(Measures):
    """One group's figures over the range: a day's (all queues), a queue's or an agent's."""

    group: str = Field(description="the day (ISO date), the queue id or the agent id")

    @classmethod
    def of(cls, group: str, figures: DayFigures) -> HistoryRow:
        return cls(group=group, **Measures.measured(figures))


class History(Model):
    first: date = Field(serialization_alias="from")
    last: date = Field(serialization_alias="to")
    group_by: GroupBy
    rows: list[HistoryRow] = Field(
        description="every day of the range in order (days without work are zero), or every "
        "queue or agent with work in the range in id order"
    )


class FiguresService:
    def __init__(
        self,
        store: FiguresPorts,
        clock: Clock,
        *,
        time_zone: str,
        service_level_seconds: float,
        service_level_target: float = 0.8,
        staffing_window: timedelta = timedelta(hours=1),
    ) -> None:
        self._store = store
        self._clock = clock
        self._zone = ZoneInfo(time_zone)
        self._threshold = service_level_seconds
        self._target = service_level_target
        self._window = staffing_window

    def today(self) -> date:
        return local_day(self._clock.now(), self._zone)

    async def _queues(self) -> list[Queue]:
        return [queue async for queue in every(self._store.list_queues)]

    # --- the aggregates timer ---------------------------------------------------------------

    async def aggregate(self) -> list[date]:
        """Refold every day from the watermark (the first day not final) to today, then move
        the watermark to today; returns the days refolded. A day once past is final: each
        measure counts on the day its event happened."""
        today = self.today()
        first = min(await self._store.figures_watermark() or today, today)
        days = [first + timedelta(days=n) for n in range((today - first).days + 1)]
        for day in days:
            await self.aggregate_day(day)
        await self._store.set_figures_watermark(today)
        return days

    async def aggregate_day(self, day: date) -> list[DayFigures]:
        start, end = day_window(day, self._zone)
        items = [
            item
            for queue in await self._queues()
            for item in await self._store.items_alive(queue.id, start, end)
        ]
        spans = [*await self._store.presence_spans(day), *await self._open_spans()]
        folded = fold_day(
            day,
            items,
            zone=self._zone,
            service_level_seconds=self._threshold,
            spans=spans,
            csat=await self._store.csat_facts(start, end),
        )
        # A record stored earlier and absent now (its work moved queue) is zeroed, not kept.
        fresh = {(f.scope, f.key) for f in folded}
        stale = [
            DayFigures(day=day, scope=scope, key=old.key)
            for scope in FigureScope
            for old in await self._store.day_figures(day, scope)
            if (scope, old.key) not in fresh
        ]
        await self._store.put_day_figures([*folded, *stale])
        return folded

    async def _open_spans(self) -> list[PresenceSpan]:
        """Each agent's presence so far: the span it is in, not stored until it ends."""
        now = self._clock.now()
        return [
            PresenceSpan(
                agent_id=state.agent.id,
                presence=state.presence,
                started_at=state.presence_since,
                ended_at=now,
            )
            async for state in every_by(self._store.list_agent_states, lambda s: s.agent.id)
            if state.presence_since is not None
        ]

    # --- reads ---------------------------------------------------------------------------------

    async def _day(self, day: date, scope: FigureScope) -> dict[str, DayFigures]:
        return {f.key: f for f in await self._store.day_figures(day, scope)}

    async def intraday(self) -> Intraday:
        day = self.today()
        now = self._clock.now()
        by_queue = await self._day(day, FigureScope.QUEUE)
        queues = []
        for queue in await self._queues():
            figures = by_queue.get(queue.id) or DayFigures(
                day=day, scope=FigureScope.QUEUE, key=queue.id
            )
            waiting, oldest = await self._store.queue_backlog(queue.id)
            members = await self._store.queue_agents(queue.id)
            available = sum(m.presence == Presence.AVAILABLE for m in members)
            queues.append(
                QueueIntraday(
                    **FiguresView.of(figures).model_dump(),
                    name=queue.name,
                    waiting_now=waiting,
                    longest_waiting_seconds=_seconds_since(oldest, now),
                    agents_available=available,
                    staffing=await self._staffing(queue.id, figures, available),
                )
            )
        agents = [FiguresView.of(f) for f in (await self._day(day, FigureScope.AGENT)).values()]
        return Intraday(
            day=day,
            time_zone=self._zone.key,
            service_level_seconds=self._threshold,
            service_level_target=self._target,
            staffing_window_minutes=self._window.total_seconds() / 60,
            queues=queues,
            agents=agents,
        )

    async def _staffing(
        self, queue_id: str, today: DayFigures, available: int
    ) -> StaffingAdvice | None:
        """Erlang C from the arrivals of the staffing window (live, not the stored figures: a
        rate of the last hour, not of the day so far) and today's average handle time."""
        handle = today.average_handle_seconds
        if not handle:
            return None
        now = self._clock.now()
        start = now - self._window
        arrived = sum(
            start <= item.enqueued_at < now
            for item in await self._store.items_alive(queue_id, start, now)
        )
        return advise(
            arrivals_per_hour=arrived * 3600 / self._window.total_seconds(),
            handle_seconds=handle,
            threshold_seconds=self._threshold,
            target=self._target,
            agents_available=available,
        )

    def history(self, first: date, last: date, group_by: GroupBy) -> AsyncIterator[HistoryRow]:
        """The range's rows, read one day at a time (up to MAX_HISTORY_DAYS: a row per day is
        yielded as soon as that day is read, so a CSV export streams)."""
        if last < first:
            raise BadRequest("`to` comes before `from`")
        if (last - first).days + 1 > MAX_HISTORY_DAYS:
            raise BadRequest(f"a history range spans at most {MAX_HISTORY_DAYS} days")
        return self._history_rows(first, last, group_by)

    async def _history_rows(
        self, first: date, last: date, group_by: GroupBy
    ) -> AsyncIterator[HistoryRow]:
        scope = group_by.scope
        totals: dict[str, DayFigures] = {}
        for n in range((last - first).days + 1):
            day = first + timedelta(days=n)
            records = await self._store.day_figures(day, scope)
            if group_by is GroupBy.DAY:
                total = combine(records, day=day, scope=scope, key=day.isoformat())
                yield HistoryRow.of(day.isoformat(), total)
                continue
            for record in records:
                held = totals.get(record.key)
                totals[record.key] = (
                    record
                    if held is None
                    else combine((held, record), day=first, scope=scope, key=record.key)
                )
        for key in sorted(totals):
            yield HistoryRow.of(key, totals[key])

    async def agent_figures(self, agent_id: str, day: date | None = None) -> FiguresView:
        """One agent's own figures (an agent reads only its own)."""
        day = day or self.today()
        figures = (await self._day(day, FigureScope.AGENT)).get(agent_id)
        return FiguresView.of(figures or DayFigures(day=day, scope=FigureScope.AGENT, key=agent_id))


def _seconds_since(moment: datetime | None, now: datetime) -> float:
    return 0.0 if moment is None else max((now - moment).total_seconds(), 0.0)
