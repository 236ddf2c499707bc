"""The Azure Blob Storage adapter's download URLs: a user-delegation SAS, read-only, expiring
when asked, signed with a delegation key asked for once and reused while it outlives the SAS.
(No Blob Storage runs here: the key request is played by a stand-in; the SAS is the SDK's.)"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.storage.blob import UserDelegationKey

from shared.adapters.azure_blobs import AzureBlobStore

NOW = datetime.now(UTC).replace(microsecond=0)


def delegation_key(expiry: datetime) -> UserDelegationKey:
    key = UserDelegationKey()  # type: ignore[no-untyped-call]
    key.signed_oid = "11111111-1111-1111-1111-111111111111"
    key.signed_tid = "22222222-2222-2222-2222-222222222222"
    key.signed_start = (NOW - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    key.signed_expiry = expiry.strftime("%Y-%m-%dT%H:%M:%SZ")
    key.signed_service = "b"
    key.signed_version = "2025-01-05"
    key.value = base64.b64encode(b"k" * 32).decode()
    return key


async def test_a_download_url_is_a_read_only_user_delegation_sas(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = AzureBlobStore(
        "https://stfiles.blob.core.windows.net", "attachments", managed_identity_client_id=None
    )
    asked: list[datetime] = []

    async def get_user_delegation_key(
        key_start_time: datetime, key_expiry_time: datetime
    ) -> UserDelegationKey:
        asked.append(key_expiry_time)
        return delegation_key(key_expiry_time)

    monkeypatch.setattr(store._service, "get_user_delegation_key", get_user_delegation_key)
    try:
        expires = NOW + timedelta(hours=1)
        url = await store.download_url("conv 1/abc", expires_at=expires)
        again = await store.download_url("conv 1/def", expires_at=expires)
    finally:
        await store.close()
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "stfiles.blob.core.windows.net",
        "/attachments/conv%201/abc",
    )
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    assert query["sp"] == "r"  # read only
    assert query["sr"] == "b"  # this one blob
    assert query["se"] == expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert query["skoid"] == "11111111-1111-1111-1111-111111111111"  # a user-delegation SAS
    assert query["sig"]
    assert "/attachments/conv%201/def" in again
    assert len(asked) == 1  # one delegation key for both
