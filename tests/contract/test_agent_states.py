"""What every store adapter must do as a AgentStateStore: presence, capacity in use and presence
spans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.domain.presence import Presence, PresenceSpan, PresenceState
from shared.domain.work import AgentState
from shared.ports import Store
from tests.contract.builders import T0, agent, signed_in, waiting_item


async def test_presence_is_kept_when_the_agent_record_is_edited(store: Store) -> None:
    await agent(store)
    await store.set_presence("a1", Presence.AWAY)
    await agent(store, capacity=5)
    state = await store.agent_state("a1")
    assert state is not None
    assert state.presence == Presence.AWAY


async def test_an_agent_that_never_worked_is_the_most_idle(store: Store) -> None:
    await agent(store, "a1")
    state = await store.agent_state("a1")
    assert state is not None and state.idle_since == datetime(1970, 1, 1, tzinfo=UTC)


async def test_agent_states_list_by_cursor(store: Store) -> None:
    for agent_id in ("a3", "a1", "a2"):
        await agent(store, agent_id, capacity=2)
    waiting = await waiting_item(store, units=2)
    await store.assign(waiting.id, "a2", T0)
    first = await store.list_agent_states(after=None, limit=2)
    rest = await store.list_agent_states(after="a2", limit=2)
    assert [(s.agent.id, s.used_capacity) for s in [*first, *rest]] == [
        ("a1", 0),
        ("a2", 2),
        ("a3", 0),
    ]


async def test_presence_state_and_routing_presence_change_together(store: Store) -> None:
    await agent(store, "a1", capacity=1)
    seen: list[tuple[PresenceState | None, int]] = []

    def sign_in(state: PresenceState | None, live: AgentState) -> PresenceState:
        seen.append((state, live.used_capacity))
        return signed_in(Presence.AWAY)

    change = await store.change_presence("a1", sign_in)
    assert change is not None
    assert (change.before, change.after, change.state) == (
        Presence.AVAILABLE,
        Presence.AWAY,
        signed_in(Presence.AWAY),
    )
    assert seen[-1] == (None, 0)  # never managed before
    state = await store.agent_state("a1")
    assert state is not None and state.presence == Presence.AWAY
    left = await store.change_presence("a1", lambda state, live: None)
    assert left is not None and not left.changed and left.state == signed_in(Presence.AWAY)
    # Editing the agent's record keeps its presence.
    await agent(store, "a1", capacity=2)
    again = await store.agent_state("a1")
    assert again is not None and again.presence == Presence.AWAY


async def test_the_agent_state_says_since_when_its_presence_holds(store: Store) -> None:
    await agent(store, "a1")
    state = await store.agent_state("a1")
    assert state is not None and state.presence_since is None  # never signed in
    since = T0 + timedelta(minutes=3)
    await store.change_presence(
        "a1", lambda state, live: signed_in(Presence.AWAY).model_copy(update={"since": since})
    )
    (listed,) = await store.list_agent_states(after=None, limit=5)
    assert listed.presence_since == since
    assert [s.presence_since for s in await store.queue_agents("q1")] == [since]


async def test_presence_spans_are_kept_per_day_once_each(store: Store) -> None:
    day = T0.date()
    away = PresenceSpan(
        agent_id="a1", presence=Presence.AWAY, started_at=T0, ended_at=T0 + timedelta(hours=1)
    )
    busy = away.model_copy(
        update={"agent_id": "a2", "presence": Presence.BUSY, "custom_presence_id": "calls"}
    )
    for piece in (away, busy, away):  # a retried update stores its span again
        await store.put_presence_span(day, piece)
    assert await store.presence_spans(day) == [away, busy]
    assert await store.presence_spans(day + timedelta(days=1)) == []


async def test_an_unknown_agent_has_no_presence_to_change(store: Store) -> None:
    assert (
        await store.change_presence("ghost", lambda state, live: signed_in(Presence.AWAY)) is None
    )
