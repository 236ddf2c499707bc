"""The store failing mid-flow: whichever store call of the inbound path fails, the queue
message is retried and the end state is whole: one conversation with its message, stored
once, and one work item, waiting or with one agent within capacity.

The fake is at the Store port only (a wrapper around the real SQLite store that raises on its
Nth call); the queue, the trigger functions and the services are the real ones.
"""

from __future__ import annotations

import inspect
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from devserver.runtime import as_service_bus_message
from functions.api import create_api
from shared import bootstrap
from shared.bootstrap import Container, build_container
from tests.support import PUBLIC_BASE_URL, catalog, post_twilio_sms

SENTIMENT_SWITCH_TTL = timedelta(seconds=31)
"""Past the switch's 30 s (shared/services/sentiment.py)."""


class InjectedFailure(RuntimeError):
    pass


class FlakyStore:
    """The real store, failing once on its `fail_at`-th call while armed."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls = 0
        self.fail_at: int | None = None
        self.failed: list[str] = []

    def arm(self, fail_at: int | None) -> None:
        self.calls, self.fail_at, self.failed = 0, fail_at, []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute

        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.calls == self.fail_at:
                self.failed.append(name)
                raise InjectedFailure(f"the store failed in {name}")
            return await attribute(*args, **kwargs)

        return call


class ShiftedClock:
    """Real time plus a shift a test moves forward: past the queue's retry pauses."""

    def __init__(self) -> None:
        self.shift = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.shift

    def __call__(self) -> float:
        return self.now().timestamp()


@pytest.fixture
async def flaky(
    services: Container, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Container, FlakyStore, ShiftedClock]]:
    wrapped: list[FlakyStore] = []
    real_open = bootstrap._open_store

    async def open_flaky(*args: Any) -> Any:
        wrapped.append(FlakyStore(await real_open(*args)))
        return wrapped[0]

    monkeypatch.setattr(bootstrap, "_open_store", open_flaky)
    clock = ShiftedClock()
    container = await build_container(services.settings, clock=clock)
    previous = bootstrap.replace_container(container)
    yield container, wrapped[0], clock
    bootstrap.replace_container(previous)
    await container.close()


async def run_queues(container: Container, clock: ShiftedClock) -> int:
    """As the runtime's consumers do: complete on return, abandon on error; time moves on
    whenever only paused retries are left. Returns how many attempts failed."""
    queue = container.local_bus
    assert queue is not None
    failures = idle = 0
    while idle < 3:
        progressed = False
        for function in catalog().queue_functions:
            leased = await queue.receive(function.queue_name)
            if leased is None:
                continue
            progressed = True
            handler: Callable[..., Awaitable[None]] = function.handler
            try:
                await handler(**{function.arg_name: as_service_bus_message(leased)})
            except InjectedFailure as exc:
                failures += 1
                await queue.abandon(leased, f"{type(exc).__name__}: {exc}")
            else:
                await queue.complete(leased)
        if progressed:
            idle = 0
        else:
            idle += 1
            clock.shift += timedelta(seconds=6)
    for function in catalog().queue_functions:
        assert not await queue.dead_letters(function.queue_name), function.queue_name
    return failures


def state_of(container: Container, sender: str) -> dict[str, Any]:
    with sqlite3.connect(container.settings.sqlite_path) as db:
        conversations = [
            row[0]
            for row in db.execute(
                "SELECT id FROM conversations WHERE customer_address = ?", (sender,)
            )
        ]
        marks = ",".join("?" * len(conversations))
        messages = db.execute(
            f"SELECT provider_message_id FROM messages WHERE conversation_id IN ({marks})",  # noqa: S608
            conversations,
        ).fetchall()
        items = db.execute(
            f"SELECT status, agent_id FROM work_items WHERE conversation_id IN ({marks})",  # noqa: S608
            conversations,
        ).fetchall()
    return {"conversations": len(conversations), "messages": messages, "items": items}


async def test_a_store_failure_at_any_call_of_the_inbound_path_is_retried_to_a_whole_state(
    flaky: tuple[Container, FlakyStore, ShiftedClock],
) -> None:
    container, store, clock = flaky
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_api()), base_url=PUBLIC_BASE_URL
    ) as client:

        async def deliver(sender: str, sid: str, fail_at: int | None) -> tuple[int, list[str]]:
            # Each customer writes after the sentiment switch's cached answer has lapsed, so
            # every delivery makes the same store calls in the same order as the clean one
            # (ingest asks the switch before it opens the conversation).
            clock.shift += SENTIMENT_SWITCH_TTL
            store.arm(None)
            response = await post_twilio_sms(client, sender=sender, text="help", sid=sid)
            assert response.status_code == 200, response.text
            store.arm(fail_at)
            failures = await run_queues(container, clock)
            calls, failed = store.calls, store.failed
            store.arm(None)
            assert failures == len(failed)
            return calls, failed

        clean_calls, _ = await deliver("+14155557000", "SMclean", None)
        assert clean_calls > 5
        failed_in: set[str] = set()
        for n in range(1, clean_calls + 1):
            sender = f"+1415555{7001 + n:04d}"
            calls, failed = await deliver(sender, f"SMfault{n:04d}", n)
            if not failed:
                # Past the last call of this path (later conversations find agents full).
                assert calls < n <= clean_calls, (n, calls)
            assert len(failed) <= 1, (n, failed)
            failed_in.update(failed)
            state = state_of(container, sender)
            assert state["conversations"] == 1, (n, failed, state)
            assert state["messages"] == [(f"twilio:SMfault{n:04d}",)], (n, failed, state)
            ((status, agent),) = state["items"]
            assert status in ("waiting", "offered", "active"), (n, failed, state)
            assert (agent is None) == (status == "waiting"), (n, failed, state)
    assert {"open_conversation", "append_message"} <= failed_in

    # No agent over capacity after all those retries (invariant 1).
    for agent_id in ("alice", "bob", "carol"):
        agent = await container.store.agent_state(agent_id)
        assert agent is not None
        assert agent.used_capacity <= agent.agent.max_capacity, agent_id
