"""SMS provider webhooks."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import Field

from functions.dependencies import Services
from functions.problems import problem_responses
from shared.channels.acs.webhook import SECRET_HEADER, SECRET_QUERY_PARAMETER
from shared.channels.twilio.webhook import EMPTY_TWIML
from shared.domain.base import Model
from shared.domain.channels import SmsProvider
from shared.errors import BadRequest
from shared.ports import WebhookCall, WebhookKind

router = APIRouter(prefix="/api/sms", tags=["sms webhooks"])
# A CloudEvents webhook origin is a DNS name (Event Grid: eventgrid.azure.net).
_ORIGIN = re.compile(r"[A-Za-z0-9.:-]{1,255}")
# A provider's body is read raw (it is signed as sent): its refusals are declared by hand.
_MALFORMED = (400, "A malformed body")
_UNSIGNED = (403, "The signature does not match")
_SIGNED_BODY_PROBLEMS = problem_responses(
    _MALFORMED, _UNSIGNED, (404, "No channel of this provider serves the number")
)


def public_url(request: Request, base_url: str) -> str:
    """The URL as the provider called it: providers sign the public address, not the one a
    proxy or the Functions host hands us."""
    query = request.url.query
    return base_url.rstrip("/") + request.url.path + (f"?{query}" if query else "")


@router.post(
    "/twilio",
    response_class=Response,
    responses={
        200: {"content": {"text/xml": {}}, "description": "Empty TwiML: no auto reply"},
        **_SIGNED_BODY_PROBLEMS,
    },
)
async def twilio_inbound(request: Request, services: Services) -> Response:
    await services.sms_webhooks.accept(
        SmsProvider.TWILIO, await webhook_call(request, services, WebhookKind.MESSAGES)
    )
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post("/twilio/status", status_code=204, responses=_SIGNED_BODY_PROBLEMS)
async def twilio_status(request: Request, services: Services) -> Response:
    await services.sms_webhooks.accept(
        SmsProvider.TWILIO, await webhook_call(request, services, WebhookKind.STATUS)
    )
    return Response(status_code=204)


# TeleSign retries every answer but 200 (not 204), so both callbacks answer 200, empty.
@router.post(
    "/telesign",
    response_class=Response,
    responses={200: {"description": "Accepted"}, **_SIGNED_BODY_PROBLEMS},
)
async def telesign_inbound(request: Request, services: Services) -> Response:
    await services.sms_webhooks.accept(
        SmsProvider.TELESIGN, await webhook_call(request, services, WebhookKind.MESSAGES)
    )
    return Response(status_code=200)


@router.post(
    "/telesign/status",
    response_class=Response,
    # Its body names no number: the signature selects the account.
    responses={200: {"description": "Accepted"}, **problem_responses(_MALFORMED, _UNSIGNED)},
)
async def telesign_status(request: Request, services: Services) -> Response:
    await services.sms_webhooks.accept(
        SmsProvider.TELESIGN, await webhook_call(request, services, WebhookKind.STATUS)
    )
    return Response(status_code=200)


class EventGridValidationAnswer(Model):
    validation_response: str = Field(serialization_alias="validationResponse")


class EventGridAccepted(Model):
    accepted: int = Field(description="SMS and delivery reports durably enqueued")
    ignored: int = Field(description="events acknowledged and dropped (other event types)")


def _event_grid_secrets(
    _query_secret: Annotated[
        str | None,
        Query(
            alias=SECRET_QUERY_PARAMETER,
            description="the ACS channel's webhook secret, in the Event Grid subscription URL",
        ),
    ] = None,
    _header_secret: Annotated[
        str | None,
        Header(
            alias=SECRET_HEADER, description="the same secret, as an Event Grid delivery header"
        ),
    ] = None,
) -> None:
    """Declares where Event Grid puts the secret (the provider reads the call itself)."""


_NO_ACS_SECRET = (401, "No webhook secret, nor a valid Event Grid token")


@router.post(
    "/acs",
    response_model=EventGridValidationAnswer | EventGridAccepted,
    responses=problem_responses(
        _NO_ACS_SECRET,
        (403, "Not the secret of the channel of every event"),
        (404, "No ACS channel serves an event's number"),
    ),
)
async def acs_events(
    request: Request, services: Services, _secrets: Annotated[None, Depends(_event_grid_secrets)]
) -> EventGridValidationAnswer | EventGridAccepted:
    """Event Grid deliveries from Azure Communication Services, in the Event Grid or the
    CloudEvents 1.0 schema: the subscription validation handshake, SMSReceived and
    SMSDeliveryReportReceived. 200 only once every event is durably enqueued."""
    outcome = await services.sms_webhooks.accept(
        SmsProvider.ACS, await webhook_call(request, services, WebhookKind.MESSAGES)
    )
    if outcome.validation_code is not None:
        return EventGridValidationAnswer(validation_response=outcome.validation_code)
    accepted = len(outcome.messages) + len(outcome.reports)
    return EventGridAccepted(accepted=accepted, ignored=outcome.ignored)


@router.options(
    "/acs",
    response_class=Response,
    responses={
        200: {"description": "WebHook-Allowed-Origin echoes WebHook-Request-Origin"},
        **problem_responses(_NO_ACS_SECRET, (403, "Not any ACS channel's secret")),
    },
)
async def acs_handshake(
    request: Request,
    services: Services,
    _secrets: Annotated[None, Depends(_event_grid_secrets)],
    webhook_request_origin: Annotated[str | None, Header()] = None,
) -> Response:
    """The CloudEvents abuse-protection handshake Event Grid sends to the subscription's URL
    (so with its `?code=` secret), which must carry an ACS channel's secret like any delivery."""
    await services.sms_webhooks.accept(
        SmsProvider.ACS, await webhook_call(request, services, WebhookKind.HANDSHAKE)
    )
    if not webhook_request_origin:
        raise BadRequest("the handshake lacks WebHook-Request-Origin")
    if not _ORIGIN.fullmatch(webhook_request_origin):
        # It is echoed in a response header: never let CR, LF or spaces through.
        raise BadRequest("WebHook-Request-Origin is not a host name")
    return Response(
        status_code=200,
        headers={"WebHook-Allowed-Origin": webhook_request_origin, "WebHook-Allowed-Rate": "*"},
    )


async def webhook_call(request: Request, services: Services, kind: WebhookKind) -> WebhookCall:
    return WebhookCall(
        kind=kind,
        url=public_url(request, services.settings.public_base_url),
        body=await request.body(),
        headers={name.lower(): value for name, value in request.headers.items()},
        query=dict(request.query_params),
    )
