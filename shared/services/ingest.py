"""Ingest: one inbound customer message becomes a stored message in an open conversation,
with a work item waiting in the queue the workstream's rules chose."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from shared import telemetry
from shared.domain.channels import Channel
from shared.domain.conversations import (
    Conversation,
    InboundMessage,
    Message,
    SenderKind,
    customer_message,
)
from shared.domain.customers import ConsentAction, Customer
from shared.domain.lifecycle import reopen_since
from shared.domain.message_ids import new_message_id
from shared.domain.routing import Placement, RoutingFacts, classify
from shared.domain.routing_config import AutomatedEvent, Workstream
from shared.domain.sentiment import Sentiment, roll, score_text
from shared.domain.work import WorkItem, WorkItemStatus
from shared.errors import NotFound
from shared.ports import (
    AgentStateStore,
    ChannelStore,
    Clock,
    ConversationStore,
    CustomerStore,
    RoutingConfigStore,
    WorkItemStore,
)
from shared.services.lifecycle import reopened_work
from shared.services.notices import CustomerNotices
from shared.services.routing import RoutingService
from shared.services.sentiment import SentimentSwitch

if TYPE_CHECKING:
    from shared.services.bots import BotService
    from shared.services.inactivity import InactivityService
    from shared.services.outcomes import OutcomeService


class IngestPorts(
    ChannelStore,
    RoutingConfigStore,
    CustomerStore,
    ConversationStore,
    WorkItemStore,
    AgentStateStore,
    Protocol,
):
    """The store ports this service needs."""


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestOutcome:
    conversation: Conversation
    message: Message | None
    """None when the provider message was already stored (a retry)."""
    work_item: WorkItem
    """When the message answered its conversation's satisfaction survey: that conversation's
    last (closed) item, as nothing new was opened."""


class IngestService:
    def __init__(
        self,
        store: IngestPorts,
        routing: RoutingService,
        clock: Clock,
        *,
        notices: CustomerNotices,
        bots: BotService | None = None,
        inactivity: InactivityService | None = None,
        sentiment: SentimentSwitch | None = None,
        surveys: OutcomeService | None = None,
    ) -> None:
        self._store = store
        self._surveys = surveys
        self._routing = routing
        self._notices = notices
        self._clock = clock
        self._bots = bots
        self._inactivity = inactivity
        self._sentiment = sentiment

    async def ingest(self, inbound: InboundMessage) -> IngestOutcome:
        """Idempotent: a redelivered message is not stored twice, and whatever a crashed
        earlier attempt left undone (the work item, the routing request) is done now."""
        with telemetry.span("ingest") as span:
            telemetry.identify(span, provider=inbound.provider)
            outcome = await self._ingest(inbound)
            telemetry.identify(
                span,
                conversation_id=outcome.conversation.id,
                channel_id=outcome.conversation.channel_id,
                work_item_id=outcome.work_item.id,
                queue_id=outcome.work_item.queue_id,
                message_id=None if outcome.message is None else outcome.message.id,
            )
            return outcome

    async def _ingest(self, inbound: InboundMessage) -> IngestOutcome:
        channel = await self._channel(inbound)
        if channel is None:
            raise NotFound(f"no {inbound.channel} channel at {inbound.business_address}")
        workstream = await self._store.get_workstream(channel.workstream_id)
        if workstream is None:
            raise NotFound(f"channel {channel.id} names unknown workstream")
        now = self._clock.now()
        if inbound.consent in (ConsentAction.OPT_OUT, ConsentAction.OPT_IN):
            await self._store.set_sms_consent(
                inbound.customer_address,
                opted_out=inbound.consent == ConsentAction.OPT_OUT,
                at=inbound.received_at,
            )
        if inbound.consent is None and self._surveys is not None:
            # After the consent keywords, before any reopen: "4" within the window after the
            # survey question answers it, opening nothing.
            answered = await self._surveys.sms_answer(channel.id, workstream, inbound)
            if answered is not None:
                conversation, message, item = answered
                return IngestOutcome(conversation=conversation, message=message, work_item=item)
        customer_id, candidates = await self._identify(channel, inbound.customer_address)
        sentiment = await self.sentiment_of(inbound.text)

        conversation, opened = await self._store.open_conversation(
            Conversation(
                id=uuid.uuid4().hex,
                channel=channel.kind,
                channel_id=channel.id,
                workstream_id=workstream.id,
                customer_address=inbound.customer_address,
                business_address=inbound.business_address,
                customer_id=customer_id,
                customer_candidates=candidates,
                opened_at=now,
                # A conversation this message opens starts with its sentiment (it is message
                # 1): the roll after the message is stored then finds it folded in and writes
                # nothing, which saves rewriting the document just created (~10 RU on Cosmos).
                sentiment=None if sentiment is None else roll(None, 1, sentiment),
            ),
            reopen_closed_since=reopen_since(now, workstream.reopen_window_seconds),
        )
        provider_id = inbound.stored_provider_id
        stored = await self._store.append_message(
            customer_message(
                inbound,
                new_message_id(conversation.id),
                conversation.id,
                media=inbound.media,
                sentiment=sentiment,
            )
        )
        item = await self.route_conversation(
            conversation,
            workstream,
            RoutingFacts(
                channel=channel.kind,
                business_address=inbound.business_address,
                text=inbound.text,
                customer_identified=customer_id is not None,
            ),
            opened=opened,
        )
        # A retry finds the message stored: what followed it may not have happened yet.
        message = stored or await self._store.find_message_by_provider_id(provider_id)
        if message is not None:
            await self.customer_wrote(conversation, workstream, item, message)
        return IngestOutcome(conversation=conversation, message=stored, work_item=item)

    # --- bots and auto-close ---------------------------------------------------------

    async def customer_wrote(
        self,
        conversation: Conversation,
        workstream: Workstream,
        item: WorkItem | None,
        message: Message | None,
    ) -> None:
        """After a customer message (None: a chat just opened): its sentiment rolls into the
        conversation's, the bot, if it has the conversation, gets a turn, and the silence that
        would auto-close it is watched. Idempotent, as its callers are retried."""
        if message is not None:
            await self._roll_sentiment(conversation.id, message)
        if self._bots is not None and item is not None and message is not None:
            await self._bots.heard(item, message)
        if self._inactivity is not None:
            await self._inactivity.watch(
                conversation,
                workstream,
                after_sequence=0 if message is None else message.sequence,
                since=conversation.opened_at if message is None else message.created_at,
            )

    # --- sentiment -------------------------------------------------------------------

    async def sentiment_of(self, text: str) -> Sentiment | None:
        """A customer message's sentiment, unless sentiment is switched off (or no switch was
        given) or there are no words to score (an attachment alone)."""
        if not text.strip() or self._sentiment is None or not await self._sentiment.enabled():
            return None
        return score_text(text)

    async def _roll_sentiment(self, conversation_id: str, message: Message) -> None:
        scored = message.sentiment
        if scored is None or message.sender != SenderKind.CUSTOMER:
            return
        # A retry finds the message folded in already: `roll` then leaves the score alone.
        await self._store.change_conversation_sentiment(
            conversation_id, lambda previous: roll(previous, message.sequence, scored)
        )

    async def route_conversation(
        self,
        conversation: Conversation,
        workstream: Workstream,
        facts: RoutingFacts,
        *,
        opened: bool = False,
    ) -> WorkItem:
        """The conversation's unclosed work item; without one, a new one waits in the queue the
        workstream's rules choose from the facts. A waiting item's queue is asked to route
        (again: idempotent). Shared by SMS ingest and chat sessions. `opened`: the caller has
        just opened the conversation, so it has no item to look for (should a racing caller
        have created one meanwhile, create_work_item answers with that one)."""
        item = None if opened else await self._store.open_work_item(conversation.id)
        if item is None and not opened:
            item = await self._reopened_work(conversation)
        if item is None:
            decision = classify(workstream, await self._store.list_rules(workstream.id), facts)
            # A bot answers first where it fronts the queue; hours and overflow apply when it
            # hands over (shared/services/bots.py).
            with_bot = workstream.bot is not None and workstream.bot.fronts(decision.queue_id)
            # Out of hours or overflowing, the rule's queue may send the work elsewhere.
            placement = (
                Placement(queue_id=decision.queue_id)
                if with_bot
                else await self._routing.placement(decision.queue_id)
            )
            item, created = await self._store.create_work_item(
                WorkItem(
                    id=uuid.uuid4().hex,
                    conversation_id=conversation.id,
                    workstream_id=workstream.id,
                    queue_id=placement.queue_id,
                    priority=decision.priority,
                    capacity_units=workstream.capacity_units,
                    required_skills=decision.required_skills,
                    status=WorkItemStatus.BOT if with_bot else WorkItemStatus.WAITING,
                    enqueued_at=self._clock.now(),
                    # Routing, the agent's answer and its delivery continue this trace.
                    trace_context=telemetry.current_traceparent(),
                )
            )
            log.info(
                "conversation %s waits in queue %s (rule %s)",
                conversation.id,
                item.queue_id,
                decision.rule_id or "fallback",
            )
            if created and placement.reason is not None:
                await self._routing.redirected(item, placement, from_queue_id=decision.queue_id)
            if created and item.status == WorkItemStatus.WAITING:  # "you are number n"
                await self._notices.announce(item, AutomatedEvent.RECEIVED, workstream=workstream)
        if item.status == WorkItemStatus.WAITING:
            await self._routing.request_routing([item.queue_id], item_id=item.id)
        return item

    async def _reopened_work(self, conversation: Conversation) -> WorkItem | None:
        """A conversation the customer reopened (within the workstream's window) after its last
        item closed gets work like that item's, to its last agent if it can take it now."""
        last = await self._store.last_work_item(conversation.id)
        if (
            last is None
            or last.closed_at is None
            or conversation.reopened_at is None
            or last.closed_at > conversation.reopened_at
        ):
            return None
        item, _ = await reopened_work(
            self._store,
            self._routing,
            last,
            self._clock.now(),
            why="reopened by the customer's message within the reopen window",
        )
        return item

    async def _channel(self, inbound: InboundMessage) -> Channel | None:
        """The channel serving the number texted: the webhook found it and passed its id on
        (one point read), unless the number has moved to another channel since, or the message
        was enqueued before webhooks passed it."""
        if inbound.channel_id is not None:
            channel = await self._store.get_channel(inbound.channel_id)
            if (
                channel is not None
                and channel.kind == inbound.channel
                and inbound.business_address in channel.addresses
            ):
                return channel
        return await self._store.find_channel(inbound.channel, inbound.business_address)

    async def _identify(self, channel: Channel, phone: str) -> tuple[str | None, tuple[str, ...]]:
        """The customer a number belongs to: one record identifies it; several leave it
        unidentified with the candidates kept for the agent; none creates a contact only if
        the channel says so (with an id derived from the number, so retries create one)."""
        customers = await self._store.find_customers_by_phone(phone)
        if len(customers) == 1:
            return customers[0].id, ()
        if customers:
            return None, tuple(c.id for c in customers)
        if not channel.create_unknown_contacts:
            return None, ()
        contact = Customer(
            id=f"contact-{phone.lstrip('+')}", display_name=phone, mobile_phone=phone
        )
        await self._store.put_customer(contact)
        return contact.id, ()
