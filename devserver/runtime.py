"""The local runtime: the Functions app's own HTTP, queue and timer functions on one machine.

Everything it runs is found in the app's function metadata (`app.get_functions()`): the ASGI
application behind the HTTP function, each queue trigger's queue name, each timer's NCRONTAB
schedule. Queue names and schedules are declared once, on the functions themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import inspect
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import azure.functions as func
from azure.functions.servicebus import ServiceBusMessage
from azure.functions.timer import TimerRequest
from croniter import croniter

from shared.adapters.local_bus import LeasedMessage, LocalMessageBus
from shared.adapters.service_bus import CONTENT_TYPE
from shared.adapters.sqlite.database import recoverable_commits

log = logging.getLogger("devserver")

Handler = Callable[..., Any]
IDLE_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class QueueFunction:
    name: str
    queue_name: str
    sessions: bool
    arg_name: str
    handler: Handler


@dataclass(frozen=True)
class TimerFunction:
    name: str
    schedule: str
    run_on_startup: bool
    arg_name: str
    handler: Handler


@dataclass(frozen=True)
class FunctionCatalog:
    queue_functions: tuple[QueueFunction, ...]
    timer_functions: tuple[TimerFunction, ...]


def discover(app: func.FunctionApp) -> FunctionCatalog:
    """Read the trigger functions from the app's metadata. Call once per app object."""
    queues: list[QueueFunction] = []
    timers: list[TimerFunction] = []
    for function in app.get_functions():
        for raw in function.get_raw_bindings():
            binding = json.loads(raw)
            if binding.get("direction") != "IN":
                continue
            if binding["type"] == "serviceBusTrigger":
                queues.append(
                    QueueFunction(
                        name=str(function.get_function_name()),
                        queue_name=binding["queueName"],
                        sessions=bool(binding.get("isSessionsEnabled", False)),
                        arg_name=binding["name"],
                        handler=function.get_user_function(),
                    )
                )
            elif binding["type"] == "timerTrigger":
                timers.append(
                    TimerFunction(
                        name=str(function.get_function_name()),
                        schedule=binding["schedule"],
                        run_on_startup=bool(binding.get("runOnStartup", False)),
                        arg_name=binding["name"],
                        handler=function.get_user_function(),
                    )
                )
    return FunctionCatalog(tuple(queues), tuple(timers))


async def _invoke(handler: Handler, arg_name: str, argument: object) -> None:
    result = handler(**{arg_name: argument})
    if inspect.isawaitable(result):
        await result


def as_service_bus_message(leased: LeasedMessage) -> ServiceBusMessage:
    """The binding object the Functions host would hand the trigger for this delivery, with
    the application properties it was sent with (its body's type, its sender's trace context)
    as Service Bus keeps them (tests/functions_runtime checks it against what Azure's runtime
    decodes)."""
    properties = leased.application_properties
    return ServiceBusMessage(
        body=leased.body.encode("utf-8"),
        message_id=leased.message_id,
        session_id=leased.session_id,
        delivery_count=leased.delivery_count,
        enqueued_time_utc=datetime.fromtimestamp(leased.enqueued_at, UTC),
        content_type=CONTENT_TYPE,
        lock_token=leased.lease_token,
        sequence_number=leased.seq,
        application_properties=dict(properties),
        user_properties=dict(properties),
    )


async def consume(function: QueueFunction, queue: LocalMessageBus) -> None:
    """Run one consumer of a queue until cancelled. Complete on return, abandon on error; a
    message in flight when cancelled stays leased and is released at the next start.

    Its commits need not wait for the disk (`recoverable_commits`): a delivery whose writes a
    power loss dropped was not completed either, so it is delivered again."""
    with recoverable_commits():
        await _consume(function, queue)


async def _consume(function: QueueFunction, queue: LocalMessageBus) -> None:
    while True:
        leased = await queue.receive(function.queue_name)
        if leased is None:
            await queue.wait_for_message(function.queue_name, IDLE_POLL_SECONDS)
            continue
        try:
            await _invoke(function.handler, function.arg_name, as_service_bus_message(leased))
        except Exception as exc:
            log.exception("%s failed on message %s", function.name, leased.message_id)
            await queue.abandon(leased, f"{type(exc).__name__}: {exc}")
        else:
            await queue.complete(leased)


async def run_timer(function: TimerFunction) -> None:
    """Call the timer function on its NCRONTAB schedule (six fields, seconds first). Its
    commits need not wait for the disk: each timer redoes what an earlier run left undone."""
    with recoverable_commits():
        await _run_timer(function)


async def _run_timer(function: TimerFunction) -> None:
    if function.run_on_startup:
        await _fire(function, past_due=False)
    schedule = croniter(function.schedule, datetime.now(UTC), second_at_beginning=True)
    while True:
        due = schedule.get_next(float)
        await asyncio.sleep(max(0.0, due - time.time()))
        await _fire(function, past_due=time.time() - due > 1.0)


async def _fire(function: TimerFunction, *, past_due: bool) -> None:
    try:
        await _invoke(function.handler, function.arg_name, TimerRequest(past_due=past_due))
    except Exception:
        log.exception("timer %s failed", function.name)


def start_workers(
    catalog: FunctionCatalog, queue: LocalMessageBus, consumers_per_queue: int
) -> list[asyncio.Task[None]]:
    tasks = [
        asyncio.create_task(consume(function, queue), name=f"{function.name}-{n}")
        for function in catalog.queue_functions
        for n in range(consumers_per_queue)
    ]
    tasks += [
        asyncio.create_task(run_timer(function), name=function.name)
        for function in catalog.timer_functions
    ]
    return tasks


async def stop_workers(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@contextlib.contextmanager
def exclusive_data_dir(data_dir: Path) -> Iterator[None]:
    """Hold a lock on the data folder: one runtime per folder, so at start-up every leased
    queue message is known to belong to a runtime that died, and can be released."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "runtime.lock").open("w") as lock_file:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise SystemExit(f"another local runtime is using {data_dir}") from exc
        yield
