"""Staffing advice by Erlang C (an M/M/N queue: Poisson arrivals, exponential handle times,
callers who wait rather than leave). Pure functions, no I/O.

`pyworkforce` from PyPI computes the same, but it pulls in OR-Tools, pandas and NumPy (tens of
megabytes for a Function App to load on every cold start) for a formula of a few lines: the
formula lives here instead, checked against published values in tests/api/test_staffing.py.

Erlang C is computed through the Erlang B recursion, B(0) = 1, B(n) = A*B(n-1) / (n + A*B(n-1)),
then C = N*B / (N - A*(1 - B)): stable for hundreds of agents where A^N / N! overflows."""

from __future__ import annotations

import math

from pydantic import Field

from shared.domain.base import Model


def erlang_c(agents: int, traffic: float) -> float:
    """The probability that an arrival waits, with `agents` agents and `traffic` Erlangs
    offered (arrival rate times average handle time). 1 when the agents cannot keep up."""
    if agents < 0 or traffic < 0:
        raise ValueError("agents and traffic are never negative")
    if traffic == 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    blocking = 1.0
    for n in range(1, agents + 1):
        blocking = traffic * blocking / (n + traffic * blocking)
    return agents * blocking / (agents - traffic * (1 - blocking))


def service_level(
    agents: int, traffic: float, *, handle_seconds: float, threshold_seconds: float
) -> float:
    """The share of arrivals answered within `threshold_seconds` of arriving."""
    waits = erlang_c(agents, traffic)
    if waits >= 1.0:
        return 0.0
    return 1.0 - waits * math.exp(-(agents - traffic) * threshold_seconds / handle_seconds)


def average_speed_of_answer(agents: int, traffic: float, *, handle_seconds: float) -> float:
    """The mean wait of all arrivals, answered at once or not (infinite when overloaded)."""
    waits = erlang_c(agents, traffic)
    if agents <= traffic:
        return math.inf
    return waits * handle_seconds / (agents - traffic)


class StaffingAdvice(Model):
    """How many agents a queue needs now to meet the service level, beside those available."""

    arrivals_per_hour: float = Field(description="over the staffing window ending now")
    average_handle_seconds: float
    traffic_erlangs: float = Field(description="arrivals per second times average handle seconds")
    agents_needed: int = Field(description="fewest agents meeting the service-level target")
    service_level_expected: float = Field(description="with agents_needed agents")
    average_speed_of_answer_seconds: float = Field(description="with agents_needed agents")
    agents_available: int
    shortfall: int = Field(description="agents_needed - agents_available, never below 0")


def advise(
    *,
    arrivals_per_hour: float,
    handle_seconds: float,
    threshold_seconds: float,
    target: float,
    agents_available: int,
) -> StaffingAdvice:
    """The fewest agents whose expected service level reaches `target` (a share in (0, 1))."""
    if not 0 < target < 1:
        raise ValueError("the service-level target is a share between 0 and 1")
    if arrivals_per_hour < 0 or handle_seconds <= 0:
        raise ValueError("arrivals are never negative and handle time is positive")
    traffic = arrivals_per_hour / 3600 * handle_seconds
    agents = math.floor(traffic) + 1 if traffic > 0 else 0
    while traffic > 0 and (
        service_level(
            agents, traffic, handle_seconds=handle_seconds, threshold_seconds=threshold_seconds
        )
        < target
    ):
        agents += 1
    return StaffingAdvice(
        arrivals_per_hour=arrivals_per_hour,
        average_handle_seconds=handle_seconds,
        traffic_erlangs=traffic,
        agents_needed=agents,
        service_level_expected=(
            1.0
            if agents == 0
            else service_level(
                agents, traffic, handle_seconds=handle_seconds, threshold_seconds=threshold_seconds
            )
        ),
        average_speed_of_answer_seconds=(
            0.0
            if agents == 0
            else average_speed_of_answer(agents, traffic, handle_seconds=handle_seconds)
        ),
        agents_available=agents_available,
        shortfall=max(agents - agents_available, 0),
    )
