"""Files agents send: uploaded to a conversation of theirs within the size and type limits,
kept in the blob store, referenced by a reply's media, and fetched by the customer through an
expiring signed URL made whenever one is shown or sent."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol

from shared.domain.attachments import (
    Attachment,
    AttachmentLimits,
    DownloadLink,
    attachment_key,
    blob_key,
    file_name,
    media_type,
    valid_attachment_id,
    why_channel_cannot_send_files,
)
from shared.domain.conversations import Conversation, MediaRef
from shared.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    UnprocessableEntity,
    UnsupportedMediaType,
)
from shared.ports import BlobStore, ChannelStore, Clock, ConversationStore, WorkItemStore
from shared.services.agent_work import WorkRole, involvement


class AttachmentPorts(ChannelStore, ConversationStore, WorkItemStore, Protocol):
    """The store ports this service needs."""


class AttachmentService:
    def __init__(
        self,
        store: AttachmentPorts,
        blobs: BlobStore,
        clock: Clock,
        *,
        limits: AttachmentLimits,
        url_lifetime: timedelta,
    ) -> None:
        self._store = store
        self._blobs = blobs
        self._clock = clock
        self._limits = limits
        self._url_lifetime = url_lifetime

    @property
    def limits(self) -> AttachmentLimits:
        return self._limits

    async def upload(
        self,
        agent_id: str,
        conversation_id: str,
        data: bytes,
        *,
        content_type: str,
        name: str | None,
    ) -> Attachment:
        """Kept for a reply of the primary agent's: 404 for a conversation not the agent's,
        413 over the size limit, 415 for a type not allowed, 422 when its channel cannot
        carry files; nothing is stored then."""
        part = await involvement(self._store, agent_id, conversation_id)
        if part.role is not WorkRole.PRIMARY:
            raise Forbidden("only the agent holding the conversation sends files")
        if len(data) > self._limits.max_bytes:
            raise PayloadTooLarge(
                f"the file has {len(data)} bytes; the limit is {self._limits.max_bytes}"
            )
        kind = media_type(content_type)
        if kind not in self._limits.allowed_types:
            raise UnsupportedMediaType(
                f"files of type {kind or 'unknown'} are not sent; allowed: "
                + ", ".join(self._limits.allowed_types)
            )
        if not data:
            raise UnprocessableEntity("the file is empty")
        await self._require_files_carried(part.conversation)
        attachment_id = uuid.uuid4().hex
        attachment = Attachment(
            id=attachment_id,
            conversation_id=conversation_id,
            name=file_name(name, attachment_id),
            content_type=kind,
            size=len(data),
        )
        await self._blobs.put_blob(attachment.key, data, content_type=kind, name=attachment.name)
        return attachment

    async def media_for_reply(
        self, conversation: Conversation, attachment_ids: Sequence[str]
    ) -> tuple[MediaRef, ...]:
        """The media of a reply naming these uploads of the conversation. 422, before anything
        is stored or sent, when its channel cannot carry files or an upload is not this
        conversation's: a file never silently dropped."""
        if not attachment_ids:
            return ()
        await self._require_files_carried(conversation)
        media = []
        for attachment_id in dict.fromkeys(attachment_ids):
            info = (
                await self._blobs.blob_info(blob_key(conversation.id, attachment_id))
                if valid_attachment_id(attachment_id)
                else None
            )
            if info is None:
                raise UnprocessableEntity(
                    f"attachment {attachment_id} was not uploaded to this conversation"
                )
            media.append(
                Attachment(
                    id=attachment_id,
                    conversation_id=conversation.id,
                    name=info.name,
                    content_type=info.content_type,
                    size=info.size,
                ).media()
            )
        return tuple(media)

    async def _require_files_carried(self, conversation: Conversation) -> None:
        channel = await self._store.get_channel(conversation.channel_id)
        if channel is None:
            raise Conflict(f"conversation {conversation.id}'s channel is gone")
        reason = why_channel_cannot_send_files(channel)
        if reason is not None:
            raise UnprocessableEntity(reason)

    async def link(self, media: MediaRef) -> DownloadLink | None:
        """An expiring download URL for an agent's file; None for media given by URL."""
        key = attachment_key(media)
        if key is None:
            return None
        expires_at = self._clock.now() + self._url_lifetime
        return DownloadLink(
            url=await self._blobs.download_url(key, expires_at=expires_at), expires_at=expires_at
        )

    async def customer_url(self, media: MediaRef) -> str:
        """What a customer may fetch: a signed URL for an agent's file, the URL otherwise."""
        link = await self.link(media)
        return media.url if link is None else link.url

    async def download(
        self, conversation_id: str, attachment_id: str, *, expires: int, signature: str
    ) -> tuple[Attachment, bytes]:
        """A file by the URL the app signed: 403 for a forged, altered or expired one, 404
        when the file a genuine one names is gone."""
        key = blob_key(conversation_id, attachment_id)
        if not valid_attachment_id(attachment_id) or not self._blobs.signed_by_this_store(
            key, expires=expires, signature=signature, now=self._clock.now()
        ):
            raise Forbidden("the download link is invalid or has expired")
        blob = await self._blobs.read_blob(key)
        if blob is None:
            raise NotFound("the file is no longer kept")
        return (
            Attachment(
                id=attachment_id,
                conversation_id=conversation_id,
                name=blob.info.name,
                content_type=blob.info.content_type,
                size=blob.info.size,
            ),
            blob.data,
        )
