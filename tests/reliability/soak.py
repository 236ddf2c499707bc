"""How hard the reliability suite pushes: `make test` runs each generated test with a few
examples; `make soak` sets SOAK_FACTOR to run many times more (and repeats the crash test)."""

from __future__ import annotations

import os


def factor() -> int:
    """SOAK_FACTOR from the environment, at least 1."""
    return max(1, int(os.environ.get("SOAK_FACTOR", "1") or "1"))


def examples(quick: int) -> int:
    """Examples per generated test: `quick` in `make test`, times SOAK_FACTOR in `make soak`."""
    return quick * factor()
