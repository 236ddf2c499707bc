"""What every HTTP route may ask for: the container and the authenticated caller."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.bootstrap import Container
from shared.domain.identity import Principal, Role
from shared.errors import Forbidden, Unauthorized

ContainerProvider = Callable[[], Awaitable[Container]]


async def container(request: Request) -> Container:
    provider: ContainerProvider = request.app.state.container_provider
    return await provider()


Services = Annotated[Container, Depends(container)]


# The bearer scheme as OpenAPI declares it. Each guarded operation lists, as this scheme's
# role names (OpenAPI 3.1 allows them for non-OAuth schemes), the roles any one of which admits
# the caller: clients read them, and tests walk them.
bearer_scheme = HTTPBearer(
    scheme_name="bearer",
    bearerFormat="JWT",
    description="Entra ID access token (dev issuer locally); roles from the `roles` claim. "
    "An operation's listed roles: any one of them admits the caller.",
    auto_error=False,
)


async def principal(
    services: Services,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("a bearer token is required")
    return services.tokens.verify(credentials.credentials.strip())


class RequireRoles:
    """A dependency admitting callers holding any of `roles`. A class rather than a closure so
    the roles a route needs can be read back (tests walk every route and check its guard)."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, caller: Annotated[Principal, Depends(principal)]) -> Principal:
        if not caller.roles.intersection(self.roles):
            names = ", ".join(sorted(self.roles))
            raise Forbidden(f"this route needs one of the roles: {names}")
        return caller


def require(*roles: Role) -> Any:
    """The guard as a route dependency (`dependencies=[require(...)]` or in `Annotated`); its
    roles become the operation's security requirement in the OpenAPI document."""
    return Security(RequireRoles(*roles), scopes=sorted(roles))


AgentCaller = Annotated[Principal, require(Role.AGENT)]
SupervisorCaller = Annotated[Principal, require(Role.SUPERVISOR, Role.ADMIN)]


PageSize = Annotated[int, Query(ge=1, le=500, description="the most items one page holds")]
"""`limit` of every paginated listing; `cursor` is the last page's `next_cursor`."""
