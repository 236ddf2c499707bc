"""Every error leaves as application/problem+json (RFC 9457) with the right status code."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from shared.errors import ServiceError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
SCHEMAS_REF = "#/components/schemas/"
CHALLENGE = {"WWW-Authenticate": "Bearer"}


class FieldError(BaseModel):
    """One way the request does not match its schema."""

    loc: list[str] = Field(description="where: the request part (body, query...), then keys")
    msg: str


class Problem(BaseModel):
    """Problem details (RFC 9457), as every error response carries them."""

    type: str = Field(default="about:blank", description="the problem type's URI")
    title: str = Field(description="the problem type, for people")
    status: int = Field(description="the HTTP status code")
    detail: str = Field(description="this occurrence, for people")
    instance: str | None = Field(default=None, description="this occurrence's URI")
    errors: list[FieldError] | None = Field(
        default=None, description="a 400 for a request not matching its schema: each mismatch"
    )
    existing_id: str | None = Field(
        default=None, description="a 409 about a duplicate: the id of the record that exists"
    )


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    errors: list[FieldError] | None = None,
    extensions: dict[str, str] | None = None,
) -> JSONResponse:
    body = Problem(
        title=title or HTTPStatus(status).phrase, status=status, detail=detail, errors=errors
    )
    return JSONResponse(
        {**(extensions or {}), **body.model_dump(exclude_none=True)},
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=CHALLENGE if status == 401 else None,
    )


# The usual reason for each status; a route may give its own (problem_responses).
_REASONS = {
    400: "The request does not match its schema, or a value in it is refused",
    401: "No valid token",
    403: "The caller may not do this",
    404: "No such resource, or none the caller may see",
    409: "The resource's state does not allow this now",
    413: "The request body is larger than the limit",
    415: "A content type this route does not take",
    422: "Well-formed, but asks for what this system cannot do",
    500: "An unexpected error; it has been logged",
}


def problem_response(status: int, reason: str | None = None) -> dict[str, Any]:
    """One OpenAPI response: a Problem as problem+json (401s with their challenge header)."""
    response: dict[str, Any] = {
        "description": reason or _REASONS.get(status) or HTTPStatus(status).phrase,
        "content": {PROBLEM_JSON: {"schema": {"$ref": SCHEMAS_REF + Problem.__name__}}},
    }
    if status == 401:
        response["headers"] = {
            name: {"required": True, "schema": {"type": "string", "const": value}}
            for name, value in CHALLENGE.items()
        }
    return response


def problem_responses(*statuses: int | tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=`: the problems it answers with besides those its shape implies
    (functions.openapi adds those). A status alone has its usual reason; (status, reason)
    gives the route's own."""
    given = [(s, None) if isinstance(s, int) else s for s in statuses]
    return {status: problem_response(status, reason) for status, reason in given}


def install_problem_handlers(api: FastAPI) -> None:
    @api.exception_handler(ServiceError)
    async def service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return problem(exc.status, exc.detail, title=exc.title, extensions=exc.extensions)

    @api.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            FieldError(loc=[str(part) for part in e.get("loc", ())], msg=str(e.get("msg", "")))
            for e in exc.errors()
        ]
        # The first mismatches in the detail too: a client showing only the detail still
        # says what to fix (an unknown placeholder, a field out of range).
        said = "; ".join(f"{'.'.join(e.loc)}: {e.msg}" for e in errors[:3])
        return problem(400, f"the request does not match its schema: {said}", errors=errors)

    @api.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail))

    @api.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return problem(500, "an unexpected error occurred; it has been logged")


# An agent's action on a conversation: 404 when it is not the caller's to act on (as if it
# did not exist), 409 when its state does not allow the action or changed meanwhile.
WORK_ACTION_PROBLEMS = problem_responses(404, 409)
