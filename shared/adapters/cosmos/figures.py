"""FiguresStore on Cosmos DB: daily figures and the fold's watermark."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from shared.adapters.cosmos import layout
from shared.adapters.cosmos.containers import CosmosBase, load_record
from shared.adapters.cosmos.layout import document
from shared.domain.figures import DayFigures, FigureScope


class CosmosFigures(CosmosBase):
    async def put_day_figures(self, figures: Sequence[DayFigures]) -> None:
        for record in figures:
            key = layout.day_figures_key(record.day)
            await self._lookups.upsert(
                document(
                    f"{record.scope}:{record.key}",
                    key,
                    "day-figures",
                    record,
                    scope=str(record.scope),
                )
            )

    async def day_figures(self, day: date, scope: FigureScope) -> Sequence[DayFigures]:
        # Only /pk is indexed in lookups: a day's few records are filtered and sorted here.
        key = layout.day_figures_key(day)
        rows = await self._lookups.query(
            "SELECT * FROM c WHERE c.pk = @pk", {"@pk": key}, partition_key=key
        )
        records = (load_record(DayFigures, row) for row in rows if row["scope"] == str(scope))
        return sorted(records, key=lambda r: r.key)

    async def figures_watermark(self) -> date | None:
        # A query rather than a point read: the document is absent until the first run, and
        # the timer reads it once a minute (the cost difference is nil).
        key = layout.FIGURES_WATERMARK_KEY
        days = await self._lookups.query(
            "SELECT VALUE c.day FROM c WHERE c.pk = @pk", {"@pk": key}, partition_key=key
        )
        return date.fromisoformat(days[0]) if days else None

    async def set_figures_watermark(self, day: date) -> None:
        key = layout.FIGURES_WATERMARK_KEY
        await self._lookups.upsert(document(key, key, "figures-watermark", day=day.isoformat()))
