"""Presence rules: automatic from capacity, manual override, inactivity, disconnection grace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from shared.domain.presence import (
    CustomPresence,
    Presence,
    PresencePolicy,
    PresenceState,
    choose,
    heartbeat,
    refresh,
    sign_in,
    sign_out,
)

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
POLICY = PresencePolicy(inactivity_timeout=timedelta(minutes=10))
TRAINING = CustomPresence(id="training", name="In training", base=Presence.AWAY)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def presence(
    state: PresenceState, seconds: float, *, used: int = 0, policy: PresencePolicy = POLICY
) -> tuple[Presence, str | None]:
    refreshed = refresh(state, now=at(seconds), used_capacity=used, max_capacity=2, policy=policy)
    return refreshed.presence, refreshed.custom_presence_id


ONLINE = sign_in(PresenceState(), T0)


def test_automatic_presence_follows_capacity() -> None:
    assert presence(ONLINE, 1, used=0) == (Presence.AVAILABLE, None)
    assert presence(ONLINE, 1, used=1) == (Presence.AVAILABLE, None)
    assert presence(ONLINE, 1, used=2) == (Presence.BUSY, None)
    assert presence(ONLINE, 2, used=1) == (Presence.AVAILABLE, None)  # freed: back again


def test_never_signed_in_or_signed_out_is_offline() -> None:
    assert presence(PresenceState(), 1) == (Presence.OFFLINE, None)
    chosen = choose(ONLINE, Presence.BUSY_DND, at(1))
    out = sign_out(chosen)
    assert presence(out, 2) == (Presence.OFFLINE, None)
    # Signing in again starts from capacity: the manual choice went with the sign-out.
    assert presence(sign_in(out, at(3)), 4) == (Presence.AVAILABLE, None)


def test_a_manual_choice_overrides_capacity() -> None:
    dnd = choose(ONLINE, Presence.BUSY_DND, at(1))
    assert presence(dnd, 2, used=0) == (Presence.BUSY_DND, None)
    available = choose(ONLINE, Presence.AVAILABLE, at(1))
    assert presence(available, 2, used=2) == (Presence.AVAILABLE, None)


def test_a_custom_presence_routes_as_its_base_state() -> None:
    training = choose(ONLINE, Presence.AVAILABLE, at(1), custom=TRAINING)
    assert presence(training, 2) == (Presence.AWAY, "training")


def test_inactivity_clears_the_manual_choice() -> None:
    dnd = choose(ONLINE, Presence.BUSY_DND, at(0))
    assert presence(dnd, 100) == (Presence.BUSY_DND, None)
    # Silent beyond the timeout (and the grace): the override is gone for good.
    gone = refresh(dnd, now=at(601), used_capacity=0, max_capacity=2, policy=POLICY)
    assert gone.manual is None
    assert presence(heartbeat(gone, at(602)), 603) == (Presence.AVAILABLE, None)


@pytest.mark.parametrize(
    ("default", "expected"),
    [
        (None, Presence.OFFLINE),  # never Available by itself (issue 15)
        (Presence.AWAY, Presence.AWAY),
        (Presence.OFFLINE, Presence.OFFLINE),
    ],
)
def test_disconnection_keeps_presence_for_150_seconds_then_goes_offline_or_the_default(
    default: Presence | None, expected: Presence
) -> None:
    policy = POLICY.model_copy(update={"default_presence": default})
    dnd = choose(ONLINE, Presence.BUSY_DND, at(0))
    assert presence(dnd, 150, policy=policy) == (Presence.BUSY_DND, None)  # within the grace
    assert presence(dnd, 151, policy=policy) == (expected, None)
    # Back within the grace: nothing changed.
    back = heartbeat(dnd, at(140))
    assert presence(back, 200, policy=policy) == (Presence.BUSY_DND, None)


def test_the_default_presence_is_away_or_offline() -> None:
    with pytest.raises(ValueError, match="Away or Offline"):
        PresencePolicy(default_presence=Presence.AVAILABLE)


# --- time in presence ------------------------------------------------------------------


def test_since_moves_only_when_the_presence_changes() -> None:
    def refreshed(state: PresenceState, seconds: float, used: int = 0) -> PresenceState:
        return refresh(state, now=at(seconds), used_capacity=used, max_capacity=2, policy=POLICY)

    online = refreshed(ONLINE, 1)
    assert (online.presence, online.since) == (Presence.AVAILABLE, at(1))
    assert refreshed(online, 5, used=1).since == at(1)  # still available: time runs on
    busy = refreshed(online, 6, used=2)
    assert (busy.presence, busy.since) == (Presence.BUSY, at(6))
    training = refreshed(choose(busy, Presence.AVAILABLE, at(7), custom=TRAINING), 7)
    assert (training.presence, training.since) == (Presence.AWAY, at(7))
    # Another custom presence on the same base state is a change too.
    lunch = CustomPresence(id="lunch", name="Lunch", base=Presence.AWAY)
    assert refreshed(choose(training, Presence.AWAY, at(8), custom=lunch), 8).since == at(8)
    out = refreshed(sign_out(training), 9)
    assert (out.presence, out.since) == (Presence.OFFLINE, at(9))
    assert refreshed(out, 60).since == at(9)


@pytest.mark.parametrize(
    "policy",
    [
        {"disconnect_grace": "P3064W"},  # found by schemathesis: it came back as "P58Y278D"
        {"disconnect_grace": "-PT1S"},
        {"inactivity_timeout": "PT0S"},
        {"inactivity_timeout": "P1DT1S"},
    ],
)
def test_a_presence_policy_duration_is_positive_and_at_most_a_day(policy: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        PresencePolicy.model_validate(policy)
    assert (
        PresencePolicy.model_validate({"disconnect_grace": "P1D"}).model_dump(mode="json")[
            "disconnect_grace"
        ]
        == "P1D"
    )
