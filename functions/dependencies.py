"""What every HTTP route may ask for: the container and the authenticated caller."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from shared.auth import Principal, Role
from shared.bootstrap import Container
from shared.errors import Forbidden, Unauthorized

ContainerProvider = Callable[[], Awaitable[Container]]


async def container(request: Request) -> Container:
    provider: ContainerProvider = request.app.state.container_provider
    return await provider()


Services = Annotated[Container, Depends(container)]


async def principal(request: Request, services: Services) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("a bearer token is required")
    return services.tokens.verify(token.strip())


def require(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting callers holding any of `roles`."""

    async def check(caller: Annotated[Principal, Depends(principal)]) -> Principal:
        if not caller.roles.intersection(roles):
            raise Forbidden(f"this route needs one of the roles: {', '.join(roles)}")
        return caller

    return check


AgentCaller = Annotated[Principal, Depends(require(Role.AGENT))]
SupervisorCaller = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.ADMIN))]
