"""SMS provider webhooks."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from functions.dependencies import Services
from shared.channels.twilio import EMPTY_TWIML
from shared.services.sms_webhooks import SignedForm

router = APIRouter(prefix="/api/sms", tags=["sms webhooks"])


def public_url(request: Request, base_url: str) -> str:
    """The URL as the provider called it: providers sign the public address, not the one a
    proxy or the Functions host hands us."""
    query = request.url.query
    return base_url.rstrip("/") + request.url.path + (f"?{query}" if query else "")


@router.post(
    "/twilio",
    response_class=Response,
    responses={200: {"content": {"text/xml": {}}, "description": "Empty TwiML: no auto reply"}},
)
async def twilio_inbound(request: Request, services: Services) -> Response:
    await services.sms_webhooks.accept_twilio(await signed_form(request, services))
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post("/twilio/status", status_code=204)
async def twilio_status(request: Request, services: Services) -> Response:
    await services.sms_webhooks.accept_twilio_status(await signed_form(request, services))
    return Response(status_code=204)


async def signed_form(request: Request, services: Services) -> SignedForm:
    return SignedForm(
        url=public_url(request, services.settings.public_base_url),
        body=await request.body(),
        signature=request.headers.get("x-twilio-signature"),
        settings=request.headers.get("x-twilio-webhooks-signature-settings"),
    )
