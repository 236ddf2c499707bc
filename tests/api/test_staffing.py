"""Staffing advice: Erlang C against published values, and the advice the intraday
figures show per queue beside the agents available, from a scripted hour of arrivals."""

from __future__ import annotations

import math
from datetime import timedelta

import httpx
import pytest

from shared.bootstrap import Container
from shared.domain.identity import Role
from shared.domain.presence import Presence
from shared.domain.staffing import advise, average_speed_of_answer, erlang_c, service_level
from tests.api.test_supervisor import arrival
from tests.support import ManualClock, bearer

# --- the formula -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agents", "traffic", "waits"),
    [
        (1, 0.5, 0.5),  # M/M/1: an arrival waits with the probability the agent is busy
        (3, 2.0, 4 / 9),  # worked by hand: (8/6 * 3) / (1 + 2 + 2 + 8/6 * 3)
        # The Erlang C table for 10 Erlangs, as printed in workforce-management textbooks.
        (11, 10.0, 0.6821),
        (12, 10.0, 0.4494),
        (13, 10.0, 0.2853),
        (14, 10.0, 0.1741),
    ],
)
def test_erlang_c_gives_the_published_probability_of_waiting(
    agents: int, traffic: float, waits: float
) -> None:
    assert erlang_c(agents, traffic) == pytest.approx(waits, abs=5e-5)


def test_the_classic_example_100_calls_in_30_minutes_of_3_minutes_each() -> None:
    """The example Erlang C tutorials (and pyworkforce's README) work through: 100 calls per
    half hour, 180 s handle time, 80 % answered within 20 s: 10 Erlangs, 14 agents, 88.8 %
    answered in time, an average speed of answer of about 8 s; 13 agents give 79.6 %."""
    assert service_level(13, 10.0, handle_seconds=180, threshold_seconds=20) == pytest.approx(
        0.7956, abs=5e-5
    )
    advice = advise(
        arrivals_per_hour=200,
        handle_seconds=180,
        threshold_seconds=20,
        target=0.8,
        agents_available=11,
    )
    assert advice.traffic_erlangs == pytest.approx(10.0)
    assert advice.agents_needed == 14
    assert advice.service_level_expected == pytest.approx(0.8884, abs=5e-5)
    assert advice.average_speed_of_answer_seconds == pytest.approx(7.84, abs=5e-3)
    assert (advice.agents_available, advice.shortfall) == (11, 3)


def test_edges_no_traffic_overload_and_large_centres() -> None:
    idle = advise(
        arrivals_per_hour=0,
        handle_seconds=300,
        threshold_seconds=20,
        target=0.8,
        agents_available=2,
    )
    assert (idle.agents_needed, idle.shortfall, idle.service_level_expected) == (0, 0, 1.0)
    assert erlang_c(5, 5.0) == 1.0 and erlang_c(4, 7.5) == 1.0  # the queue grows without end
    assert service_level(5, 5.0, handle_seconds=60, threshold_seconds=20) == 0.0
    assert math.isinf(average_speed_of_answer(5, 5.0, handle_seconds=60))
    # 500 Erlangs: A^N / N! overflows a float; the Erlang B recursion does not.
    big = advise(
        arrivals_per_hour=6000,
        handle_seconds=300,
        threshold_seconds=20,
        target=0.8,
        agents_available=0,
    )
    assert big.agents_needed > 500 and 0.8 <= big.service_level_expected < 1
    with pytest.raises(ValueError, match="target"):
        advise(
            arrivals_per_hour=1,
            handle_seconds=60,
            threshold_seconds=20,
            target=1.0,
            agents_available=0,
        )


# --- the intraday figures ----------------------------------------------------------------------


@pytest.fixture
def extra_settings() -> dict[str, str]:
    return {"SERVICE_LEVEL_SECONDS": "20", "SERVICE_LEVEL_TARGET": "0.8"}


async def test_intraday_shows_the_agents_needed_beside_those_available(
    client: httpx.AsyncClient, clocked: Container, clock: ManualClock
) -> None:
    """In the hour before now q-general had 12 arrivals (one more came earlier and is outside
    the window); two were handled in 300 s each. 12 an hour x 300 s = 1 Erlang; with 2 agents
    1 - (1/3) e^(-20/300) = 68.8 % are answered within 20 s, with 3 agents 92.0 %: 3 needed."""
    store, now = clocked.store, clock.now()
    await arrival(clocked, "q-general", now - timedelta(minutes=90))
    arrivals = [
        await arrival(clocked, "q-general", now - timedelta(minutes=5 * n)) for n in range(1, 13)
    ]
    for item, agent in zip(arrivals[-2:], ("alice", "bob"), strict=True):
        await store.assign(item.id, agent, item.enqueued_at + timedelta(seconds=10))
        await store.close_work_item(item.id, item.enqueued_at + timedelta(seconds=310))
    await clocked.figures.aggregate()

    response = await client.get(
        "/api/supervisor/intraday", headers=bearer(clocked, "sue", Role.SUPERVISOR)
    )
    intraday = response.json()
    assert (intraday["service_level_target"], intraday["staffing_window_minutes"]) == (0.8, 60)
    queues = {q["key"]: q for q in intraday["queues"]}
    available = sum(m.presence == Presence.AVAILABLE for m in await store.queue_agents("q-general"))
    staffing = queues["q-general"]["staffing"]
    assert staffing["arrivals_per_hour"] == pytest.approx(12)
    assert staffing["average_handle_seconds"] == pytest.approx(300)
    assert staffing["traffic_erlangs"] == pytest.approx(1.0)
    assert staffing["agents_needed"] == 3
    assert staffing["service_level_expected"] == pytest.approx(0.920, abs=1e-3)
    assert staffing["agents_available"] == queues["q-general"]["agents_available"] == available
    assert staffing["shortfall"] == max(3 - available, 0)
    # No work handled in q-billing today: no handle time to staff by.
    assert queues["q-billing"]["staffing"] is None
