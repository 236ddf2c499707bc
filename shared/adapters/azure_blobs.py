"""Agents' files in Azure Blob Storage, reached by the app's managed identity (no account key);
customers fetch them by a user-delegation SAS URL, read-only and expiring."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote, unquote

from azure.core.exceptions import ResourceNotFoundError
from azure.identity.aio import DefaultAzureCredential
from azure.storage.blob import (
    BlobSasPermissions,
    ContentSettings,
    UserDelegationKey,
    generate_blob_sas,
)
from azure.storage.blob.aio import BlobServiceClient

from shared.ports import BlobInfo, StoredBlob

DELEGATION_KEY_LIFETIME = timedelta(hours=6)
"""A user delegation key may live up to 7 days; one is asked for every few hours and shared by
the SAS signed meanwhile (each SAS expires long before its key does)."""

CLOCK_SKEW = timedelta(minutes=5)


class AzureBlobStore:
    def __init__(
        self, account_url: str, container: str, *, managed_identity_client_id: str | None
    ) -> None:
        self._credential = DefaultAzureCredential(
            managed_identity_client_id=managed_identity_client_id
        )
        self._service = BlobServiceClient(account_url, credential=self._credential)
        self._container = container
        self._delegation: UserDelegationKey | None = None
        self._delegation_expires: datetime | None = None

    async def close(self) -> None:
        await self._service.close()
        await self._credential.close()

    async def put_blob(self, key: str, data: bytes, *, content_type: str, name: str) -> None:
        await self._service.get_blob_client(self._container, key).upload_blob(
            data,
            overwrite=True,
            content_settings=ContentSettings(
                content_type=content_type,
                content_disposition=f"inline; filename*=UTF-8''{quote(name)}",
            ),
            # Metadata is ASCII only: the name percent-encoded.
            metadata={"name": quote(name)},
        )

    async def blob_info(self, key: str) -> BlobInfo | None:
        try:
            properties = await self._service.get_blob_client(
                self._container, key
            ).get_blob_properties()
        except ResourceNotFoundError:
            return None
        return BlobInfo(
            content_type=properties.content_settings.content_type or "application/octet-stream",
            name=unquote(properties.metadata.get("name", key.rsplit("/", 1)[-1])),
            size=properties.size,
        )

    async def download_url(self, key: str, *, expires_at: datetime) -> str:
        now = datetime.now(expires_at.tzinfo)
        if (
            self._delegation is None
            or self._delegation_expires is None
            or self._delegation_expires < expires_at + CLOCK_SKEW
        ):
            self._delegation_expires = max(now + DELEGATION_KEY_LIFETIME, expires_at + CLOCK_SKEW)
            self._delegation = await self._service.get_user_delegation_key(
                key_start_time=now - CLOCK_SKEW, key_expiry_time=self._delegation_expires
            )
        account = self._service.account_name
        assert account is not None  # an account URL always names its account
        sas = generate_blob_sas(
            account_name=account,
            container_name=self._container,
            blob_name=key,
            user_delegation_key=self._delegation,
            permission=BlobSasPermissions(read=True),
            expiry=expires_at,
            start=now - CLOCK_SKEW,
        )
        base = self._service.url.rstrip("/")
        return f"{base}/{self._container}/{quote(key)}?{sas}"

    def signed_by_this_store(
        self, key: str, *, expires: int, signature: str, now: datetime
    ) -> bool:
        """Customers download from Blob Storage by SAS: the app signs no URL of its own."""
        return False

    async def read_blob(self, key: str) -> StoredBlob | None:
        info = await self.blob_info(key)
        if info is None:
            return None
        try:
            download = await self._service.get_blob_client(self._container, key).download_blob()
            return StoredBlob(info=info, data=await download.readall())
        except ResourceNotFoundError:
            return None
