"""Presence as stored: the pure rules of shared/domain/presence.py applied atomically to each
agent's stored state, with its live capacity. Routing reads what `refresh` computes.

An agent that never signed in has no presence state: its presence stays what the admin
configured (`Agent.default_presence`), so agents driven only through the API keep working.
From its first sign-in on, the rules own its presence. Callers request routing when a
change may make the agent eligible (AgentWorkService), so this service needs no router.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from shared.domain import presence as rules
from shared.domain.figures import local_day, split_by_day
from shared.domain.presence import (
    CustomPresence,
    Presence,
    PresenceChange,
    PresencePolicy,
    PresenceSettings,
    PresenceState,
    ended_span,
)
from shared.domain.work import AgentState
from shared.errors import BadRequest, NotFound
from shared.ports import AgentStateStore, Clock, RoutingConfigStore, SettingsStore
from shared.services.listing import every

Step = Callable[[PresenceState], PresenceState]
"""One of the rules' transitions (sign in, heartbeat, choose...), before `refresh`."""


class PresencePorts(RoutingConfigStore, AgentStateStore, SettingsStore, Protocol):
    """The store ports this service needs."""


class PresenceService:
    def __init__(self, store: PresencePorts, clock: Clock, *, time_zone: str) -> None:
        self._store = store
        self._clock = clock
        self._zone = ZoneInfo(time_zone)

    async def settings(self) -> PresenceSettings:
        return await self._store.get_presence_settings()

    async def put_settings(self, settings: PresenceSettings) -> PresenceSettings:
        await self._store.put_presence_settings(settings)
        return settings

    async def _apply(self, agent_id: str, step: Step | None) -> PresenceChange:
        """`step` (None: only the rules again) then `refresh`, in one atomic update. Without
        a step, an agent whose presence the rules do not own is left alone."""
        policy = (await self.settings()).policy
        now = self._clock.now()
        # The state the stored update was applied to (the last call: a store may retry).
        applied_to: list[PresenceState | None] = [None]

        def change(state: PresenceState | None, live: AgentState) -> PresenceState | None:
            applied_to[0] = state
            if state is None and step is None:
                return None
            moved = (step or _same)(state or PresenceState())
            refreshed = _refresh(moved, live, policy, now)
            return None if refreshed == state else refreshed

        applied = await self._store.change_presence(agent_id, change)
        if applied is None:
            raise NotFound(f"agent {agent_id} is not configured")
        ended = ended_span(agent_id, applied_to[0], applied.state)
        if ended is not None:
            # After the change, not with it: the span is for figures, and a lost one (a crash
            # in between) costs a stretch of time-in-presence, never a routing decision.
            for piece in split_by_day(ended, self._zone):
                await self._store.put_presence_span(local_day(piece.started_at, self._zone), piece)
        return applied

    async def sign_in(self, agent_id: str) -> PresenceChange:
        now = self._clock.now()
        return await self._apply(agent_id, lambda s: rules.sign_in(s, now))

    async def sign_out(self, agent_id: str) -> PresenceChange:
        return await self._apply(agent_id, rules.sign_out)

    async def heartbeat(self, agent_id: str) -> PresenceChange:
        now = self._clock.now()
        return await self._apply(agent_id, lambda s: rules.heartbeat(s, now))

    async def choose(
        self, agent_id: str, presence: Presence | None, custom_id: str | None
    ) -> PresenceChange:
        """A base state, or a custom presence (its base state is what routing sees)."""
        if (presence is None) == (custom_id is None):
            raise BadRequest("give either a presence or a custom presence id")
        custom: CustomPresence | None = None
        if custom_id is not None:
            custom = (await self.settings()).custom_presence(custom_id)
            if custom is None:
                raise NotFound(f"no custom presence {custom_id!r}")
        base = custom.base if custom is not None else presence
        assert base is not None
        now = self._clock.now()
        return await self._apply(agent_id, lambda s: rules.choose(s, base, now, custom))

    async def follow_capacity(self, agent_id: str) -> PresenceChange | None:
        """After an assignment, a release or a transfer: automatic presence follows capacity."""
        try:
            return await self._apply(agent_id, None)
        except NotFound:
            return None  # deleted meanwhile: nothing to follow

    async def refresh_all(self) -> AsyncIterator[tuple[str, PresenceChange]]:
        """The presence-refresh timer: the rules again for every agent (disconnection grace,
        inactivity, the admin's default), each change as it happens."""
        async for agent in every(self._store.list_agents):
            change = await self.follow_capacity(agent.id)
            if change is not None:
                yield agent.id, change

    async def state(self, agent_id: str) -> PresenceChange:
        """The agent's presence now, as stored (a read: the rules are not applied)."""
        applied = await self._store.change_presence(agent_id, lambda state, live: None)
        if applied is None:
            raise NotFound(f"agent {agent_id} is not configured")
        return applied


def _same(state: PresenceState) -> PresenceState:
    return state


def _refresh(
    state: PresenceState, live: AgentState, policy: PresencePolicy, now: datetime
) -> PresenceState:
    return rules.refresh(
        state,
        now=now,
        used_capacity=live.used_capacity,
        max_capacity=live.agent.max_capacity,
        policy=policy,
    )
