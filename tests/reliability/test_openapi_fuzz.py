"""Schemathesis against the app's own OpenAPI document, in process: every operation, with
requests generated from its documented parameters and bodies, sent through the ASGI app wired
as `services` wires it, once with an admin+supervisor token and once with an agent token.
No response may be a 5xx, and every documented response must match its documented schema and
media type. (Anonymous callers are the authorization matrix's business.)

Hypothesis runs derandomized, a few examples per operation (SOAK_FACTOR times more in
`make soak`), in a worker thread: each request is handed back to the test's event loop, which
owns the container and its store."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from functions.http_api import create_api
from shared.auth import Role
from shared.bootstrap import Container
from tests.reliability.soak import examples
from tests.support import PUBLIC_BASE_URL, bearer

CHECKS = [
    schemathesis.checks.not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
]
EXAMPLES = examples(5)

# (subject, roles): the agent is a configured one (the demo's alice), so agent routes get past
# "who are you" to their real work.
TOKENS: dict[str, tuple[str, tuple[Role, ...]]] = {
    "admin+supervisor": ("fuzz-admin", (Role.ADMIN, Role.SUPERVISOR)),
    "agent": ("alice", (Role.AGENT,)),
}


def _schema() -> Any:
    importlib.import_module("function_app")  # the composition root, as Azure loads it
    return schemathesis.openapi.from_dict(create_api().openapi())


def _to_httpx(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A serialized case (requests' keyword arguments) as httpx's."""
    request: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "headers": {k: str(v) for k, v in kwargs.get("headers", {}).items()},
        "params": kwargs.get("params") or None,
    }
    if kwargs.get("cookies"):
        request["headers"]["Cookie"] = "; ".join(f"{k}={v}" for k, v in kwargs["cookies"].items())
    if "json" in kwargs:
        request["json"] = kwargs["json"]
    elif isinstance(kwargs.get("data"), dict):
        request["data"] = kwargs["data"]
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        request["content"] = data.encode() if isinstance(data, str) else data
    if kwargs.get("files"):
        request["files"] = kwargs["files"]
    return request


def _fuzz(operation: Any, send: Callable[[Any], httpx.Response]) -> None:
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        response = send(case)
        case.validate_response(response, checks=CHECKS)

    run()


@pytest.mark.parametrize("caller", sorted(TOKENS))
async def test_every_operation_answers_without_5xx_and_as_documented(
    client: httpx.AsyncClient, services: Container, caller: str
) -> None:
    loop = asyncio.get_running_loop()
    subject, roles = TOKENS[caller]
    auth = bearer(services, subject, *roles)

    def send(case: Any) -> httpx.Response:
        request = _to_httpx(case.as_transport_kwargs(base_url=PUBLIC_BASE_URL, headers=auth))
        call = asyncio.run_coroutine_threadsafe(client.request(**request), loop)
        return call.result(timeout=30)

    operations = [result.ok() for result in _schema().get_all_operations()]
    assert len(operations) >= 70, "the walk found the app's operations"
    failures: list[str] = []

    def fuzz_all() -> None:
        for operation in operations:
            try:
                _fuzz(operation, send)
            except Exception as exc:  # collect them all: one run shows every finding
                failures.append(f"{operation.label}: {exc}")

    await asyncio.to_thread(fuzz_all)
    assert not failures, "\n\n".join(failures)
