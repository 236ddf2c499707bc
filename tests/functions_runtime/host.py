"""The Functions host's side of the worker protocol, played against the real Python execution
runtime (`azure_functions_runtime`, the package Azure runs Python 3.13 apps with).

In Azure the host talks gRPC to its proxy worker, which hands every StreamingMessage to the
runtime in-process: `worker_init_request`, `functions_metadata_request`,
`function_load_request`, `invocation_request`, each given a request object whose `request` is
the StreamingMessage (and, at init, whose `properties` carry the protocol classes and the host
address). FunctionsHost does what the host and the proxy worker do together, in that order, and
every message crosses as bytes both ways, as over gRPC. What it sends is shaped as the host
shapes it: see README.md beside this file.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import azure_functions_runtime as runtime
import httpx

from shared.adapters.local_bus import LeasedMessage, LocalMessageBus
from shared.adapters.service_bus import build_message
from shared.bus_messages import LOCK_DURATION
from shared.telemetry import TRACE_PROPERTIES

APP_DIRECTORY = Path(__file__).resolve().parents[2]
SCRIPT_MODULE = "function_app"
HOST_ADDRESS = "127.0.0.1"
# What the host tells the worker it supports (the worker answers with its own).
HOST_CAPABILITIES = {"FunctionDataCache": "false"}


@dataclass
class WorkerRequest:
    """What the proxy worker passes each runtime entry point."""

    name: str
    request: Any
    properties: dict[str, Any] | None = None


@dataclass(frozen=True)
class Binding:
    """One binding of an indexed function, from its raw binding JSON."""

    name: str
    type: str
    direction: str
    raw: Mapping[str, Any]


@dataclass(frozen=True)
class LoadedFunction:
    metadata: Any  # RpcFunctionMetadata
    bindings: tuple[Binding, ...]

    @property
    def name(self) -> str:
        return str(self.metadata.name)

    @property
    def trigger(self) -> Binding:
        (trigger,) = (b for b in self.bindings if b.type.endswith("Trigger"))
        return trigger


class InvocationFailed(AssertionError):
    """A queue message whose invocation the runtime reported as failed, where none may fail."""


@dataclass
class FunctionsHost:
    protos: Any
    init_response: Any = None
    functions: dict[str, LoadedFunction] = field(default_factory=dict)
    invoked: list[tuple[str, bool]] = field(default_factory=list)
    """Every invocation so far: the function's name and whether it succeeded."""
    _app_module: ModuleType | None = None

    # --- the worker's life: init, indexing, load ---------------------------------------------

    async def start(self) -> None:
        """Start a worker on the app, as the host does for a new worker process: init (which
        indexes function_app.py), the functions' metadata, then a load request for each."""
        runtime.start_threadpool_executor()
        init = self.protos.WorkerInitRequest(
            host_version="4.1000.0",
            capabilities=HOST_CAPABILITIES,
            worker_directory=str(Path(runtime.__file__).parent),
            function_app_directory=str(APP_DIRECTORY),
        )
        # A worker process imports function_app.py afresh (an app object is indexed once);
        # the rest of this process keeps the module it had.
        displaced = sys.modules.pop(SCRIPT_MODULE, None)
        try:
            self.init_response = await self._exchange(
                runtime.worker_init_request,
                "WorkerInitRequest",
                {"worker_init_request": init},
                "worker_init_response",
                properties={"protos": self.protos, "host": HOST_ADDRESS},
            )
        finally:
            self._app_module = sys.modules.pop(SCRIPT_MODULE, None)
            if displaced is not None:
                sys.modules[SCRIPT_MODULE] = displaced
        self._expect_success(self.init_response.result, "worker init")
        metadata = await self._exchange(
            runtime.functions_metadata_request,
            "WorkerMetadataRequest",
            {
                "functions_metadata_request": self.protos.FunctionsMetadataRequest(
                    function_app_directory=str(APP_DIRECTORY)
                )
            },
            "function_metadata_response",
        )
        self._expect_success(metadata.result, "function metadata")
        assert not metadata.use_default_metadata_indexing, "the worker indexes the app itself"
        for function in metadata.function_metadata_results:
            loaded = await self._exchange(
                runtime.function_load_request,
                "FunctionLoadRequest",
                {
                    "function_load_request": self.protos.FunctionLoadRequest(
                        function_id=function.function_id, metadata=function
                    )
                },
                "function_load_response",
            )
            self._expect_success(loaded.result, f"loading {function.name}")
            bindings = tuple(
                Binding(raw["name"], raw["type"], raw["direction"], raw)
                for raw in map(json.loads, function.raw_bindings)
            )
            self.functions[function.name] = LoadedFunction(function, bindings)

    async def stop(self) -> None:
        """End the worker: the ASGI app hears its lifespan shutdown on this event loop (not
        from the app object's finalizer)."""
        app = getattr(self._app_module, "app", None)
        if app is not None and app.startup_task_done:
            await app.middleware.notify_shutdown()
            app.startup_task_done = False
        runtime.stop_threadpool_executor()

    def capability(self, name: str) -> str | None:
        """A capability the worker declared at init."""
        value = self.init_response.capabilities.get(name)
        return None if value is None else str(value)

    # --- invocations -------------------------------------------------------------------------

    async def invoke(
        self,
        function: LoadedFunction,
        data: Any,
        trigger_metadata: Mapping[str, Any],
        *,
        traceparent: str = "",
    ) -> Any:
        """One InvocationRequest for `function` with `data` (TypedData) for its trigger; the
        InvocationResponse."""
        invocation_id = str(uuid.uuid4())
        request = self.protos.InvocationRequest(
            invocation_id=invocation_id,
            function_id=function.metadata.function_id,
            input_data=[self.protos.ParameterBinding(name=function.trigger.name, data=data)],
            trigger_metadata={
                **trigger_metadata,
                "sys": self._value(
                    {
                        "MethodName": function.name,
                        "UtcNow": datetime.now(UTC),
                        "RandGuid": str(uuid.uuid4()),
                    }
                ),
            },
            trace_context=self.protos.RpcTraceContext(trace_parent=traceparent),
            retry_context=self.protos.RetryContext(),
        )
        response = await self._exchange(
            runtime.invocation_request,
            "FunctionInvocationRequest",
            {"invocation_request": request},
            "invocation_response",
        )
        assert response.invocation_id == invocation_id
        self.invoked.append((function.name, self.succeeded(response)))
        return response

    def succeeded(self, response: Any) -> bool:
        return bool(response.result.status == self.protos.StatusResult.Success)

    def by_trigger(self, trigger_type: str) -> list[LoadedFunction]:
        return [f for f in self.functions.values() if f.trigger.type == trigger_type]

    def queue_function(self, queue_name: str) -> LoadedFunction:
        (function,) = (
            f
            for f in self.by_trigger("serviceBusTrigger")
            if f.trigger.raw["queueName"] == queue_name
        )
        return function

    # HTTP: a request as the host's HTTP trigger hands it over; its response as the host sends it.

    def transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport whose every request goes through the runtime's HTTP path."""
        return _RuntimeTransport(self)

    async def http(self, request: httpx.Request) -> httpx.Response:
        (function,) = self.by_trigger("httpTrigger")
        url = urlsplit(str(request.url))
        route = url.path.lstrip("/")  # {*route}, the route template's one parameter
        # The host's RpcHttp: lower-cased header names, the query's non-empty values, the route
        # parameters; the body (when there is one) as bytes, since the worker asks for
        # RawHttpBodyBytes, and only once, since it declares RpcHttpBodyOnly.
        assert self.capability("RawHttpBodyBytes") == "true"
        assert self.capability("RpcHttpBodyOnly") == "true"
        http = self.protos.RpcHttp(
            method=request.method,
            url=str(request.url),
            headers={name.lower(): value for name, value in request.headers.items()},
            params={"route": route},
            query={k: v for k, v in httpx.QueryParams(url.query).items() if v},
        )
        body = await request.aread()
        if body:
            http.body.CopyFrom(self.protos.TypedData(bytes=body))
        # RpcHttpTriggerMetadataRemoved: the request is not repeated in the trigger metadata.
        assert self.capability("RpcHttpTriggerMetadataRemoved") == "true"
        response = await self.invoke(
            function, self.protos.TypedData(http=http), {"route": self._value(route)}
        )
        if not self.succeeded(response):
            # The host answers 500 for a failed HTTP invocation.
            return httpx.Response(500, text=response.result.exception.message, request=request)
        returned = response.return_value.http
        content = getattr(returned.body, returned.body.WhichOneof("data") or "bytes", b"")
        return httpx.Response(
            int(returned.status_code),
            headers=dict(returned.headers),
            content=content.encode() if isinstance(content, str) else content,
            request=request,
        )

    # Service Bus: a delivery of a queue message as the host's Service Bus trigger passes it.

    async def deliver(self, leased: LeasedMessage) -> Any:
        """Hand `leased` to its queue's trigger through the runtime; the InvocationResponse."""
        function, data, metadata = self.service_bus_input(leased)
        return await self.invoke(function, data, metadata)

    def service_bus_input(
        self, leased: LeasedMessage
    ) -> tuple[LoadedFunction, Any, dict[str, Any]]:
        """The trigger a delivery of `leased` goes to, the message body and the trigger
        metadata, as the host's Service Bus trigger passes them (each value through ToRpc)."""
        function = self.queue_function(leased.queue)
        # The message the app's Service Bus adapter would have sent, as received from the broker.
        sent = build_message(
            leased.queue,
            leased.body,
            session_id=leased.session_id,
            message_id=leased.message_id,
            not_before=None,
            # With the trace context the sender put in its application properties.
            trace_context={
                k: v for k, v in leased.application_properties.items() if k in TRACE_PROPERTIES
            },
        )
        properties = dict(sent.application_properties or {})
        metadata: dict[str, object] = {
            "MessageId": sent.message_id,
            "DeliveryCount": leased.delivery_count,
            "EnqueuedTimeUtc": datetime.fromtimestamp(leased.enqueued_at, UTC),
            "LockedUntil": datetime.now(UTC) + LOCK_DURATION,
            "LockToken": leased.lease_token,
            "SequenceNumber": leased.seq,
            "ContentType": sent.content_type,
            "ApplicationProperties": properties,
            # Also under their former name; the SDK tells one message from a batch by it.
            "UserProperties": properties,
        }
        if sent.session_id is not None:
            metadata["SessionId"] = sent.session_id
        # No dataType on the trigger: the host binds the body as a string.
        assert "dataType" not in function.trigger.raw
        return (
            function,
            self._value(leased.body),
            {name: self._value(value) for name, value in metadata.items()},
        )

    async def drain(
        self, bus: LocalMessageBus, *, rounds: int = 50, failures_allowed: bool = False
    ) -> int:
        """Deliver every due message through the runtime until the queues are empty, settling
        each as the host does with autoCompleteMessages: complete on success, abandon on
        failure (the broker redelivers, then dead-letters). How many were delivered."""
        delivered = 0
        for _ in range(rounds):
            progressed = False
            for function in self.by_trigger("serviceBusTrigger"):
                leased = await bus.receive(function.trigger.raw["queueName"])
                if leased is None:
                    continue
                response = await self.deliver(leased)
                delivered += 1
                progressed = True
                if self.succeeded(response):
                    await bus.complete(leased)
                    continue
                await bus.abandon(leased, response.result.exception.message)
                if not failures_allowed:
                    raise InvocationFailed(
                        f"{function.name}: {response.result.exception.message}\n"
                        f"{response.result.exception.stack_trace}"
                    )
            if not progressed:
                return delivered
        raise AssertionError("queues did not drain")

    # Timers: an occurrence of a schedule as the host's timer trigger passes it.

    async def fire(self, function: LoadedFunction, *, past_due: bool = False) -> Any:
        now = datetime.now(UTC)
        timer_info = {
            "Schedule": {"AdjustForDST": True},
            "ScheduleStatus": {"Last": now, "Next": now, "LastUpdated": now},
            "IsPastDue": past_due,
        }
        return await self.invoke(function, self._value(timer_info), {})

    # --- the wire ----------------------------------------------------------------------------

    def _value(self, value: object) -> Any:
        """A value as the host's ToRpc puts it in TypedData: bytes, strings and doubles as
        such, anything else (numbers, instants, dictionaries) JSON-serialized."""
        typed = self.protos.TypedData
        if isinstance(value, bytes):
            return typed(bytes=value)
        if isinstance(value, str):
            return typed(string=value)
        if isinstance(value, float):
            return typed(double=value)
        return typed(json=json.dumps(value, default=_json_instant))

    async def _exchange(
        self,
        entry_point: Callable[[WorkerRequest], Awaitable[Any]],
        name: str,
        content: dict[str, Any],
        response_content: str,
        *,
        properties: dict[str, Any] | None = None,
    ) -> Any:
        """One StreamingMessage from the host, parsed off the wire and handed to the runtime
        as the proxy worker hands it; the runtime's answer, wrapped by the proxy worker in a
        StreamingMessage and parsed by the host."""
        sent = self.protos.StreamingMessage(request_id=str(uuid.uuid4()), **content)
        request = self.protos.StreamingMessage.FromString(sent.SerializeToString())
        answer = self.protos.StreamingMessage(
            **{response_content: await entry_point(WorkerRequest(name, request, properties))}
        )
        received = self.protos.StreamingMessage.FromString(answer.SerializeToString())
        return getattr(received, response_content)

    def _expect_success(self, result: Any, what: str) -> None:
        assert result.status == self.protos.StatusResult.Success, (
            f"{what} failed: {result.exception.message}\n{result.exception.stack_trace}"
        )


def _json_instant(value: object) -> str:
    """A UTC instant as the host's JSON serializer writes it: ISO 8601, up to seven fractional
    digits with the trailing zeros dropped, Z."""
    if not isinstance(value, datetime):
        raise TypeError(f"{type(value).__name__} is not JSON serializable")
    whole = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{value.microsecond:06d}0".rstrip("0")
    return f"{whole}.{fraction}Z" if fraction else f"{whole}Z"


class _RuntimeTransport(httpx.AsyncBaseTransport):
    def __init__(self, host: FunctionsHost) -> None:
        self._host = host

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._host.http(request)
