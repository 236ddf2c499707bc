"""Entra ID access tokens, verified against the tenant's signing keys served on loopback the
way login.microsoftonline.com publishes them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.auth import EntraTokenVerifier, Role
from shared.errors import Unauthorized
from tests.loopback import Answer, LoopbackApi

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
AUDIENCE = "api://omnichannel"
KID = "entra-test-key"


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def authority(signing_key: rsa.RSAPrivateKey) -> Iterator[LoopbackApi]:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key()))
    keys = {"keys": [public | {"kid": KID, "use": "sig", "kty": "RSA"}]}
    with LoopbackApi(Answer(200, keys)).running() as api:
        yield api


def verifier(authority: LoopbackApi) -> EntraTokenVerifier:
    return EntraTokenVerifier(
        authority_host=authority.base_url, tenant_id=TENANT, audience=AUDIENCE
    )


def token(key: rsa.RSAPrivateKey, authority: LoopbackApi, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": f"{authority.base_url}/{TENANT}/v2.0",
        "aud": AUDIENCE,
        "sub": "00u-alice",
        "name": "Alice",
        "roles": ["agent", "supervisor", "Some.Other.Role"],
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    } | claims
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": KID})


def test_a_token_of_the_tenant_names_the_caller_and_roles(
    signing_key: rsa.RSAPrivateKey, authority: LoopbackApi
) -> None:
    principal = verifier(authority).verify(token(signing_key, authority))
    assert principal.subject == "00u-alice"
    assert principal.roles == {Role.AGENT, Role.SUPERVISOR}
    assert authority.requests[0].path == f"/{TENANT}/discovery/v2.0/keys"


def test_v1_tokens_of_the_tenant_are_accepted(
    signing_key: rsa.RSAPrivateKey, authority: LoopbackApi
) -> None:
    v1 = token(signing_key, authority, iss=f"https://sts.windows.net/{TENANT}/")
    assert verifier(authority).verify(v1).subject == "00u-alice"


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"aud": "api://another-app"}, id="other audience"),
        pytest.param({"iss": "https://login.microsoftonline.com/other/v2.0"}, id="other tenant"),
        pytest.param({"exp": int(time.time()) - 60}, id="expired"),
    ],
)
def test_tokens_for_someone_else_are_refused(
    signing_key: rsa.RSAPrivateKey, authority: LoopbackApi, claims: dict[str, Any]
) -> None:
    with pytest.raises(Unauthorized):
        verifier(authority).verify(token(signing_key, authority, **claims))


def test_a_token_signed_by_another_key_is_refused(authority: LoopbackApi) -> None:
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(Unauthorized):
        verifier(authority).verify(token(forger, authority))


def test_entra_mode_needs_a_tenant() -> None:
    with pytest.raises(ValueError, match="ENTRA_TENANT_ID"):
        EntraTokenVerifier(
            authority_host="https://login.microsoftonline.com", tenant_id="", audience=AUDIENCE
        )
