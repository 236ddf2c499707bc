"""Bots: a workstream's bot answers customers first, off the webhook path (the `bot` queue),
and hands the conversation to a human queue when it says so, fails for good, or times out.

While the bot has a conversation, its work item is in the `bot` state: in the queue the rules
chose, holding no agent's capacity, invisible to routing. Escalation makes it wait there (after
the queue's hours and overflow have their say) with the whole transcript, the bot's messages
marked as the bot's, and an internal note saying why. Wire contract: docs/bots.md.
"""

from __future__ import annotations

import logging
import uuid
from typing import Protocol

from shared.bus_messages import BOT, BotTurn
from shared.domain.bots import BotAttachment, BotCustomerMessage, BotRequest, retry_delay
from shared.domain.conversations import Conversation, Direction, Message, SenderKind
from shared.domain.routing_config import BotConfig
from shared.domain.work import WorkItem, WorkItemStatus
from shared.ports import (
    BotClient,
    BotFailed,
    Clock,
    ConversationStore,
    MessageBus,
    RoutingConfigStore,
    WorkItemStore,
)
from shared.services.notices import CustomerNotices
from shared.services.routing import RoutingService


class BotPorts(RoutingConfigStore, ConversationStore, WorkItemStore, Protocol):
    """The store ports this service needs."""


log = logging.getLogger(__name__)


class BotService:
    def __init__(
        self,
        store: BotPorts,
        bus: MessageBus,
        routing: RoutingService,
        bots: BotClient,
        clock: Clock,
        *,
        notices: CustomerNotices,
    ) -> None:
        self._store = store
        self._bus = bus
        self._routing = routing
        self._notices = notices
        self._bots = bots
        self._clock = clock

    async def heard(self, item: WorkItem, message: Message) -> None:
        """A customer message arrived: if the bot has the conversation, it gets a turn. Once
        per message however often ingest retries (the queue drops a repeated id)."""
        if item.status != WorkItemStatus.BOT:
            return
        await self._bus.send(
            BOT,
            BotTurn(conversation_id=item.conversation_id, message_id=message.id).model_dump_json(),
            session_id=item.conversation_id,
            message_id=f"bot:{message.id}",
        )

    async def answer(self, turn: BotTurn) -> None:
        """The `bot` trigger: call the bot for one customer message and act on its answer.
        Idempotent: a redelivered turn may call the bot again (the request carries the
        message id as its idempotency key), but its reply is stored and sent once."""
        item = await self._store.open_work_item(turn.conversation_id)
        if item is None or item.status != WorkItemStatus.BOT:
            return  # a human has it now, or it was closed: the bot has nothing more to say
        conversation = await self._store.get_conversation(turn.conversation_id)
        message = await self._store.get_message(turn.message_id)
        if conversation is None or message is None:
            log.error("bot turn for unknown conversation or message %s: dropped", turn.message_id)
            return
        workstream = await self._store.get_workstream(item.workstream_id)
        bot = None if workstream is None else workstream.bot
        if bot is None or not bot.fronts(item.queue_id):
            await self.escalate(item, reason="the workstream no longer has a bot for this queue")
            return
        try:
            answer = await self._bots.converse(
                bot, _request(bot, conversation, message, turn.failed_attempts + 1, self._clock)
            )
        except BotFailed as failure:
            failed = turn.failed_attempts + 1
            if not failure.permanent and failed < bot.max_attempts:
                await self._retry_later(turn, failed, failure.reason)
                return
            log.warning("bot %s failed on %s: %s", bot.id, message.id, failure.reason)
            await self.escalate(item, bot=bot, reason=f"bot {bot.id} failed: {failure.reason}")
            return
        if answer.reply is not None:
            await self._notices.send(
                conversation.id,
                answer.reply,
                key=f"bot-reply:{message.id}",
                sender=SenderKind.BOT,
                bot_id=bot.id,
            )
        if answer.escalate:
            why = answer.reason or "no reason given"
            await self.escalate(item, bot=bot, reason=f"bot {bot.id} escalated: {why}")

    async def _retry_later(self, turn: BotTurn, failed: int, reason: str) -> None:
        # A scheduled copy, not an exception: an abandoned message comes back at once.
        delay = retry_delay(failed)
        log.warning(
            "bot turn %s: transient failure %d (%s), retrying in %s",
            turn.message_id,
            failed,
            reason,
            delay,
        )
        await self._bus.send(
            BOT,
            turn.model_copy(update={"failed_attempts": failed}).model_dump_json(),
            session_id=turn.conversation_id,
            message_id=f"bot:{turn.message_id}:retry:{failed}",
            not_before=self._clock.now() + delay,
        )

    async def escalate(self, item: WorkItem, *, reason: str, bot: BotConfig | None = None) -> None:
        """Hand the conversation to its human queue: an internal note says why (the bot's
        messages before it are the transcript), the item waits from now, out of hours or on
        overflow it goes where its queue says, and the queue is routed at once."""
        note_id = f"bot-note-{uuid.uuid5(uuid.NAMESPACE_URL, item.id).hex}"
        await self._store.append_message(
            Message(
                id=note_id,
                conversation_id=item.conversation_id,
                direction=Direction.OUTBOUND,
                sender=SenderKind.SYSTEM,
                bot_id=None if bot is None else bot.id,
                internal=True,
                text=f"Handed over to an agent: {reason}. The messages above are the bot's "
                "conversation with the customer.",
                created_at=self._clock.now(),
            )
        )
        waiting = await self._store.escalate_bot_item(item.id, self._clock.now())
        if waiting is None:
            return  # escalated (or closed) meanwhile: done by whoever did it
        await self._routing.record_decision(waiting, reason=reason)
        placement = await self._routing.placement(waiting.queue_id)
        if placement.reason is not None:
            moved = await self._store.move_waiting_item(waiting.id, placement.queue_id)
            if moved is None:
                return  # an agent picked it meanwhile
            await self._routing.redirected(moved, placement, from_queue_id=waiting.queue_id)
            waiting = moved
        await self._routing.request_routing([waiting.queue_id], item_id=waiting.id)


def _request(
    bot: BotConfig, conversation: Conversation, message: Message, attempt: int, clock: Clock
) -> BotRequest:
    return BotRequest(
        bot_id=bot.id,
        conversation_id=conversation.id,
        channel=conversation.channel,
        business_address=conversation.business_address,
        customer_id=conversation.customer_id,
        message=BotCustomerMessage(
            id=message.id,
            text=message.text,
            attachments=tuple(
                BotAttachment(url=m.url, content_type=m.content_type, name=m.name)
                for m in message.media
            ),
            sent_at=message.created_at,
        ),
        pre_chat=conversation.pre_chat,
        context=conversation.context,
        attempt=attempt,
        sent_at=clock.now(),
    )
