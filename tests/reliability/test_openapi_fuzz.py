"""Schemathesis against the app's own OpenAPI document, in process: every operation, with
requests generated from its documented parameters and bodies, sent through the ASGI app wired
as `services` wires it, once with an admin+supervisor token and once with an agent token.
No response may be a 5xx, and every response must be documented: its status, its media type,
its schema and its required headers. (Anonymous callers are the authorization matrix's
business.) Beside it, a walk of the document: every operation declares the problem+json
responses its shape implies, so a route cannot leave them out.

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
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from functions.api import create_api
from functions.problems import PROBLEM_JSON
from shared.bootstrap import Container
from shared.domain.identity import Role
from tests.reliability.soak import examples
from tests.support import PUBLIC_BASE_URL, bearer

CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
    response_headers_conformance,
]
EXAMPLES = examples(5)

# (subject, roles): the agent is a configured one (the demo's alice), so agent routes get past
# "who are you" to their real work.
TOKENS: dict[str, tuple[str, tuple[Role, ...]]] = {
    "admin+supervisor": ("fuzz-admin", (Role.ADMIN, Role.SUPERVISOR)),
    "agent": ("alice", (Role.AGENT,)),
}


def _document() -> dict[str, Any]:
    importlib.import_module("function_app")  # the composition root, as Azure loads it
    return create_api().openapi()


def _schema() -> Any:
    return schemathesis.openapi.from_dict(_document())


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
        # requests sends a field of any value as its text; httpx takes only str and bytes. The
        # multipart body is encoded here, whole: schemathesis reads a request's content back.
        files = [
            (name, (filename, content if isinstance(content, str | bytes) else str(content), *rest))
            for name, (filename, content, *rest) in kwargs["files"]
        ]
        encoded = httpx.Request(
            request["method"], request["url"], files=files, data=request.pop("data", None)
        )
        request["content"] = encoded.read()
        request["headers"]["Content-Type"] = encoded.headers["Content-Type"]
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
            # Collect them all, one run shows every finding (schemathesis raises a
            # BaseExceptionGroup when a case fails several checks).
            except (Exception, FailureGroup) as exc:
                failures.append(f"{operation.label}: {exc}")

    await asyncio.to_thread(fuzz_all)
    assert not failures, "\n\n".join(failures)


PROBLEM_CONTENT = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _problems_of_its_shape(method: str, path: str, operation: dict[str, Any]) -> set[str]:
    """The problems an operation of this shape must declare: those the app's layers answer,
    and 404 where the path names a resource."""
    statuses = {"500"}  # the handler of last resort
    if operation.get("security"):
        statuses |= {"401", "403"}  # the bearer guard
    if operation.get("parameters") or operation.get("requestBody"):
        statuses.add("400")  # request validation
    if method not in ("GET", "HEAD"):
        statuses.add("413")  # the body limit
    if "{" in path and method != "PUT":
        statuses.add("404")  # an identified resource, unless the request creates it
    return statuses


def test_every_operation_declares_its_problem_responses() -> None:
    document = _document()
    operations = [
        (method.upper(), path, operation)
        for path, by_method in document["paths"].items()
        for method, operation in by_method.items()
    ]
    undeclared = {
        f"{method} {path}": sorted(missing)
        for method, path, operation in operations
        if (
            missing := _problems_of_its_shape(method, path, operation) - set(operation["responses"])
        )
    }
    assert undeclared == {}
    not_problems = [
        f"{method} {path} {status}"
        for method, path, operation in operations
        for status, response in operation["responses"].items()
        if status[0] in "45"
        and (
            response.get("content") != PROBLEM_CONTENT
            or (status == "401" and "WWW-Authenticate" not in response.get("headers", {}))
        )
    ]
    assert not_problems == [], "an error response that is not a Problem as problem+json"
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas, "FastAPI's 422, which the app never sends"
    assert {"type", "title", "status", "detail", "instance"} <= set(
        schemas["Problem"]["properties"]
    )
