"""Bearer tokens: verifying who is calling, with which roles.

Locally a development issuer signs RS256 tokens with a key it keeps in the data folder; in
Azure, Microsoft Entra ID issues them and its published signing keys verify them. Both check
issuer, audience, expiry and signature, and read roles from the `roles` claim.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.types import Options

from shared.domain.identity import Principal, Role
from shared.errors import Unauthorized


def _principal(claims: dict[str, object]) -> Principal:
    raw_roles = claims.get("roles", [])
    roles = frozenset(
        Role(r) for r in (raw_roles if isinstance(raw_roles, list) else []) if r in set(Role)
    )
    name = claims.get("name")
    return Principal(
        subject=str(claims["sub"]), roles=roles, name=name if isinstance(name, str) else None
    )


_REQUIRED_CLAIMS: Options = {"require": ["exp", "iss", "aud", "sub"]}


def _decode(
    token: str, key: Callable[[str], Any], *, audience: str, issuer: str | Sequence[str]
) -> dict[str, Any]:
    """The claims of an RS256 token signed by `key(token)`, for this audience and issuer."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key(token),
            algorithms=["RS256"],
            audience=audience,
            issuer=issuer,
            options=_REQUIRED_CLAIMS,
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {exc}") from exc
    return claims


class EntraTokenVerifier:
    """Access tokens Microsoft Entra ID issued for this app, in the v2.0 or v1.0 format.

    The tenant's signing keys come from its JWKS document and are cached; a token signed with
    a key not yet cached makes one fetch (Entra ID rolls its keys)."""

    def __init__(self, *, authority_host: str, tenant_id: str, audience: str) -> None:
        if not tenant_id:
            raise ValueError("AUTH_MODE=entra needs ENTRA_TENANT_ID")
        authority = authority_host.rstrip("/")
        self._audience = audience
        self._issuers = [f"{authority}/{tenant_id}/v2.0", f"https://sts.windows.net/{tenant_id}/"]
        self._keys = jwt.PyJWKClient(
            f"{authority}/{tenant_id}/discovery/v2.0/keys", cache_keys=True, timeout=10
        )

    def _claims(self, token: str) -> dict[str, Any]:
        return _decode(
            token,
            lambda t: self._keys.get_signing_key_from_jwt(t).key,
            audience=self._audience,
            issuer=self._issuers,
        )

    def verify(self, token: str) -> Principal:
        return _principal(self._claims(token))

    def verify_app_role(self, token: str, role: str) -> None:
        """For services calling us, such as Event Grid: an app role the tenant's admin
        assigned to the caller's service principal."""
        roles = self._claims(token).get("roles")
        if not isinstance(roles, list) or role not in roles:
            raise Unauthorized(f"the token does not grant the {role} role")


class DevTokenIssuer:
    """The development issuer: RS256 with a key generated once into the data folder."""

    def __init__(self, key_file: Path, issuer: str, audience: str) -> None:
        self._issuer = issuer
        self._audience = audience
        self._private_key = self._load_or_create(key_file)
        self._public_key = self._private_key.public_key()

    @staticmethod
    def _load_or_create(key_file: Path) -> rsa.RSAPrivateKey:
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            # Written under a temporary name and moved, so a racing reader sees all or nothing.
            temporary = key_file.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_bytes(pem)
            temporary.chmod(0o600)
            if not key_file.exists():
                temporary.replace(key_file)
            else:
                temporary.unlink()
        loaded = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise ValueError(f"{key_file} does not hold an RSA private key")
        return loaded

    def issue(
        self,
        subject: str,
        roles: list[Role],
        *,
        name: str | None = None,
        lifetime_seconds: int = 12 * 3600,
    ) -> str:
        now = int(time.time())
        claims: dict[str, object] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": subject,
            "roles": [str(r) for r in roles],
            "iat": now,
            "nbf": now,
            "exp": now + lifetime_seconds,
        }
        if name is not None:
            claims["name"] = name
        return jwt.encode(claims, self._private_key, algorithm="RS256")

    def verify(self, token: str) -> Principal:
        claims = _decode(
            token, lambda _: self._public_key, audience=self._audience, issuer=self._issuer
        )
        return _principal(claims)
