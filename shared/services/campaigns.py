"""Message templates and templated bulk SMS: each send idempotent, progress readable, opted-out
numbers skipped."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections import Counter
from typing import Protocol

from pydantic import Field

from shared.bus_messages import BULK, OUTBOUND, BulkRequest, OutboundRequest
from shared.domain.base import Model
from shared.domain.campaigns import (
    OutboundJob,
    Recipient,
    RecipientState,
    Template,
    TemplateText,
)
from shared.domain.channels import Channel, ChannelKind
from shared.domain.conversations import Conversation, DeliveryStatus, Direction, Message, SenderKind
from shared.domain.customers import Customer
from shared.domain.placeholders import PlaceholderError, fill, require_known
from shared.errors import BadRequest, NotFound, existing
from shared.ports import (
    CampaignStore,
    ChannelStore,
    Clock,
    ConversationStore,
    CustomerStore,
    MessageBus,
)
from shared.services.listing import Page, page_of


class CampaignPorts(ChannelStore, CustomerStore, ConversationStore, CampaignStore, Protocol):
    """The store ports this service needs."""


log = logging.getLogger(__name__)

MAX_RECIPIENTS = 10_000


def customer_values(customer: Customer) -> dict[str, str]:
    """What a template may say about its recipient."""
    first, _, last = customer.display_name.partition(" ")
    return {"customer_name": customer.display_name, "first_name": first, "last_name": last}


CUSTOMER_PLACEHOLDERS = frozenset(customer_values(Customer(id="", display_name="a b")))


class TemplateInput(TemplateText):
    """A template as an admin writes it: what GET shows can be written back as it is."""

    id: str | None = Field(default=None, description="the path's, if given")


class BulkOutboundRequest(Model):
    template_id: str
    channel_id: str
    customer_ids: tuple[str, ...] = Field(min_length=1, max_length=MAX_RECIPIENTS)
    values: dict[str, str] = Field(default_factory=dict, description="other placeholders")
    request_id: str | None = Field(
        default=None,
        max_length=100,
        description="repeat a request with the same id and it is not sent twice",
    )


class JobProgress(Model):
    job: OutboundJob
    counts: dict[RecipientState, int]
    done: bool


class CampaignService:
    def __init__(self, store: CampaignPorts, bus: MessageBus, clock: Clock) -> None:
        self._store = store
        self._bus = bus
        self._clock = clock

    async def put_template(self, template_id: str, given: TemplateInput) -> Template:
        """Refused (400) when the body names a placeholder that is neither the customer's
        nor a parameter, or a parameter is the customer's."""
        shadowing = CUSTOMER_PLACEHOLDERS.intersection(given.parameters)
        if shadowing:
            raise BadRequest(f"parameters {', '.join(sorted(shadowing))} are the customer's")
        try:
            require_known(given.body, CUSTOMER_PLACEHOLDERS | set(given.parameters))
        except PlaceholderError as exc:
            raise BadRequest(str(exc)) from exc
        template = Template.model_validate(given.model_dump() | {"id": template_id})
        await self._store.put_template(template)
        return template

    async def list_templates(self, *, after: str | None, limit: int) -> Page[Template]:
        return await page_of(self._store.list_templates, after=after, limit=limit)

    async def get_template(self, template_id: str) -> Template:
        return existing(await self._store.get_template(template_id), f"template {template_id}")

    async def delete_template(self, template_id: str) -> None:
        if not await self._store.delete_template(template_id):
            raise NotFound(f"template {template_id} does not exist")

    async def start(self, request: BulkOutboundRequest) -> JobProgress:
        template = await self.get_template(request.template_id)
        channel = await self._store.get_channel(request.channel_id)
        if channel is None or channel.kind != ChannelKind.SMS:
            raise NotFound(f"no SMS channel {request.channel_id}")
        missing = set(template.parameters) - set(request.values)
        if missing:
            raise BadRequest(f"the template needs values for {', '.join(sorted(missing))}")
        unknown = set(request.values) - set(template.parameters)
        if unknown:
            raise BadRequest(f"the template has no parameter {', '.join(sorted(unknown))}")
        job_id = (
            "job-" + hashlib.sha256(request.request_id.encode()).hexdigest()[:24]
            if request.request_id
            else "job-" + uuid.uuid4().hex
        )
        job, _ = await self._store.create_outbound_job(
            OutboundJob(
                id=job_id,
                template_id=template.id,
                channel_id=channel.id,
                values=request.values,
                recipients=tuple(
                    Recipient(customer_id=c) for c in dict.fromkeys(request.customer_ids)
                ),
                created_at=self._clock.now(),
            )
        )
        await self._bus.send(
            BULK, BulkRequest(job_id=job.id).model_dump_json(), session_id=job.id, message_id=job.id
        )
        return _progress(job)

    async def progress(self, job_id: str) -> JobProgress:
        job = existing(await self._store.get_outbound_job(job_id), f"outbound job {job_id}")
        return _progress(job)

    async def work(self, job_id: str) -> None:
        """Send to every pending recipient. Idempotent: a recipient's message id is derived
        from the job, so a retry after a crash finds what it already stored and sent."""
        job = await self._store.get_outbound_job(job_id)
        if job is None:
            log.warning("bulk request for unknown job %s dropped", job_id)
            return
        template = await self._store.get_template(job.template_id)
        channel = await self._store.get_channel(job.channel_id)
        for recipient in job.recipients:
            if recipient.state != RecipientState.PENDING:
                continue
            if template is None or channel is None:
                outcome = recipient.model_copy(
                    update={"state": RecipientState.FAILED, "detail": "template or channel gone"}
                )
            else:
                outcome = await self._send_one(job, template, channel, recipient)
            await self._store.set_recipient(job.id, outcome)

    async def _send_one(
        self, job: OutboundJob, template: Template, channel: Channel, recipient: Recipient
    ) -> Recipient:
        customer = await self._store.get_customer(recipient.customer_id)
        phone = customer and (customer.mobile_phone or customer.account_phone)
        if customer is None or not phone:
            return recipient.model_copy(update={"state": RecipientState.SKIPPED_NO_PHONE})
        if await self._store.is_opted_out(phone):
            return recipient.model_copy(update={"state": RecipientState.SKIPPED_OPTED_OUT})
        try:
            text = fill(template.body, {**job.values, **customer_values(customer)})
        except PlaceholderError as exc:
            return recipient.model_copy(update={"state": RecipientState.FAILED, "detail": str(exc)})
        conversation, _ = await self._store.open_conversation(
            Conversation(
                id=uuid.uuid4().hex,
                channel=channel.kind,
                channel_id=channel.id,
                workstream_id=channel.workstream_id,
                customer_address=phone,
                business_address=channel.addresses[0],
                customer_id=customer.id,
                opened_at=self._clock.now(),
            )
        )
        message_id = hashlib.sha256(f"{job.id}:{customer.id}".encode()).hexdigest()[:32]
        await self._store.append_message(
            Message(
                id=message_id,
                conversation_id=conversation.id,
                direction=Direction.OUTBOUND,
                sender=SenderKind.SYSTEM,
                text=text,
                status=DeliveryStatus.QUEUED,
                created_at=self._clock.now(),
            )
        )
        await self._bus.send(
            OUTBOUND,
            OutboundRequest(message_id=message_id).model_dump_json(),
            session_id=conversation.id,
            message_id=f"outbound:{message_id}",
        )
        return recipient.model_copy(
            update={"state": RecipientState.QUEUED, "message_id": message_id}
        )


def _progress(job: OutboundJob) -> JobProgress:
    counts = Counter(r.state for r in job.recipients)
    return JobProgress(
        job=job,
        counts={state: counts.get(state, 0) for state in RecipientState},
        done=counts.get(RecipientState.PENDING, 0) == 0,
    )
