"""The chat channel's conversation tokens: all the widget keeps.

A token is an HS256 JWT whose subject is the conversation id: it opens that conversation only
(invariant 7). The key comes from CHAT_TOKEN_SECRET (Azure: the same on every instance), or
locally from a key file generated once into the data folder.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from pathlib import Path

import jwt

from shared.errors import Unauthorized

ISSUER = "omnichannel-chat"
AUDIENCE = "chat-conversation"
MIN_SECRET_LENGTH = 32


class ConversationTokens:
    """Issues and verifies conversation tokens."""

    def __init__(self, *, secret: str, key_file: Path, lifetime_seconds: int) -> None:
        if secret and len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"CHAT_TOKEN_SECRET needs at least {MIN_SECRET_LENGTH} characters")
        self._secret = secret.encode() if secret else None
        self._key_file = key_file
        self._lifetime = lifetime_seconds
        self._lock = threading.Lock()

    def _key(self) -> bytes:
        # Read on first use, not when the app starts: only chat needs it.
        with self._lock:
            if self._secret is None:
                self._secret = load_or_create_key(self._key_file)
            return self._secret

    def issue(self, conversation_id: str) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": conversation_id,
            "iat": now,
            "exp": now + self._lifetime,
        }
        return jwt.encode(claims, self._key(), algorithm="HS256")

    def conversation_of(self, token: str) -> str:
        """The conversation the token opens; Unauthorized if forged, expired or malformed."""
        try:
            claims = jwt.decode(
                token,
                self._key(),
                algorithms=["HS256"],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid conversation token: {exc}") from exc
        return str(claims["sub"])


def load_or_create_key(key_file: Path) -> bytes:
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        # Written under a temporary name and moved, so a racing reader sees all or nothing.
        temporary = key_file.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(secrets.token_urlsafe(48))
        temporary.chmod(0o600)
        if not key_file.exists():
            temporary.replace(key_file)
        else:
            temporary.unlink()
    return key_file.read_text().strip().encode()
