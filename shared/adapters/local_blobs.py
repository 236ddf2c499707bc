"""Agents' files in a local folder (under the data directory by default), served by the app
itself at /api/attachments/... behind an HMAC-signed, expiring URL."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from shared.channels.chat_tokens import load_or_create_key
from shared.ports import BlobInfo, StoredBlob

DOWNLOAD_PATH = "/api/attachments/"


class LocalBlobStore:
    def __init__(self, folder: Path, *, key_file: Path, public_base_url: str) -> None:
        self._folder = folder
        self._key_file = key_file
        self._key: bytes | None = None
        self._base = public_base_url.rstrip("/")

    def _signing_key(self) -> bytes:
        if self._key is None:
            self._key = load_or_create_key(self._key_file)
        return self._key

    def _path(self, key: str) -> Path:
        # Each part of the key percent-encoded: no key names a file outside the folder.
        return self._folder.joinpath(*(quote(part, safe="") for part in key.split("/")))

    def signature(self, key: str, expires: int) -> str:
        return hmac.new(
            self._signing_key(), f"{key}\n{expires}".encode(), hashlib.sha256
        ).hexdigest()

    async def put_blob(self, key: str, data: bytes, *, content_type: str, name: str) -> None:
        await asyncio.to_thread(self._write, key, data, content_type, name)

    def _write(self, key: str, data: bytes, content_type: str, name: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = json.dumps({"content_type": content_type, "name": name, "size": len(data)})
        # Each file written under a temporary name and moved: a reader sees all or nothing,
        # and the description last, so a described blob is always whole.
        for target, content in ((path, data), (_meta_path(path), meta.encode())):
            temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
            temporary.write_bytes(content)
            temporary.replace(target)

    async def blob_info(self, key: str) -> BlobInfo | None:
        return await asyncio.to_thread(self._info, key)

    def _info(self, key: str) -> BlobInfo | None:
        try:
            meta = json.loads(_meta_path(self._path(key)).read_text())
        except FileNotFoundError:
            return None
        return BlobInfo(content_type=meta["content_type"], name=meta["name"], size=meta["size"])

    async def download_url(self, key: str, *, expires_at: datetime) -> str:
        expires = int(expires_at.timestamp())
        return (
            f"{self._base}{DOWNLOAD_PATH}{quote(key)}"
            f"?expires={expires}&signature={self.signature(key, expires)}"
        )

    def signed_by_this_store(
        self, key: str, *, expires: int, signature: str, now: datetime
    ) -> bool:
        # As bytes: compare_digest refuses str with non-ASCII characters (a forged URL may).
        genuine = hmac.compare_digest(signature.encode(), self.signature(key, expires).encode())
        return genuine and now.timestamp() < expires

    async def read_blob(self, key: str) -> StoredBlob | None:
        return await asyncio.to_thread(self._read, key)

    def _read(self, key: str) -> StoredBlob | None:
        info = self._info(key)
        if info is None:
            return None
        return StoredBlob(info=info, data=self._path(key).read_bytes())


def _meta_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")
