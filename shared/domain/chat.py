"""What a chat widget may send: the pre-chat start with typed context variables, and the
customer's messages (plain text, bounded). Pure data."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AnyUrl, BaseModel, ConfigDict, Field, StringConstraints, UrlConstraints

from shared.domain.routing_config import Locale

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
