"""Admin routes, one module per resource: channels, campaigns, routing configuration, settings.

Most admin resources are the same four routes over a service (list by cursor, read, replace,
delete): `resource_routes` declares them once. No `from __future__ import annotations` here:
FastAPI reads the routes' annotations, built from each resource's own types, at run time.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, cast

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel

from functions.dependencies import PageSize, Services, require
from functions.problems import problem_responses
from shared.bootstrap import Container
from shared.domain.identity import Role
from shared.errors import BadRequest
from shared.services.listing import Page

Problem = int | tuple[int, str]


def admin_router(*tags: str) -> APIRouter:
    """A router for admin routes: under /api/admin, and for the admin role only."""
    return APIRouter(prefix="/api/admin", tags=["admin", *tags], dependencies=[require(Role.ADMIN)])


@dataclass(frozen=True)
class Resource[Body: BaseModel, View: BaseModel]:
    """An admin resource at /api/admin/{plural}/{{name}_id}: what a PUT takes (`body`), what
    every route answers (`view`), and the service calls behind them, each given the request's
    container. What GET answers, PUT takes back unchanged (tests/api/test_admin_round_trip.py)."""

    name: str
    plural: str
    body: type[Body]
    view: type[View]
    list: Callable[[Container], Callable[..., Awaitable[Page[View]]]]
    get: Callable[[Container], Callable[[str], Awaitable[View]]]
    put: Callable[[Container], Callable[[str, Body], Awaitable[View]]]
    delete: Callable[[Container], Callable[[str], Awaitable[None]]]
    put_problems: Sequence[Problem] = ()
    delete_problems: Sequence[Problem] = ()


def resource_routes(router: APIRouter, resource: Resource[Any, Any]) -> None:
    """List (cursor-paginated), GET, PUT and DELETE for one admin resource."""
    collection = f"/{resource.plural}"
    item = f"/{resource.plural}/{{{resource.name}_id}}"
    id_alias = f"{resource.name}_id"
    body_type = resource.body
    # A pydantic generic specialised at run time, for the OpenAPI document.
    page_type = cast(Any, Page)[resource.view]

    @router.get(collection, response_model=page_type, name=f"list_{resource.plural}")
    async def list_records(
        services: Services, cursor: str | None = None, limit: PageSize = 100
    ) -> Any:
        return await resource.list(services)(after=cursor, limit=limit)

    @router.get(
        item,
        response_model=resource.view,
        responses=problem_responses(404),
        name=f"get_{resource.name}",
    )
    async def get_record(
        record_id: Annotated[str, Path(alias=id_alias)], services: Services
    ) -> Any:
        return await resource.get(services)(record_id)

    @router.put(
        item,
        response_model=resource.view,
        responses=problem_responses(
            (400, "Not as the schema says, a value refused, or the body's id not the path's"),
            *resource.put_problems,
        ),
        name=f"put_{resource.name}",
    )
    async def put_record(
        record_id: Annotated[str, Path(alias=id_alias)],
        given: body_type,  # type: ignore[valid-type]
        services: Services,
    ) -> Any:
        body_id = getattr(given, "id", None)
        if body_id is not None and body_id != record_id:
            raise BadRequest(f"the body's id {body_id!r} is not the path's {record_id!r}")
        return await resource.put(services)(record_id, given)

    @router.delete(
        item,
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        responses=problem_responses(404, *resource.delete_problems),
        name=f"delete_{resource.name}",
    )
    async def delete_record(
        record_id: Annotated[str, Path(alias=id_alias)], services: Services
    ) -> Response:
        await resource.delete(services)(record_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)
