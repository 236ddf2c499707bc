"""SMS provider webhooks."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import Field

from functions.dependencies import Services
from functions.problems import problem_responses
from shared.channels import acs
from shared.channels.twilio import EMPTY_TWIML
from shared.domain.base import Model
from shared.errors import BadRequest
from shared.services.sms_webhooks import EventGridDelivery, SignedForm, SignedJson

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
    await services.sms_webhooks.accept_twilio(await signed_form(request, services))
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post("/twilio/status", status_code=204, responses=_SIGNED_BODY_PROBLEMS)
async def twilio_status(request: Request, services: Services) -> Response:
    await services.sms_webhooks.accept_twilio_status(await signed_form(request, services))
    return Response(status_code=204)


# TeleSign retries every answer but 200 (not 204), so both callbacks answer 200, empty.
@router.post(
    "/telesign",
    response_class=Response,
    responses={200: {"description": "Accepted"}, **_SIGNED_BODY_PROBLEMS},
)
async def telesign_inbound(request: Request, services: Services) -> Response:
    await services.sms_webhooks.accept_telesign(await signed_json(request))
    return Response(status_code=200)


@router.post(
    "/telesign/status",
    response_class=Response,
    # Its body names no number: the signature selects the account.
    responses={200: {"description": "Accepted"}, **problem_responses(_MALFORMED, _UNSIGNED)},
)
async def telesign_status(request: Request, services: Services) -> Response:
    await services.sms_webhooks.accept_telesign_status(await signed_json(request))
    return Response(status_code=200)


class EventGridValidationAnswer(Model):
    validation_response: str = Field(serialization_alias="validationResponse")


class EventGridAccepted(Model):
    accepted: int = Field(description="SMS and delivery reports durably enqueued")
    ignored: int = Field(description="events acknowledged and dropped (other event types)")


async def event_grid_delivery(
    request: Request,
    query_secret: Annotated[
        str | None,
        Query(
            alias=acs.SECRET_QUERY_PARAMETER,
            description="the ACS channel's webhook secret, in the Event Grid subscription URL",
        ),
    ] = None,
    header_secret: Annotated[
        str | None,
        Header(
            alias=acs.SECRET_HEADER,
            description="the same secret, as an Event Grid delivery header",
        ),
    ] = None,
) -> EventGridDelivery:
    return EventGridDelivery(
        body=await request.body(),
        secrets=tuple(s for s in (query_secret, header_secret) if s is not None),
        bearer_token=_bearer(request.headers.get("authorization")),
    )


def _bearer(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


AcsDelivery = Annotated[EventGridDelivery, Depends(event_grid_delivery)]
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
    delivery: AcsDelivery, services: Services
) -> EventGridValidationAnswer | EventGridAccepted:
    """Event Grid deliveries from Azure Communication Services, in the Event Grid or the
    CloudEvents 1.0 schema: the subscription validation handshake, SMSReceived and
    SMSDeliveryReportReceived. 200 only once every event is durably enqueued."""
    outcome = await services.sms_webhooks.accept_acs(delivery)
    if outcome.validation_code is not None:
        return EventGridValidationAnswer(validation_response=outcome.validation_code)
    return EventGridAccepted(accepted=outcome.accepted, ignored=outcome.ignored)


@router.options(
    "/acs",
    response_class=Response,
    responses={
        200: {"description": "WebHook-Allowed-Origin echoes WebHook-Request-Origin"},
        **problem_responses(_NO_ACS_SECRET, (403, "Not any ACS channel's secret")),
    },
)
async def acs_handshake(
    delivery: AcsDelivery,
    services: Services,
    webhook_request_origin: Annotated[str | None, Header()] = None,
) -> Response:
    """The CloudEvents abuse-protection handshake Event Grid sends to the subscription's URL
    (so with its `?code=` secret), which must carry an ACS channel's secret like any delivery."""
    await services.sms_webhooks.accept_acs_handshake(delivery)
    if not webhook_request_origin:
        raise BadRequest("the handshake lacks WebHook-Request-Origin")
    if not _ORIGIN.fullmatch(webhook_request_origin):
        # It is echoed in a response header: never let CR, LF or spaces through.
        raise BadRequest("WebHook-Request-Origin is not a host name")
    return Response(
        status_code=200,
        headers={"WebHook-Allowed-Origin": webhook_request_origin, "WebHook-Allowed-Rate": "*"},
    )


async def signed_json(request: Request) -> SignedJson:
    return SignedJson(
        body=await request.body(),
        authorizations=(
            request.headers.get("authorization"),
            request.headers.get("x-ts-authorization"),
        ),
    )


async def signed_form(request: Request, services: Services) -> SignedForm:
    return SignedForm(
        url=public_url(request, services.settings.public_base_url),
        body=await request.body(),
        signature=request.headers.get("x-twilio-signature"),
        settings=request.headers.get("x-twilio-webhooks-signature-settings"),
    )
