"""The composition root: settings in, wired services out. Nothing is opened at import time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from shared.adapters.acs_email import AcsEmailSender
from shared.adapters.azure_blobs import AzureBlobStore
from shared.adapters.cosmos.store import open_cosmos_store
from shared.adapters.http_bot import HttpBotClient
from shared.adapters.local_blobs import LocalBlobStore
from shared.adapters.local_bus import LocalMessageBus
from shared.adapters.sandbox_email import SandboxEmailSender
from shared.adapters.sandbox_sms import SandboxSmsSender
from shared.adapters.service_bus import ServiceBusMessageBus
from shared.adapters.sqlite.database import SqliteDatabase
from shared.adapters.sqlite.store import SqliteStore
from shared.adapters.system_clock import SystemClock
from shared.adapters.tokens import DevTokenIssuer, EntraTokenVerifier
from shared.channels.acs.sender import AcsSmsSender
from shared.channels.acs.webhook import AcsWebhook
from shared.channels.chat_tokens import ConversationTokens
from shared.channels.senders import ProviderSmsSender
from shared.channels.telesign.sender import TeleSignSmsSender
from shared.channels.telesign.webhook import TeleSignWebhook
from shared.channels.twilio.sender import TwilioSmsSender
from shared.channels.twilio.webhook import TwilioWebhook
from shared.domain.attachments import AttachmentLimits
from shared.domain.channels import SmsProvider
from shared.ports import (
    BlobStore,
    Clock,
    EmailSender,
    MessageBus,
    SmsSender,
    Store,
    TokenVerifier,
)
from shared.services.agent_work import AgentWorkService
from shared.services.assignments import AssignmentService
from shared.services.attachments import AttachmentService
from shared.services.bots import BotService
from shared.services.campaigns import CampaignService
from shared.services.channels import ChannelService
from shared.services.chat import ChatLimits, ChatService
from shared.services.collaboration import CollaborationService
from shared.services.conversation_search import ConversationSearchService
from shared.services.customers import CustomerService
from shared.services.delivery import DeliveryService
from shared.services.figures import FiguresService
from shared.services.inactivity import InactivityService
from shared.services.ingest import IngestService
from shared.services.notices import CustomerNotices
from shared.services.outbound import OutboundService
from shared.services.outcomes import OutcomeService
from shared.services.presence import PresenceService
from shared.services.queue_metrics import QueueMetrics
from shared.services.quick_replies import QuickReplyService
from shared.services.routing import RoutingService
from shared.services.routing_config import RoutingConfigService
from shared.services.sentiment import SentimentSwitch
from shared.services.sms_webhooks import SmsWebhookService
from shared.services.supervisor import SupervisorService
from shared.services.typing import TypingService
from shared.settings import Settings, get_settings


@dataclass(frozen=True)
class Container:
    settings: Settings
    store: Store
    bus: MessageBus
    local_bus: LocalMessageBus | None
    """The same bus when it is the embedded one: the local runtime consumes from it."""
    clock: Clock
    sms_sender: SmsSender
    tokens: TokenVerifier
    dev_issuer: DevTokenIssuer | None
    sms_webhooks: SmsWebhookService
    ingest: IngestService
    sentiment: SentimentSwitch
    routing: RoutingService
    agent_work: AgentWorkService
    outbound: OutboundService
    delivery: DeliveryService
    channels: ChannelService
    campaigns: CampaignService
    routing_config: RoutingConfigService
    assignments: AssignmentService
    chat: ChatService
    presence: PresenceService
    collaboration: CollaborationService
    bots: BotService
    inactivity: InactivityService
    # --- supervision and figures ---
    supervisor: SupervisorService
    figures: FiguresService
    queue_metrics: QueueMetrics
    # --- typing indicators ---
    typing: TypingService
    # --- customers and conversation search ---
    customers: CustomerService
    conversation_search: ConversationSearchService
    # --- quick replies ---
    quick_replies: QuickReplyService
    # --- agents' files ---
    attachments: AttachmentService
    # --- after the conversation ---
    outcomes: OutcomeService
    email_sender: EmailSender

    closers: tuple[Callable[[], Awaitable[None]], ...] = ()

    async def close(self) -> None:
        for close in reversed(self.closers):
            await close()


async def build_container(settings: Settings, *, clock: Clock | None = None) -> Container:
    """`clock`: tests drive time by hand (the embedded queue's schedule follows it too)."""
    given_clock = clock
    clock = clock or SystemClock()
    closers: list[Callable[[], Awaitable[None]]] = []
    database: SqliteDatabase | None = None
    if settings.storage_backend == "sqlite" or settings.queue_backend == "local":
        database = SqliteDatabase(settings.sqlite_path)
        await database.open()
        closers.append(database.close)
    store = await _open_store(settings, database, closers)
    local_bus: LocalMessageBus | None = None
    if database is not None and settings.queue_backend == "local":
        local_bus = LocalMessageBus(
            database,
            visibility_timeout=settings.queue_visibility_timeout_seconds,
            max_delivery_count=settings.queue_max_delivery_count,
            **({} if given_clock is None else {"clock": lambda: given_clock.now().timestamp()}),
        )
    bus = local_bus or await _open_bus(settings, closers)
    sms_sender = _sms_sender(settings, store, clock)
    dev_issuer: DevTokenIssuer | None = None
    tokens: TokenVerifier
    if settings.auth_mode == "entra":
        tokens = EntraTokenVerifier(
            authority_host=settings.entra_authority_host,
            tenant_id=settings.entra_tenant_id,
            audience=settings.auth_audience,
        )
    else:
        tokens = dev_issuer = DevTokenIssuer(
            settings.dev_auth_key_file, settings.dev_auth_issuer, settings.auth_audience
        )
    presence = PresenceService(store, clock, time_zone=settings.org_time_zone)
    notices = CustomerNotices(store, bus, clock, time_zone=settings.org_time_zone)
    routing = RoutingService(store, bus, clock, notices, presence=presence)
    bot_client = HttpBotClient()
    closers.append(bot_client.close)
    bots = BotService(store, bus, routing, bot_client, clock, notices=notices)
    inactivity = InactivityService(store, bus, routing, clock, notices=notices)
    sentiment = SentimentSwitch(store, clock, default=settings.sentiment_enabled)
    email_sender = _email_sender(settings, clock)
    outcomes = OutcomeService(store, clock, notices=notices, email=email_sender)
    ingest = IngestService(
        store,
        routing,
        clock,
        bots=bots,
        inactivity=inactivity,
        sentiment=sentiment,
        notices=notices,
        surveys=outcomes,
    )
    typing = TypingService(store, clock, ttl_seconds=settings.typing_ttl_seconds)
    attachments = AttachmentService(
        store,
        _blob_store(settings, closers),
        clock,
        limits=AttachmentLimits(
            max_bytes=settings.attachment_max_bytes,
            allowed_types=tuple(
                kind.strip().lower()
                for kind in settings.attachment_allowed_types.split(",")
                if kind.strip()
            ),
        ),
        url_lifetime=timedelta(seconds=settings.attachment_url_lifetime_seconds),
    )
    return Container(
        attachments=attachments,
        typing=typing,
        quick_replies=QuickReplyService(store),
        outcomes=outcomes,
        email_sender=email_sender,
        settings=settings,
        store=store,
        bus=bus,
        local_bus=local_bus,
        clock=clock,
        sms_sender=sms_sender,
        tokens=tokens,
        dev_issuer=dev_issuer,
        sms_webhooks=SmsWebhookService(
            store,
            bus,
            clock,
            webhooks=(
                TwilioWebhook(),
                TeleSignWebhook(),
                AcsWebhook(tokens if isinstance(tokens, EntraTokenVerifier) else None),
            ),
        ),
        ingest=ingest,
        sentiment=sentiment,
        routing=routing,
        agent_work=AgentWorkService(store, bus, routing, clock, presence, reply_media=attachments),
        outbound=OutboundService(store, sms_sender, bus, clock, media_links=attachments),
        delivery=DeliveryService(store, bus, clock),
        channels=ChannelService(store, sms_sender),
        campaigns=CampaignService(store, bus, clock),
        routing_config=RoutingConfigService(store, routing),
        assignments=AssignmentService(store, routing, clock, notices=notices, surveys=outcomes),
        chat=ChatService(
            store,
            ingest,
            routing,
            ConversationTokens(
                secret=settings.chat_token_secret,
                key_file=settings.chat_token_key_file,
                lifetime_seconds=settings.chat_token_lifetime_seconds,
            ),
            clock,
            ChatLimits(
                token_lifetime_seconds=settings.chat_token_lifetime_seconds,
                max_text_length=settings.chat_max_text_length,
                max_attachment_bytes=settings.chat_max_attachment_bytes,
                max_wait_seconds=settings.chat_max_wait_seconds,
                poll_interval_seconds=settings.chat_poll_interval_seconds,
            ),
            typing=typing,
            media_links=attachments,
        ),
        bots=bots,
        inactivity=inactivity,
        presence=presence,
        collaboration=CollaborationService(store, routing, clock, notices=notices),
        supervisor=SupervisorService(store, clock),
        queue_metrics=QueueMetrics(store, clock),
        customers=CustomerService(store),
        conversation_search=ConversationSearchService(store, clock),
        figures=FiguresService(
            store,
            clock,
            time_zone=settings.org_time_zone,
            service_level_seconds=settings.service_level_seconds,
            service_level_target=settings.service_level_target,
            staffing_window=timedelta(minutes=settings.staffing_window_minutes),
        ),
        closers=tuple(closers),
    )


async def _open_store(
    settings: Settings,
    database: SqliteDatabase | None,
    closers: list[Callable[[], Awaitable[None]]],
) -> Store:
    if settings.storage_backend == "sqlite":
        assert database is not None
        return SqliteStore(database)
    store = await open_cosmos_store(settings)
    closers.append(store.close)
    return store


def _email_sender(settings: Settings, clock: Clock) -> EmailSender:
    if settings.email_sender == "sandbox":
        return SandboxEmailSender(clock)
    if not settings.acs_email_endpoint or not settings.acs_email_sender:
        raise ValueError("EMAIL_SENDER=acs needs ACS_EMAIL_ENDPOINT and ACS_EMAIL_SENDER")
    return AcsEmailSender(
        settings.acs_email_endpoint,
        settings.acs_email_sender,
        managed_identity_client_id=settings.azure_client_id or None,
    )


async def _open_bus(settings: Settings, closers: list[Callable[[], Awaitable[None]]]) -> MessageBus:
    """Service Bus: the local bus is opened with the SQLite file in build_container."""
    bus = ServiceBusMessageBus.connect(
        settings.servicebus_namespace, client_id=settings.azure_client_id or None
    )
    closers.append(bus.close)
    return bus


def _blob_store(settings: Settings, closers: list[Callable[[], Awaitable[None]]]) -> BlobStore:
    if settings.attachment_storage == "azure":
        blobs = AzureBlobStore(
            settings.blob_account_url,
            settings.blob_container,
            managed_identity_client_id=settings.azure_client_id or None,
        )
        closers.append(blobs.close)
        return blobs
    data_dir = settings.sqlite_path.parent
    return LocalBlobStore(
        settings.attachment_folder or data_dir / "attachments",
        key_file=settings.attachment_signing_key_file or data_dir / "attachment-signing.key",
        public_base_url=settings.public_base_url,
    )


def _sms_sender(settings: Settings, store: Store, clock: Clock) -> SmsSender:
    if settings.sms_sender == "sandbox":
        return SandboxSmsSender(store, clock)
    status_base = settings.public_base_url.rstrip("/") + "/api/sms"
    return ProviderSmsSender(
        {
            SmsProvider.TWILIO: TwilioSmsSender(
                api_base_url=settings.twilio_api_base_url,
                status_callback_url=f"{status_base}/twilio/status",
            ),
            SmsProvider.TELESIGN: TeleSignSmsSender(
                api_base_url=settings.telesign_api_base_url,
                status_callback_url=f"{status_base}/telesign/status",
            ),
            # ACS reports delivery through Event Grid, to /api/sms/acs: no callback URL here.
            SmsProvider.ACS: AcsSmsSender(
                managed_identity_client_id=settings.azure_client_id or None
            ),
        }
    )


_container: Container | None = None
_lock = asyncio.Lock()


async def get_container() -> Container:
    """The process's container, built on first use from the settings."""
    global _container
    async with _lock:
        if _container is None:
            _container = await build_container(get_settings())
        return _container


def replace_container(container: Container | None) -> Container | None:
    """Make `container` the process's container and return the one it replaces: how a test
    runs the app on a container of its own (time driven by hand, say) and puts the other back."""
    global _container
    previous, _container = _container, container
    return previous


async def close_container() -> None:
    global _container
    async with _lock:
        if _container is not None:
            await _container.close()
            _container = None
