"""Historical figures: a range of stored days grouped by day, queue or agent, as JSON
or CSV, with no cap on the range; checked against the scripted day of test_supervisor."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import httpx

from shared.bootstrap import Container
from shared.domain.figures import DayFigures, FigureScope
from shared.domain.history import combine
from shared.domain.identity import Role
from shared.services.figures import FiguresService
from tests.api.test_supervisor import DAY, Clock, local, scripted_day, supervisor
from tests.support import bearer

URL = "/api/supervisor/history"
NEXT = DAY + timedelta(days=1)


def test_combined_figures_average_all_the_work_not_the_averages() -> None:
    one = DayFigures(
        day=DAY, scope=FigureScope.QUEUE, key="q", assigned=1, wait_seconds=10,
        longest_wait_seconds=10, answered_within_threshold=1, handled=1, handle_seconds=100,
    )  # fmt: skip
    three = DayFigures(
        day=NEXT, scope=FigureScope.QUEUE, key="q", incoming=4, assigned=3, wait_seconds=90,
        longest_wait_seconds=50, handled=3, handle_seconds=300, abandoned=1,
    )  # fmt: skip
    total = combine([one, three], day=DAY, scope=FigureScope.QUEUE, key="all")
    assert (total.key, total.incoming, total.assigned, total.handled, total.abandoned) == (
        "all",
        4,
        4,
        4,
        1,
    )
    assert total.average_wait_seconds == 25  # (10 + 90) / 4, not (10 + 30) / 2
    assert total.average_handle_seconds == 100
    assert total.longest_wait_seconds == 50
    assert total.service_level == 0.25
    empty = combine([], day=DAY, scope=FigureScope.AGENT, key="nobody")
    assert (empty.assigned, empty.average_wait_seconds, empty.service_level) == (0, None, None)


async def two_days(services: Container) -> None:
    await scripted_day(services)
    figures = FiguresService(
        services.store,
        Clock(local(NEXT, 12)),
        time_zone="Europe/Paris",
        service_level_seconds=60,
    )
    await figures.aggregate_day(DAY)
    await figures.aggregate_day(NEXT)


async def get(client: httpx.AsyncClient, services: Container, **params: str) -> httpx.Response:
    query = {"from": str(DAY - timedelta(days=1)), "to": str(NEXT)} | params
    return await client.get(URL, params=query, headers=supervisor(services))


async def test_history_grouped_by_day_queue_and_agent(
    client: httpx.AsyncClient, services: Container
) -> None:
    await two_days(services)
    by_day = (await get(client, services)).json()
    assert (by_day["from"], by_day["to"], by_day["group_by"]) == (
        str(DAY - timedelta(days=1)),
        str(NEXT),
        "day",
    )
    assert [(r["group"], r["incoming"], r["assigned"]) for r in by_day["rows"]] == [
        (str(DAY - timedelta(days=1)), 0, 0),
        (str(DAY), 4, 3),
        (str(NEXT), 1, 0),
    ]

    queues = {r["group"]: r for r in (await get(client, services, group_by="queue")).json()["rows"]}
    assert list(queues) == ["q-billing", "q-general"]
    general = queues["q-general"]  # 5 arrivals over the two days; the rest all on DAY
    assert (general["incoming"], general["assigned"], general["handled"]) == (5, 2, 2)
    assert (general["abandoned"], general["average_wait_seconds"]) == (1, 60)
    assert (general["average_handle_seconds"], general["service_level"]) == (450, 0.5)
    assert (queues["q-billing"]["assigned"], queues["q-billing"]["longest_wait_seconds"]) == (
        1,
        2400,
    )

    agents = {r["group"]: r for r in (await get(client, services, group_by="agent")).json()["rows"]}
    assert {a: (r["assigned"], r["handled"]) for a, r in agents.items()} == {
        "alice": (2, 1),
        "bob": (1, 1),
    }


async def test_history_exports_csv_streamed_whatever_the_range(
    client: httpx.AsyncClient, services: Container
) -> None:
    await two_days(services)
    as_json = (await get(client, services, group_by="queue")).json()["rows"]
    for response in (
        await get(client, services, group_by="queue", format="csv"),
        await client.get(
            URL,
            params={"from": str(DAY - timedelta(days=1)), "to": str(NEXT), "group_by": "queue"},
            headers=supervisor(services) | {"Accept": "text/csv"},
        ),
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert [r["group"] for r in rows] == [r["group"] for r in as_json]
        for row, expected in zip(rows, as_json, strict=True):
            assert int(row["incoming"]) == expected["incoming"]
            assert row["service_level"] == (
                "" if expected["service_level"] is None else str(expected["service_level"])
            )

    # No cap on the range: three years, a row per day, the scripted day among them.
    first, last = date(2024, 11, 2), date(2027, 11, 1)
    years = await client.get(
        URL,
        params={"from": str(first), "to": str(last), "format": "csv"},
        headers=supervisor(services),
    )
    days = list(csv.DictReader(io.StringIO(years.text)))
    assert len(days) == (last - first).days + 1 == 1095
    assert [(d["group"], d["incoming"]) for d in days if d["incoming"] != "0"] == [
        (str(DAY), "4"),
        (str(NEXT), "1"),
    ]


async def test_history_refuses_agents_and_backward_ranges(
    client: httpx.AsyncClient, services: Container
) -> None:
    params = {"from": str(DAY), "to": str(DAY)}
    as_agent = await client.get(URL, params=params, headers=bearer(services, "bob", Role.AGENT))
    assert as_agent.status_code == 403
    backwards = await client.get(
        URL,
        params={"from": str(DAY), "to": str(DAY - timedelta(days=1)), "format": "csv"},
        headers=supervisor(services),
    )
    assert backwards.status_code == 400
    unknown = await client.get(
        URL, params=params | {"group_by": "week"}, headers=supervisor(services)
    )
    assert unknown.status_code == 400
    # Found by the schemathesis run: year 1 to 9999 held a worker for minutes, a read a day.
    for form in ("json", "csv"):
        endless = await client.get(
            URL,
            params={"from": "0001-01-01", "to": "9999-12-31", "format": form},
            headers=supervisor(services),
        )
        assert endless.status_code == 400 and "3660 days" in endless.json()["detail"]
