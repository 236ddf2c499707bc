"""The OpenAPI document as the app answers: FastAPI's, with each operation's problem+json
responses. Those an operation's shape implies are added here, so no route can forget them; a
route declares the rest itself (functions.problems.problem_responses)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from functions.body_limit import UNREAD_BODY_METHODS
from functions.problems import SCHEMAS_REF, Problem, problem_response

# FastAPI's response for a request failing validation: a 422 the app never sends.
_FASTAPI_422 = {
    "description": "Validation Error",
    "content": {"application/json": {"schema": {"$ref": SCHEMAS_REF + "HTTPValidationError"}}},
}
_FASTAPI_422_SCHEMAS = ("HTTPValidationError", "ValidationError")


def _implied_statuses(method: str, operation: dict[str, Any]) -> list[int]:
    """500 anywhere; 400 where FastAPI validates the request (the rule it adds its 422 by: the
    app answers 400); 401 and 403 where a role guards it; 413 where BodyLimit bounds the body."""
    statuses = [500]
    if operation.get("parameters") or operation.get("requestBody"):
        statuses.append(400)
    if operation.get("security"):
        statuses += [401, 403]
    if method.upper() not in UNREAD_BODY_METHODS:
        statuses.append(413)
    return statuses


def _add_problems(document: dict[str, Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_422_SCHEMAS:
        schemas.pop(name, None)
    problem_schema = Problem.model_json_schema(ref_template=SCHEMAS_REF + "{model}")
    schemas.update(problem_schema.pop("$defs", {}))
    schemas[Problem.__name__] = problem_schema
    for operations in document.get("paths", {}).values():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            if responses.get("422") == _FASTAPI_422:
                del responses["422"]
            for status in _implied_statuses(method, operation):
                responses.setdefault(str(status), problem_response(status))
            operation["responses"] = dict(sorted(responses.items()))


def document_problems(api: FastAPI) -> None:
    """Serve (and cache) FastAPI's document with the problem responses added."""
    generate = api.openapi

    def openapi() -> dict[str, Any]:
        fresh = api.openapi_schema is None
        document = generate()  # cached on the app once generated
        if fresh:
            _add_problems(document)
        return document

    api.openapi = openapi  # type: ignore[method-assign]
