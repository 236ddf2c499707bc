"""Files agents send: what a stored one is, the limits an upload meets, and which channels can
carry one. Pure data and rules."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import Field

from shared.domain.base import Model
from shared.domain.channels import Channel, ChannelKind, SmsProvider
from shared.domain.conversations import MediaRef

ATTACHMENT_SCHEME = "attachment:"
"""A message's media URL for a file an agent sent: `attachment:<key>`, a reference the app signs
into an expiring download URL whenever a customer is to fetch it (a stored signed URL would
expire in the message)."""

DEFAULT_ALLOWED_TYPES = (
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
)

_ID = re.compile(r"^[0-9a-f]{32}$")
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\\"]")


class AttachmentLimits(Model):
    max_bytes: int = Field(ge=1)
    allowed_types: tuple[str, ...] = Field(min_length=1)


class Attachment(Model):
    """A file an agent uploaded to a conversation, kept as a blob under `key`."""

    id: str = Field(pattern=_ID.pattern)
    conversation_id: str
    name: str = Field(min_length=1, max_length=255)
    content_type: str
    size: int = Field(ge=0)

    @property
    def key(self) -> str:
        return blob_key(self.conversation_id, self.id)

    def media(self) -> MediaRef:
        return MediaRef(
            url=ATTACHMENT_SCHEME + self.key,
            content_type=self.content_type,
            name=self.name,
            size=self.size,
        )


def blob_key(conversation_id: str, attachment_id: str) -> str:
    return f"{conversation_id}/{attachment_id}"


def attachment_key(media: MediaRef) -> str | None:
    """The blob key of an agent's file, None for media given by URL (a customer's)."""
    return (
        media.url.removeprefix(ATTACHMENT_SCHEME)
        if media.url.startswith(ATTACHMENT_SCHEME)
        else None
    )


def valid_attachment_id(attachment_id: str) -> bool:
    return _ID.fullmatch(attachment_id) is not None


def media_type(content_type: str) -> str:
    """`image/PNG; charset=x` -> `image/png`: what the allowed types are compared with."""
    return content_type.split(";", 1)[0].strip().lower()


def file_name(given: str | None, attachment_id: str) -> str:
    """A name safe in a Content-Disposition header and on a page: no path, quotes or control
    characters; the id when none is left."""
    name = _UNSAFE_NAME.sub("_", (given or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip()
    return name[:255] or attachment_id


def why_channel_cannot_send_files(channel: Channel) -> str | None:
    """None when the channel carries an agent's files: chat (the widget shows them) and SMS
    through Twilio (MMS by MediaUrl). Otherwise why not, for the agent to read."""
    if channel.kind == ChannelKind.CHAT:
        return None
    if channel.provider == SmsProvider.TWILIO:
        return None
    provider = channel.provider or "no provider"
    return (
        f"SMS channel {channel.id} sends through {provider}, which sends text only (no MMS): "
        "send the reply without media"
    )


class DownloadLink(Model):
    url: str
    expires_at: datetime
