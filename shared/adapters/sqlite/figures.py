"""FiguresStore on SQLite: daily figures and the fold's watermark."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from shared.adapters.sqlite.tables import SqliteBase, doc_json
from shared.domain.figures import DayFigures, FigureScope


class SqliteFigures(SqliteBase):
    async def put_day_figures(self, figures: Sequence[DayFigures]) -> None:
        await self._db.atomic(
            lambda db: db.executemany(
                "INSERT INTO day_figures (day, scope, key, doc) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (day, scope, key) DO UPDATE SET doc = excluded.doc",
                [(f.day.isoformat(), str(f.scope), f.key, doc_json(f)) for f in figures],
            )
        )

    async def day_figures(self, day: date, scope: FigureScope) -> Sequence[DayFigures]:
        return await self._query(
            DayFigures,
            "SELECT doc FROM day_figures WHERE day = ? AND scope = ? ORDER BY key",
            (day.isoformat(), str(scope)),
        )

    async def figures_watermark(self) -> date | None:
        row = await self._db.atomic(
            lambda db: db.execute(
                "SELECT value FROM figures_state WHERE id = 'watermark'"
            ).fetchone()
        )
        return None if row is None else date.fromisoformat(row[0])

    async def set_figures_watermark(self, day: date) -> None:
        await self._db.atomic(
            lambda db: db.execute(
                "INSERT INTO figures_state (id, value) VALUES ('watermark', ?) "
                "ON CONFLICT (id) DO UPDATE SET value = excluded.value",
                (day.isoformat(),),
            )
        )
