"""Sending email through Azure Communication Services Email, signed in with the app's managed
identity (no keys): the transcript a chat customer asked for."""

from __future__ import annotations

import logging
import uuid

from azure.communication.email.aio import EmailClient
from azure.core.exceptions import AzureError, HttpResponseError
from azure.identity.aio import DefaultAzureCredential

from shared.channels.senders import is_transient
from shared.domain.outcomes import Email
from shared.ports import SendFailed

log = logging.getLogger(__name__)


class AcsEmailSender:
    """One EmailClient per send, closed after it (a send may run on any event loop). The
    operation id is derived from the email's key: ACS treats a resend with the same id as the
    same operation, so the SDK's and our retries cannot mail the customer twice."""

    def __init__(
        self,
        endpoint: str,
        sender_address: str,
        *,
        managed_identity_client_id: str | None = None,
        retries: int = 2,
    ) -> None:
        self._endpoint = endpoint.rstrip("/")
        self._sender = sender_address
        self._client_id = managed_identity_client_id
        self._retries = retries

    async def send(self, email: Email) -> str:
        operation_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"transcript-email:{email.key}"))
        message = {
            "senderAddress": self._sender,
            "recipients": {"to": [{"address": email.to}]},
            "content": {"subject": email.subject, "plainText": email.text, "html": email.html},
        }
        try:
            async with (
                DefaultAzureCredential(managed_identity_client_id=self._client_id) as credential,
                EmailClient(self._endpoint, credential, retry_total=self._retries) as client,
            ):
                poller = await client.begin_send(message, operation_id=operation_id)
                result = await poller.result()
        except HttpResponseError as exc:
            status = exc.status_code
            permanent = status is not None and not is_transient(status)
            raise SendFailed(
                f"ACS Email error {status}: {exc.reason or exc.message}", permanent=permanent
            ) from exc
        except AzureError as exc:  # transport failures, token acquisition
            raise SendFailed(f"ACS Email unreachable: {exc.message}", permanent=False) from exc
        if str(result.get("status", "")).lower() != "succeeded":
            error = result.get("error") or {}
            raise SendFailed(
                f"ACS Email did not send: {error.get('message') or result.get('status')}",
                permanent=True,
            )
        return str(result.get("id") or operation_id)
