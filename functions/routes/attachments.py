"""Agents' files: uploaded to a conversation, then named by a reply's media; customers fetch
them by a signed, expiring URL (served here for local storage; Azure serves its own SAS)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response, status
from starlette.datastructures import UploadFile

from functions.dependencies import AgentCaller, Services
from functions.problems import problem_responses
from shared.domain.attachments import Attachment
from shared.errors import BadRequest

router = APIRouter(prefix="/api", tags=["attachments"])

MULTIPART = "multipart/form-data"


class UploadedAttachment(Attachment):
    url: str
    """A signed URL the agent may preview the file by, until `url_expires_at`."""
    url_expires_at: datetime


@router.post(
    "/conversations/{conversation_id}/attachments",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(
        (403, "A consultant: only the agent holding the conversation sends files"),
        404,
        (413, "The file is larger than ATTACHMENT_MAX_BYTES"),
        (415, "A type not in ATTACHMENT_ALLOWED_TYPES"),
        (422, "The conversation's channel cannot carry files, or the file is empty"),
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "the file: multipart/form-data with a `file` part, or the raw "
            "bytes with their Content-Type (and `?name=`)",
            "content": {
                MULTIPART: {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                        "additionalProperties": False,
                    }
                },
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def upload_attachment(
    conversation_id: str,
    request: Request,
    caller: AgentCaller,
    services: Services,
    name: Annotated[str | None, Query(max_length=255, description="raw uploads")] = None,
) -> UploadedAttachment:
    limit = services.attachments.limits.max_bytes
    content_type = request.headers.get("content-type", "")
    if content_type.lower().startswith(MULTIPART):
        form = await request.form(max_files=1, max_fields=5)
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise BadRequest("a multipart upload carries its file in a part named `file`")
        # One byte over the limit is enough to know it is too large.
        data = await file.read(limit + 1)
        content_type, name = file.content_type or "", file.filename or name
        await form.close()
    else:
        data = await request.body()
    attachment = await services.attachments.upload(
        caller.subject, conversation_id, data, content_type=content_type, name=name
    )
    link = await services.attachments.link(attachment.media())
    assert link is not None  # an uploaded file is always the app's to sign
    return UploadedAttachment(
        **attachment.model_dump(), url=link.url, url_expires_at=link.expires_at
    )


@router.get(
    "/attachments/{conversation_id}/{attachment_id}",
    response_class=Response,
    responses={
        200: {"description": "the file", "content": {"application/octet-stream": {}}},
        **problem_responses(
            (403, "The link is forged, altered or expired"),
            (404, "The file a genuine link names is no longer kept"),
        ),
    },
)
async def download_attachment(
    conversation_id: str,
    attachment_id: str,
    services: Services,
    expires: Annotated[int, Query(ge=0, le=2**53)] = 0,
    signature: Annotated[str, Query(max_length=128)] = "",
) -> Response:
    attachment, data = await services.attachments.download(
        conversation_id, attachment_id, expires=expires, signature=signature
    )
    return Response(
        data,
        media_type=attachment.content_type,
        headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(attachment.name)}",
            "X-Content-Type-Options": "nosniff",
            # A file is never a page of this app: no script runs in it, whatever it holds.
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cache-Control": "private, max-age=300",
        },
    )
