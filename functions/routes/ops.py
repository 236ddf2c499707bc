"""Health, and the sandbox SMS outbox that stands in for a provider locally."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from functions.dependencies import PageSize, Services, SupervisorCaller
from shared.adapters.sandbox_email import SandboxEmailSender
from shared.domain.conversations import SentSms
from shared.domain.outcomes import SentEmail

router = APIRouter(prefix="/api", tags=["operations"])


class Health(BaseModel):
    status: str
    storage: str
    queue: str
    sms_sender: str


@router.get("/health")
async def health(services: Services) -> Health:
    settings = services.settings
    return Health(
        status="ok",
        storage=settings.storage_backend,
        queue=settings.queue_backend,
        sms_sender=settings.sms_sender,
    )


@router.get("/sandbox/sms")
async def sandbox_outbox(
    _: SupervisorCaller, services: Services, limit: PageSize = 50
) -> list[SentSms]:
    """What the sandbox SMS sender recorded instead of sending, newest first."""
    return await services.outbound.sandbox_outbox(limit=limit)


@router.get("/sandbox/email")
async def sandbox_email(
    _: SupervisorCaller, services: Services, limit: PageSize = 50
) -> list[SentEmail]:
    """What the sandbox email sender recorded instead of sending (transcripts), newest first;
    empty when the app sends through Azure Communication Services."""
    sender = services.email_sender
    return list(sender.sent(limit=limit)) if isinstance(sender, SandboxEmailSender) else []
