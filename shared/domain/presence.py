"""Pure presence rules: what an agent's presence is, from its choice, its heartbeats and its
capacity. No I/O; a presence-refresh timer and the agent API apply these to stored state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pydantic import Field, model_validator

from shared.domain.base import Model


class Presence(StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"
    BUSY_DND = "busy_dnd"
    AWAY = "away"
    OFFLINE = "offline"


DISCONNECT_GRACE = timedelta(seconds=150)


class CustomPresence(Model):
    """A presence an admin defines on one of the base states, e.g. "In training" on Away.
    Routing sees only its base state."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    base: Presence


# The longest either policy duration may be. Longer is no policy at all (an agent would keep a
# stale presence for years), and beyond a year ISO 8601 durations come out in years and days
# (`P58Y278D`), which RFC 3339's duration grammar, the document's `format: duration`, refuses.
MAX_POLICY_DURATION = timedelta(days=1)


class PresencePolicy(Model):
    inactivity_timeout: timedelta = Field(
        default=timedelta(minutes=30),
        gt=timedelta(0),
        le=MAX_POLICY_DURATION,
        description="no heartbeat this long clears a manual choice (at most a day)",
    )
    disconnect_grace: timedelta = Field(
        default=DISCONNECT_GRACE,
        ge=timedelta(0),
        le=MAX_POLICY_DURATION,
        description="silence tolerated before an agent counts as disconnected (at most a day)",
    )
    default_presence: Presence | None = Field(
        default=None, description="the admin's presence for disconnected agents: Away or Offline"
    )

    @model_validator(mode="after")
    def _default_is_away_or_offline(self) -> PresencePolicy:
        if self.default_presence not in (None, Presence.AWAY, Presence.OFFLINE):
            raise ValueError("the default presence is Away or Offline")
        return self


class PresenceState(Model):
    """An agent's presence as stored: the manual choice if any, the last heartbeat, and the
    presence the rules last computed (what routing reads)."""

    presence: Presence = Presence.OFFLINE
    custom_presence_id: str | None = None
    manual: Presence | None = None
    manual_custom_id: str | None = None
    last_heartbeat_at: datetime | None = None
    signed_in: bool = False
    since: datetime | None = Field(
        default=None, description="when the computed presence (or custom presence) began"
    )


def automatic(used_capacity: int, max_capacity: int) -> Presence:
    """With no manual choice, presence follows capacity."""
    return Presence.AVAILABLE if used_capacity < max_capacity else Presence.BUSY


def sign_in(state: PresenceState, now: datetime) -> PresenceState:
    return state.model_copy(update={"signed_in": True, "last_heartbeat_at": now})


def sign_out(state: PresenceState) -> PresenceState:
    """Logging out clears the manual choice: the next sign-in starts from capacity."""
    return PresenceState(last_heartbeat_at=state.last_heartbeat_at)


def heartbeat(state: PresenceState, now: datetime) -> PresenceState:
    return state.model_copy(update={"last_heartbeat_at": now, "signed_in": True})


def choose(
    state: PresenceState, presence: Presence, now: datetime, custom: CustomPresence | None = None
) -> PresenceState:
    """A manual choice (a base state, or a custom presence on one): it overrides automatic
    presence until sign-out or inactivity. Choosing counts as a sign of life."""
    base = custom.base if custom is not None else presence
    return heartbeat(state, now).model_copy(
        update={"manual": base, "manual_custom_id": custom.id if custom else None}
    )


def refresh(
    state: PresenceState,
    *,
    now: datetime,
    used_capacity: int,
    max_capacity: int,
    policy: PresencePolicy,
) -> PresenceState:
    """The presence the rules give now:
    - signed out, or never seen: Offline;
    - silent longer than the inactivity timeout: the manual choice is cleared;
    - silent longer than the disconnection grace (150 s): the admin's default presence if
      set, else Offline (never Available by itself: a disconnected agent gets no new work);
      within the grace nothing changes because of the silence, so an agent who comes back in
      time keeps the presence it had;
    - otherwise the manual choice if any, else from capacity.
    `since` moves to `now` whenever the presence (or the custom presence) changes.
    """
    computed = _computed(state, now, used_capacity, max_capacity, policy)
    unchanged = (computed.presence, computed.custom_presence_id) == (
        state.presence,
        state.custom_presence_id,
    )
    if unchanged and computed.since is not None:
        return computed
    return computed.model_copy(update={"since": now})


def _computed(
    state: PresenceState,
    now: datetime,
    used_capacity: int,
    max_capacity: int,
    policy: PresencePolicy,
) -> PresenceState:
    if not state.signed_in or state.last_heartbeat_at is None:
        return state.model_copy(update={"presence": Presence.OFFLINE, "custom_presence_id": None})
    silent = now - state.last_heartbeat_at
    if state.manual is not None and silent > policy.inactivity_timeout:
        state = state.model_copy(update={"manual": None, "manual_custom_id": None})
    if silent > policy.disconnect_grace:
        presence = policy.default_presence or Presence.OFFLINE
        return state.model_copy(update={"presence": presence, "custom_presence_id": None})
    if state.manual is not None:
        return state.model_copy(
            update={"presence": state.manual, "custom_presence_id": state.manual_custom_id}
        )
    presence = automatic(used_capacity, max_capacity)
    return state.model_copy(update={"presence": presence, "custom_presence_id": None})


# --- stored presence configuration and changes ---------------------------------------


class PresenceSettings(Model):
    """The admin's presence configuration: the policy and the custom presences, one record."""

    policy: PresencePolicy = PresencePolicy()
    custom: tuple[CustomPresence, ...] = ()

    @model_validator(mode="after")
    def _unique_custom_ids(self) -> PresenceSettings:
        ids = [c.id for c in self.custom]
        if len(ids) != len(set(ids)):
            raise ValueError("custom presence ids are unique")
        return self

    def custom_presence(self, custom_id: str) -> CustomPresence | None:
        return next((c for c in self.custom if c.id == custom_id), None)


class PresenceSpan(Model):
    """A stretch of time an agent spent in one presence, for its time per presence: stored
    when the stretch ends, one piece per local day it covers (see figures.split_by_day)."""

    agent_id: str
    presence: Presence
    custom_presence_id: str | None = None
    started_at: datetime
    ended_at: datetime

    @property
    def id(self) -> str:
        """The same stretch stored twice (a retried update) is one record."""
        return f"{self.agent_id}:{self.started_at.isoformat()}"

    @property
    def seconds(self) -> float:
        # In UTC: Python subtracts two times of one zone as wall-clock times.
        elapsed = self.ended_at.astimezone(UTC) - self.started_at.astimezone(UTC)
        return max(elapsed.total_seconds(), 0.0)


def ended_span(
    agent_id: str, before: PresenceState | None, after: PresenceState | None
) -> PresenceSpan | None:
    """The stretch an update ended: `before`'s, when the rules moved `since` (a new presence
    began). None when the presence went on, or was never managed."""
    if before is None or before.since is None or after is None or after.since is None:
        return None
    if after.since == before.since:
        return None
    return PresenceSpan(
        agent_id=agent_id,
        presence=before.presence,
        custom_presence_id=before.custom_presence_id,
        started_at=before.since,
        ended_at=after.since,
    )


class PresenceChange(Model):
    """What one atomic presence update did: the presence routing read before and after, and
    the stored state after (None: the agent's presence is not managed by sign-in yet)."""

    before: Presence
    after: Presence
    state: PresenceState | None

    @property
    def changed(self) -> bool:
        return self.before != self.after
