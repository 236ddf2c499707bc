"""Entra ID access tokens, verified against the tenant's signing keys served on loopback the
way login.microsoftonline.com publishes them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.adapters.tokens import EntraTokenVerifier
from shared.domain.identity import Role
from shared.errors import Unauthorized
from tests.entra import AUDIENCE, TENANT, Tenant, running_tenant


@pytest.fixture
def tenant() -> Iterator[Tenant]:
    with running_tenant() as started:
        yield started


def verifier(tenant: Tenant) -> EntraTokenVerifier:
    return EntraTokenVerifier(
        authority_host=tenant.authority_host, tenant_id=TENANT, audience=AUDIENCE
    )


def test_a_token_of_the_tenant_names_the_caller_and_roles(tenant: Tenant) -> None:
    token = tenant.token(roles=["agent", "supervisor", "Some.Other.Role"])
    principal = verifier(tenant).verify(token)
    assert principal.subject == "00u-alice"
    assert principal.roles == {Role.AGENT, Role.SUPERVISOR}
    assert tenant.authority.requests[0].path == f"/{TENANT}/discovery/v2.0/keys"


def test_v1_tokens_of_the_tenant_are_accepted(tenant: Tenant) -> None:
    v1 = tenant.token(iss=f"https://sts.windows.net/{TENANT}/")
    assert verifier(tenant).verify(v1).subject == "00u-alice"


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"aud": "api://another-app"}, id="other audience"),
        pytest.param({"iss": "https://login.microsoftonline.com/other/v2.0"}, id="other tenant"),
        pytest.param({"exp": int(time.time()) - 60}, id="expired"),
    ],
)
def test_tokens_for_someone_else_are_refused(tenant: Tenant, claims: dict[str, Any]) -> None:
    with pytest.raises(Unauthorized):
        verifier(tenant).verify(tenant.token(**claims))


def test_a_token_signed_by_another_key_is_refused(tenant: Tenant) -> None:
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(Unauthorized):
        verifier(tenant).verify(tenant.token(key=forger))


def test_an_app_role_is_required_by_name(tenant: Tenant) -> None:
    granted = tenant.token(roles=["AzureEventGridSecureWebhookSubscriber"])
    verifier(tenant).verify_app_role(granted, "AzureEventGridSecureWebhookSubscriber")
    with pytest.raises(Unauthorized, match="role"):
        verifier(tenant).verify_app_role(tenant.token(roles=["agent"]), "Some.Role")


def test_entra_mode_needs_a_tenant() -> None:
    with pytest.raises(ValueError, match="ENTRA_TENANT_ID"):
        EntraTokenVerifier(
            authority_host="https://login.microsoftonline.com", tenant_id="", audience=AUDIENCE
        )
