"""A Microsoft Entra ID tenant as apps see it: its signing keys published on loopback the way
login.microsoftonline.com publishes them, and access tokens it would issue."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.loopback import Answer, LoopbackApi

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
AUDIENCE = "api://omnichannel"
KID = "entra-test-key"


class Tenant:
    def __init__(self, authority: LoopbackApi, key: rsa.RSAPrivateKey) -> None:
        self.authority = authority
        self.key = key

    @property
    def authority_host(self) -> str:
        return self.authority.base_url

    def token(self, *, key: rsa.RSAPrivateKey | None = None, **claims: Any) -> str:
        now = int(time.time())
        body = {
            "iss": f"{self.authority_host}/{TENANT}/v2.0",
            "aud": AUDIENCE,
            "sub": "00u-alice",
            "iat": now,
            "nbf": now,
            "exp": now + 600,
        } | claims
        return jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": KID})

    def settings(self) -> dict[str, str]:
        """What an app of this tenant is configured with."""
        return {
            "AUTH_MODE": "entra",
            "ENTRA_TENANT_ID": TENANT,
            "ENTRA_AUTHORITY_HOST": self.authority_host,
            "AUTH_AUDIENCE": AUDIENCE,
        }


@contextmanager
def running_tenant() -> Iterator[Tenant]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    keys = {"keys": [public | {"kid": KID, "use": "sig", "kty": "RSA"}]}
    with LoopbackApi(Answer(200, keys)).running() as authority:
        yield Tenant(authority, key)
