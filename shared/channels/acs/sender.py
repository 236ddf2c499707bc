"""Sending SMS through a channel's Azure Communication Services resource with the ACS SDK."""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Sequence
from contextlib import AsyncExitStack

from azure.communication.sms.aio import SmsClient
from azure.core.credentials import AzureKeyCredential
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import AzureError, HttpResponseError
from azure.identity.aio import DefaultAzureCredential

from shared.channels.senders import account_of, is_transient
from shared.domain.channels import AcsAccount, Channel
from shared.ports import SendFailed

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 15.0


class AcsSmsSender:
    """One SmsClient per send, closed after it: a send may run on any event loop the host gives
    us, and an aiohttp session belongs to the loop that opened it.

    `retries`: the SDK resends a 429/5xx/transport failure itself with the same
    repeatability-request-id, which ACS deduplicates, so those retries cannot text the customer
    twice; the queue's retry (a new send, a new id) is the last resort. `connection_verify` is
    azure-core's: True, or a CA bundle path for a test's own certificate authority.
    """

    def __init__(
        self,
        *,
        managed_identity_client_id: str | None = None,
        retries: int = 2,
        retry_backoff_seconds: float = 0.8,
        connection_verify: bool | str = True,
    ) -> None:
        self._client_id = managed_identity_client_id
        self._client_options: dict[str, object] = {
            "retry_total": retries,
            "retry_backoff_factor": retry_backoff_seconds,
            "connection_timeout": CONNECT_TIMEOUT_SECONDS,
            "read_timeout": READ_TIMEOUT_SECONDS,
            "connection_verify": connection_verify,
        }

    async def send(
        self,
        channel: Channel,
        *,
        message_id: str,
        to: str,
        from_: str,
        text: str,
        media_urls: Sequence[str] = (),
    ) -> str:
        if media_urls:
            # The reply was refused before this (422); should one still come, it fails
            # rather than going out without its files.
            raise SendFailed("ACS sends text only: the message's files cannot go", permanent=True)
        account = account_of(channel, AcsAccount)
        try:
            async with AsyncExitStack() as stack:
                client = SmsClient(
                    account.endpoint.rstrip("/"),
                    await self._credential(account, stack),
                    **self._client_options,
                )
                await stack.enter_async_context(client)
                results = await client.send(
                    from_=from_,
                    to=[to],
                    message=text,
                    enable_delivery_report=True,
                    tag=message_id,  # comes back on the delivery report
                )
        except HttpResponseError as exc:
            # The whole request failed (wrong key, throttled, ACS down): no per-recipient results.
            status = exc.status_code
            reason = f"ACS error {status}: {exc.reason or exc.message}"
            permanent = status is not None and not is_transient(status)
            raise SendFailed(reason, permanent=permanent, code=str(status)) from exc
        except AzureError as exc:  # transport failures, token acquisition
            raise SendFailed(
                f"ACS unreachable: {exc.message}", permanent=False, code="unreachable"
            ) from exc
        if len(results) != 1:
            raise SendFailed(
                f"ACS answered for {len(results)} recipients, not 1",
                permanent=True,
                code="recipients",
            )
        (result,) = results
        if not result.successful or not result.message_id:
            # The call as a whole is 202: each recipient succeeds or fails on its own.
            status = result.http_status_code
            reason = f"ACS error {status}: {result.error_message or 'no reason given'}"
            raise SendFailed(reason, permanent=not is_transient(status), code=str(status))
        log.info("message %s sent by ACS as %s", message_id, result.message_id)
        return str(result.message_id)

    async def _credential(
        self, account: AcsAccount, stack: AsyncExitStack
    ) -> AzureKeyCredential | AsyncTokenCredential:
        if account.access_key is None:
            # No key: the app's managed identity, given a role on the ACS resource.
            return await stack.enter_async_context(
                DefaultAzureCredential(managed_identity_client_id=self._client_id)
            )
        try:
            # The SDK signs with the decoded key; a key that is not base64 never signs right.
            base64.b64decode(account.access_key, validate=True)
        except binascii.Error as exc:
            raise SendFailed(
                "the ACS access key is not base64", permanent=True, code="configuration"
            ) from exc
        return AzureKeyCredential(account.access_key)
