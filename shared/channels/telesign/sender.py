"""Sending SMS through a channel's TeleSign account with TeleSign's own SDK (`telesign`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import requests
from pydantic import ValidationError
from telesign.messaging import MessagingClient

from shared.channels.senders import account_of, is_transient
from shared.channels.telesign.webhook import Status, Wire, delivery_status
from shared.domain.channels import Channel, TeleSignAccount
from shared.domain.conversations import DeliveryStatus
from shared.domain.phone import InvalidPhoneNumber, to_international_digits
from shared.ports import SendFailed

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = (5.0, 15.0)  # connect, read
MESSAGE_TYPE = "ARN"  # alerts, reminders, notifications: a service conversation


class ErrorDetail(Wire):
    code: int | None = None
    description: str = ""


class SendAnswer(Wire):
    """TeleSign's answer to POST /v1/messaging, success or error."""

    reference_id: str | None = None
    status: Status | None = None
    errors: tuple[ErrorDetail, ...] = ()

    def reason(self) -> str:
        details = [f"{e.code}: {e.description}" if e.code else e.description for e in self.errors]
        if self.status is not None and not details:
            details = [f"{self.status.code}: {self.status.description}"]
        return "TeleSign error " + ("; ".join(d for d in details if d) or "without details")


class TeleSignSmsSender:
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
        if media_urls:
            # The reply was refused before this (422); should one still come, it fails
            # rather than going out without its files.
            raise SendFailed(
                "TeleSign sends text only: the message's files cannot go", permanent=True
            )
        account = account_of(channel, TeleSignAccount)
        try:
            phone_number = to_international_digits(to)
        except InvalidPhoneNumber as exc:
            raise SendFailed(
                f"TeleSign cannot send to that number: {exc}", permanent=True, code="invalid_number"
            ) from exc
        # The SDK is synchronous (requests): off the event loop, in a worker thread.
        try:
            response = await asyncio.to_thread(
                self._post, account, phone_number=phone_number, text=text, message_id=message_id
            )
        except requests.RequestException as exc:
            raise SendFailed(
                f"TeleSign unreachable: {exc}", permanent=False, code="unreachable"
            ) from exc
        answer = _answer(response.json)
        if not response.ok:
            raise SendFailed(
                answer.reason(),
                permanent=not is_transient(response.status_code),
                code=str(response.status_code),
            )
        if not answer.reference_id:
            # Sent or not, we cannot tell: failing it beats sending it twice on a retry.
            raise SendFailed(
                "TeleSign accepted the SMS without a reference_id",
                permanent=True,
                code="no_reference_id",
            )
        if answer.status and delivery_status(answer.status.code) is DeliveryStatus.FAILED:
            raise SendFailed(answer.reason(), permanent=True, code=str(answer.status.code))
        log.info("message %s sent by TeleSign as %s", message_id, answer.reference_id)
        return answer.reference_id

    def _post(
        self, account: TeleSignAccount, *, phone_number: str, text: str, message_id: str
    ) -> MessagingClient.Response:
        # A client per send: requests sessions are not shared between threads.
        client = MessagingClient(
            account.customer_id,
            account.api_key,
            rest_endpoint=self._api_base_url,
            timeout=TIMEOUT_SECONDS,
        )
        try:
            return client.message(
                phone_number,
                text,
                MESSAGE_TYPE,
                callback_url=self._status_callback_url,
                external_id=message_id,
            )
        finally:
            client.session.close()


def _answer(body: object) -> SendAnswer:
    try:
        return SendAnswer.model_validate(body if isinstance(body, dict) else {})
    except ValidationError:
        return SendAnswer()
