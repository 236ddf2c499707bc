"""Sending SMS through a channel's Twilio account with twilio's own async client."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiohttp import ClientError
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from shared.channels.senders import account_of, is_transient
from shared.domain.channels import Channel, TwilioAccount
from shared.ports import SendFailed

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 15.0


class TwilioSmsSender:
    def __init__(self, *, api_base_url: str, status_callback_url: str) -> None:
        self._api_base_url = api_base_url.rstrip("/")
        self._status_callback_url = status_callback_url

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
        account = account_of(channel, TwilioAccount)
        sender = (
            {"messaging_service_sid": account.messaging_service_sid}
            if account.messaging_service_sid
            else {"from_": from_}
        )
        try:
            # A session per send, opened and closed on the event loop the host runs it on.
            async with AsyncTwilioHttpClient(timeout=TIMEOUT_SECONDS) as http:
                client = Client(account.account_sid, account.auth_token, http_client=http)
                client.api.base_url = self._api_base_url
                sent = await client.messages.create_async(
                    to=to,
                    body=text,
                    status_callback=self._status_callback_url,
                    # MMS: Twilio fetches each URL (signed, expiring) when it sends.
                    **({"media_url": list(media_urls)} if media_urls else {}),
                    **sender,
                )
        except TwilioRestException as exc:
            reason = f"Twilio error {exc.code}: {exc.msg}" if exc.code else str(exc.msg)
            raise SendFailed(
                reason, permanent=not is_transient(exc.status), code=str(exc.code or exc.status)
            ) from exc
        except (TwilioException, ClientError, TimeoutError) as exc:
            raise SendFailed(
                f"Twilio unreachable: {exc}", permanent=False, code="unreachable"
            ) from exc
        log.info("message %s sent by Twilio as %s", message_id, sent.sid)
        return str(sent.sid)
