"""Request bodies are bounded: anything larger than MAX_REQUEST_BODY_BYTES is refused with 413
before any route reads it, whether it declares its length or streams it in chunks."""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from functions.problems import problem
from shared.settings import get_settings

UPLOAD_PATH = re.compile(r"/api/conversations/[^/]+/attachments")
MULTIPART_ALLOWANCE = 64 * 1024
"""Room for a multipart upload's boundaries and part headers around the file itself."""

# No route reads a body these methods carry. OPTIONS is bounded too: the ACS webhook's
# CloudEvents handshake reads its body like a delivery.
UNREAD_BODY_METHODS = frozenset({"GET", "HEAD"})


class BodyLimit:
    """A Content-Length over the limit gets 413 problem+json at once; a body without one
    (chunked) is read before the app runs, at most `limit` bytes, then handed on, or 413."""

    def __init__(self, app: ASGIApp, limit: Callable[[], int] | None = None) -> None:
        self._app = app
        self._limit = limit or (lambda: get_settings().max_request_body_bytes)

    def _limit_for(self, scope: Scope) -> int:
        """An agent's file upload may carry the attachment limit (and a multipart envelope):
        the route answers 413 itself for a file over the limit inside a smaller body."""
        if scope["method"] == "POST" and UPLOAD_PATH.fullmatch(scope["path"]):
            return max(self._limit(), get_settings().attachment_max_bytes + MULTIPART_ALLOWANCE)
        return self._limit()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in UNREAD_BODY_METHODS:
            await self._app(scope, receive, send)
            return
        limit = self._limit_for(scope)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > limit:
                await self._refuse(scope, receive, send, limit)
            else:
                # The server holds a body to its declared length: nothing more to count.
                await self._app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client left before sending its body: nothing to answer.
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(scope, receive, send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self._app(scope, replay, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problem(413, f"the request body is larger than {limit} bytes")
        response.headers["Connection"] = "close"
        await response(scope, receive, send)
