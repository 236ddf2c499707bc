"""The chat channel's edge: what a widget may send, and the conversation tokens it keeps.

A token is an HS256 JWT whose subject is the conversation id: it is all the widget stores, and
it opens that conversation only (invariant 7). The key comes from CHAT_TOKEN_SECRET (Azure: the
same on every instance), or locally from a key file generated once into the data folder.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
from pathlib import Path
from typing import Annotated

import jwt
from pydantic import AnyUrl, BaseModel, ConfigDict, Field, StringConstraints, UrlConstraints

from shared.domain.routing_config import Locale
from shared.errors import Unauthorized

ISSUER = "omnichannel-chat"
AUDIENCE = "chat-conversation"
MIN_SECRET_LENGTH = 32

ContextKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
# Typed context variables: JSON booleans, numbers and strings, nothing else (no objects).
ContextValue = Annotated[bool, Field(strict=True)] | float | Annotated[str, Field(max_length=1000)]
HttpsUrl = Annotated[AnyUrl, UrlConstraints(allowed_schemes=["https"], max_length=2048)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StartChat(_Body):
    """`POST /api/chat/sessions`: which widget, the pre-chat answers, the context variables."""

    widget_id: str = Field(min_length=1, max_length=200)
    pre_chat: dict[ContextKey, Annotated[str, Field(max_length=500)]] = Field(
        default_factory=dict, max_length=50
    )
    context: dict[ContextKey, ContextValue] = Field(default_factory=dict, max_length=50)
    locale: Locale | None = Field(
        default=None, description="the visitor's language (the browser's), e.g. fr-CA"
    )
    client_session_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{22,64}$",
        description="a random id the widget made before its first try: a retried start "
        "returns the same conversation",
    )


class Attachment(_Body):
    """A file the customer uploaded elsewhere, sent by reference: never stored inline."""

    name: str = Field(min_length=1, max_length=255)
    content_type: str = Field(
        pattern=r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$"
    )
    size: int = Field(ge=1)
    url: HttpsUrl


class CustomerMessage(_Body):
    """`POST /api/chat/sessions/{id}/messages`. The text limit is a setting, checked by the
    service; `client_message_id` makes a retried send store the message once."""

    text: str = Field(default="", max_length=100_000)
    attachments: tuple[Attachment, ...] = Field(default=(), max_length=10)
    client_message_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{8,64}$")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def plain_text(text: str) -> str:
    """Untrusted text as stored: control characters (other than tab and newlines) dropped.
    Nothing is escaped or rendered here: every page shows it as text, never as markup."""
    return _CONTROL.sub("", text).strip()


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
                self._secret = _load_or_create_key(self._key_file)
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


def _load_or_create_key(key_file: Path) -> bytes:
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
