"""Invariant 7, for every route at once: each route of the OpenAPI document is either public
(listed below, with why) or guarded by a role, and a guarded route refuses a missing, expired,
wrong-audience, wrong-signature or wrong-role token with problem+json. Routes are read from the
app itself, so a route added later is covered without touching this file."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from functions.api import create_api
from shared.adapters.tokens import DevTokenIssuer
from shared.bootstrap import Container
from shared.domain.identity import Role
from tests.support import assert_problem

# Public: authenticated by something other than a bearer token, or meant for anyone.
PUBLIC = (
    re.compile(r"^/api/health$"),  # probes
    re.compile(r"^/api/sms/"),  # providers' webhooks: their own signatures
    re.compile(r"^/api/chat/"),  # the chat widget: the conversation's own token
    re.compile(r"^/api/attachments/"),  # agents' files: the download URL's signature
)


def _routes() -> list[tuple[str, str, frozenset[Role] | None]]:
    """(method, path, roles admitted; None for public) for every operation of the OpenAPI
    document: a guarded operation lists its roles under the bearer scheme."""
    importlib.import_module("function_app")  # the composition root, as Azure loads it
    found = []
    for path, operations in create_api().openapi()["paths"].items():
        for method, operation in operations.items():
            requirements = operation.get("security", [])
            roles = [Role(r) for requirement in requirements for r in requirement["bearer"]]
            found.append((method.upper(), path, frozenset(roles) if requirements else None))
    return found


ROUTES = _routes()
GUARDED = [(m, p, r) for m, p, r in ROUTES if r is not None]


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x-1", path)


def test_every_documented_route_is_public_or_guarded_by_a_role() -> None:
    unguarded = [
        f"{method} {path}"
        for method, path, roles in ROUTES
        if roles is None and not any(p.search(path) for p in PUBLIC)
    ]
    assert unguarded == []
    assert all(roles for _, _, roles in GUARDED), "a guard that admits no role at all"
    assert len(GUARDED) >= 38, "the walk found the app's routes"


def test_the_role_areas_are_guarded_by_their_roles() -> None:
    by_area: dict[str, set[frozenset[Role]]] = {}
    for _, path, roles in GUARDED:
        assert roles is not None
        area = "admin" if path.startswith("/api/admin/") else "supervisor"
        if not path.startswith(("/api/admin/", "/api/supervisor/")):
            area = "agent" if Role.AGENT in roles else "other"
        if path.startswith(("/api/customers", "/api/search/")):
            area = "desk"  # customers and search: the whole desk, each role its own part
        by_area.setdefault(area, set()).add(roles)
    assert by_area["admin"] == {frozenset({Role.ADMIN})}
    assert all(Role.AGENT not in roles for roles in by_area["supervisor"])
    assert all(roles == {Role.AGENT} for roles in by_area["agent"])
    assert by_area["desk"] == {
        frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN}),
        frozenset({Role.AGENT, Role.ADMIN}),
        frozenset({Role.ADMIN}),
    }


TokenFactory = Callable[[Container, Path, frozenset[Role]], str | None]


def _no_token(services: Container, tmp: Path, roles: frozenset[Role]) -> str | None:
    return None


def _expired(services: Container, tmp: Path, roles: frozenset[Role]) -> str | None:
    assert services.dev_issuer is not None
    return services.dev_issuer.issue("alice", list(roles), lifetime_seconds=-120)


def _other_audience(services: Container, tmp: Path, roles: frozenset[Role]) -> str | None:
    settings = services.settings
    issuer = DevTokenIssuer(settings.dev_auth_key_file, settings.dev_auth_issuer, "api://other")
    return issuer.issue("alice", list(roles))


def _other_key(services: Container, tmp: Path, roles: frozenset[Role]) -> str | None:
    settings = services.settings
    forger = DevTokenIssuer(tmp / "forged.pem", settings.dev_auth_issuer, settings.auth_audience)
    return forger.issue("alice", list(roles))


def _other_roles(services: Container, tmp: Path, roles: frozenset[Role]) -> str | None:
    assert services.dev_issuer is not None
    return services.dev_issuer.issue("alice", sorted(set(Role) - roles))


CASES: dict[str, tuple[TokenFactory, int]] = {
    "no token": (_no_token, 401),
    "expired": (_expired, 401),
    "wrong audience": (_other_audience, 401),
    "wrong signature": (_other_key, 401),
    "wrong role": (_other_roles, 403),
}


@pytest.mark.parametrize(
    ("method", "path", "roles"), GUARDED, ids=[f"{m} {p}" for m, p, _ in GUARDED]
)
async def test_a_guarded_route_refuses_the_wrong_tokens(
    client: httpx.AsyncClient,
    services: Container,
    tmp_path: Path,
    method: str,
    path: str,
    roles: frozenset[Role],
) -> None:
    for case, (make_token, status) in CASES.items():
        token = make_token(services, tmp_path, roles)
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        response = await client.request(method, _url(path), headers=headers)
        assert response.status_code == status, f"{case}: {response.text}"
        assert_problem(response, status)
        if status == 401:
            assert response.headers["www-authenticate"] == "Bearer"
