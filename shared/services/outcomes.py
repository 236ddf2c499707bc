"""After the conversation: the agent's wrap-up, the transcript (staff's, and the chat customer's
by email), and the satisfaction survey (in the widget, or over SMS as a reply-with-a-number
question sent when the conversation closes)."""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from pydantic import Field

from shared.domain.base import Model
from shared.domain.channels import ChannelKind
from shared.domain.conversations import (
    Conversation,
    ConversationForAgents,
    ConversationStatus,
    InboundMessage,
    Message,
    customer_message,
)
from shared.domain.message_ids import new_message_id
from shared.domain.outcomes import (
    CSAT_SCORES,
    CsatAnswer,
    CsatFact,
    DispositionCode,
    Email,
    UnknownDisposition,
    WrapUp,
    awaits_sms_answer,
    chosen_disposition,
    sms_score,
)
from shared.domain.routing_config import Workstream
from shared.domain.transcripts import (
    TranscriptFormat,
    TranscriptHeader,
    render_html,
    render_text,
    transcript_lines,
)
from shared.domain.work import WorkItem, WorkItemStatus
from shared.errors import (
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    UnprocessableEntity,
    existing,
)
from shared.ports import (
    Clock,
    ConversationStore,
    CustomerStore,
    EmailSender,
    OutcomeStore,
    RoutingConfigStore,
    SendFailed,
    WorkItemStore,
)
from shared.services.agent_work import WorkRole, involvement
from shared.services.notices import CustomerNotices

log = logging.getLogger(__name__)

MAX_TRANSCRIPT_EMAILS = 3
"""Per conversation: a chat token is all a caller needs, so the address it mails is capped."""


class OutcomePorts(
    ConversationStore, WorkItemStore, RoutingConfigStore, CustomerStore, OutcomeStore, Protocol
):
    """The store ports this service needs."""


class SurveyView(Model):
    question: str
    answered: bool


class AfterChatView(Model):
    """What the widget offers once the chat has ended."""

    ended: bool
    survey: SurveyView | None = Field(
        default=None, description="the workstream's survey, when it has one and the chat ended"
    )
    transcript_email: bool = Field(
        description="the customer may still ask for the transcript by email"
    )


class WrapUpForm(Model):
    """What the console's wrap-up form needs: the codes to pick from, and what was written."""

    disposition_codes: tuple[DispositionCode, ...]
    code_required: bool = Field(description="the workstream has codes: one must be picked")
    wrap_up: WrapUp | None


class TranscriptEmailed(Model):
    sent_to: str
    operation_id: str


class Transcript(Model):
    content: str
    media_type: str


class OutcomeService:
    def __init__(
        self,
        store: OutcomePorts,
        clock: Clock,
        *,
        notices: CustomerNotices,
        email: EmailSender,
        email_attempts: int = 3,
        email_retry_seconds: float = 0.5,
    ) -> None:
        self._store = store
        self._clock = clock
        self._notices = notices
        self._email = email
        self._email_attempts = email_attempts
        self._email_retry_seconds = email_retry_seconds

    # --- wrap-up -------------------------------------------------------------------------------

    async def wrap_up_form(self, agent_id: str, conversation_id: str) -> WrapUpForm:
        """For an agent with a part in the conversation (others: 404)."""
        part = await involvement(self._store, agent_id, conversation_id)
        workstream = await self._workstream(part.item.workstream_id)
        return WrapUpForm(
            disposition_codes=workstream.disposition_codes,
            code_required=bool(workstream.disposition_codes),
            wrap_up=part.conversation.wrap_up,
        )

    async def wrap_up(
        self, agent_id: str, conversation_id: str, disposition_code: str | None, summary: str
    ) -> ConversationForAgents:
        """The primary agent's wrap-up, while the work is active or in wrap-up (before close);
        written again, it replaces the earlier one. The code must be one of the workstream's."""
        part = await involvement(self._store, agent_id, conversation_id)
        if part.role is WorkRole.CONSULTANT:
            raise Forbidden("only the primary agent wraps the conversation up")
        if part.role is WorkRole.PAST:
            raise Conflict("the conversation is closed: wrap-up is written before closing")
        workstream = await self._workstream(part.item.workstream_id)
        try:
            code = chosen_disposition(workstream.disposition_codes, disposition_code)
        except UnknownDisposition as refused:
            raise UnprocessableEntity(str(refused)) from refused
        wrap_up = WrapUp(
            agent_id=agent_id,
            disposition_code=None if code is None else code.code,
            disposition_label=None if code is None else code.label,
            summary=summary,
            at=self._clock.now(),
        )
        result = await self._store.change_conversation_outcome(
            conversation_id, lambda c: c.model_copy(update={"wrap_up": wrap_up})
        )
        if result is None:
            raise NotFound(f"conversation {conversation_id} does not exist")
        return result[0]  # sent as ConversationForAgents: supervisor-only fields left out

    async def _workstream(self, workstream_id: str) -> Workstream:
        return existing(
            await self._store.get_workstream(workstream_id), f"workstream {workstream_id}"
        )

    # --- transcripts ---------------------------------------------------------------------------

    async def agent_transcript(
        self, agent_id: str, conversation_id: str, form: TranscriptFormat
    ) -> Transcript:
        """An agent reads the transcript of what it holds, consults on or held last (others
        are 404, as if they did not exist). Notes are in, marked as notes."""
        part = await involvement(self._store, agent_id, conversation_id)
        return await self._transcript(part.conversation, form, for_customer=False)

    async def supervisor_transcript(
        self, conversation_id: str, form: TranscriptFormat
    ) -> Transcript:
        """Supervisors and admins read any conversation's, notes marked as notes."""
        conversation = existing(
            await self._store.get_conversation(conversation_id), f"conversation {conversation_id}"
        )
        return await self._transcript(conversation, form, for_customer=False)

    async def _transcript(
        self, conversation: Conversation, form: TranscriptFormat, *, for_customer: bool
    ) -> Transcript:
        messages = await self._store.list_messages(
            conversation.id, include_internal=not for_customer
        )
        item = await self._store.last_work_item(conversation.id)
        agent_ids = {m.agent_id for m in messages if m.agent_id} | (
            {item.agent_id} if item is not None and item.agent_id else set()
        )
        agent_names = {}
        for agent_id in sorted(agent_ids):
            agent = await self._store.get_agent(agent_id)
            agent_names[agent_id] = agent.display_name if agent is not None else agent_id
        customer_name = await self._customer_name(conversation)
        queue = None if item is None else await self._store.get_queue(item.queue_id)
        header = TranscriptHeader(
            customer_name=customer_name,
            channel=str(conversation.channel),
            queue_name=None if queue is None else queue.name,
            agent_name=None if item is None or not item.agent_id else agent_names[item.agent_id],
            opened_at=conversation.opened_at,
            closed_at=conversation.closed_at,
        )
        lines = transcript_lines(
            messages,
            customer_name=customer_name,
            agent_names=agent_names,
            for_customer=for_customer,
        )
        if form is TranscriptFormat.HTML:
            return Transcript(
                content=render_html(conversation, header, lines),
                media_type="text/html; charset=utf-8",
            )
        return Transcript(
            content=render_text(conversation, header, lines),
            media_type="text/plain; charset=utf-8",
        )

    async def _customer_name(self, conversation: Conversation) -> str:
        if conversation.customer_id is not None:
            customer = await self._store.get_customer(conversation.customer_id)
            if customer is not None:
                return customer.display_name
        return conversation.pre_chat.get("name") or conversation.customer_address

    # --- the chat customer, after the chat ---------------------------------------------------

    async def _ended(self, conversation: Conversation) -> tuple[bool, WorkItem | None]:
        item = await self._store.last_work_item(conversation.id)
        if conversation.status == ConversationStatus.CLOSED:
            return True, item
        ended = item is not None and item.status in (WorkItemStatus.WRAP_UP, WorkItemStatus.CLOSED)
        return ended, item

    async def after_chat(self, conversation: Conversation) -> AfterChatView:
        ended, _ = await self._ended(conversation)
        workstream = await self._store.get_workstream(conversation.workstream_id)
        survey = (
            SurveyView(question=workstream.csat.question, answered=conversation.csat is not None)
            if ended and workstream is not None and workstream.csat.enabled
            else None
        )
        return AfterChatView(
            ended=ended,
            survey=survey,
            transcript_email=ended and conversation.transcript_emails < MAX_TRANSCRIPT_EMAILS,
        )

    async def chat_survey(self, conversation: Conversation, score: int, comment: str) -> CsatAnswer:
        """The widget's answer: once the chat has ended, once per conversation (409 after)."""
        if score not in CSAT_SCORES:
            raise UnprocessableEntity(f"a score is a number from 1 to 5, not {score}")
        ended, item = await self._ended(conversation)
        if not ended:
            raise Conflict("the survey opens when the chat has ended")
        workstream = await self._workstream(conversation.workstream_id)
        if not workstream.csat.enabled:
            raise Conflict("this chat has no satisfaction survey")
        answer = CsatAnswer(
            score=score, comment=comment.strip(), answered_at=self._clock.now(), via="chat"
        )
        stored, changed = await self._record(conversation.id, answer, item)
        if not changed:
            raise Conflict("this conversation's survey is answered already")
        assert stored.csat is not None
        return stored.csat

    async def _record(
        self, conversation_id: str, answer: CsatAnswer, item: WorkItem | None
    ) -> tuple[Conversation, bool]:
        """The answer on the conversation if it has none, then the figures' copy of whichever
        answer it has (a retry after a crash between the two writes heals the copy)."""
        result = await self._store.change_conversation_outcome(
            conversation_id,
            lambda c: None if c.csat is not None else c.model_copy(update={"csat": answer}),
        )
        if result is None:
            raise NotFound(f"conversation {conversation_id} does not exist")
        stored, changed = result
        if stored.csat is not None and item is not None:
            await self._store.put_csat_fact(
                CsatFact(
                    conversation_id=conversation_id,
                    queue_id=item.queue_id,
                    agent_id=item.agent_id,
                    score=stored.csat.score,
                    answered_at=stored.csat.answered_at,
                )
            )
        return stored, changed

    async def email_transcript(self, conversation: Conversation, to: str) -> TranscriptEmailed:
        """The customer's copy (never a note) by email, once the chat has ended. Sent now,
        with a few retries on transient failures; a send that fails is the caller's 503 (the
        widget says so and the customer may try again), never dropped silently. A slot is
        reserved first and given back on failure, so at most MAX_TRANSCRIPT_EMAILS are sent
        however many requests race."""
        ended, _ = await self._ended(conversation)
        if not ended:
            raise Conflict("the transcript can be emailed when the chat has ended")
        email_number = await self._reserve_email(conversation.id)
        transcript_text = await self._transcript(
            conversation, TranscriptFormat.TEXT, for_customer=True
        )
        transcript_html = await self._transcript(
            conversation, TranscriptFormat.HTML, for_customer=True
        )
        email = Email(
            to=to,
            subject="Your conversation transcript",
            text=transcript_text.content,
            html=transcript_html.content,
            key=f"{conversation.id}:{email_number}",
        )
        try:
            operation_id = await self._send_with_retries(email)
        except SendFailed as failed:
            await self._store.change_conversation_outcome(
                conversation.id,
                lambda c: c.model_copy(
                    update={"transcript_emails": max(c.transcript_emails - 1, 0)}
                ),
            )
            log.warning("transcript email for %s failed: %s", conversation.id, failed.reason)
            raise ServiceUnavailable(
                "the transcript could not be emailed now: try again in a moment"
            ) from failed
        return TranscriptEmailed(sent_to=to, operation_id=operation_id)

    async def _reserve_email(self, conversation_id: str) -> int:
        def take(c: Conversation) -> Conversation | None:
            if c.transcript_emails >= MAX_TRANSCRIPT_EMAILS:
                return None
            return c.model_copy(update={"transcript_emails": c.transcript_emails + 1})

        stored, changed = existing(
            await self._store.change_conversation_outcome(conversation_id, take),
            f"conversation {conversation_id}",
        )
        if not changed:
            raise Conflict(f"the transcript was emailed {MAX_TRANSCRIPT_EMAILS} times already")
        return stored.transcript_emails

    async def _send_with_retries(self, email: Email) -> str:
        for attempt in range(1, self._email_attempts + 1):
            try:
                return await self._email.send(email)
            except SendFailed as failed:
                if failed.permanent or attempt == self._email_attempts:
                    raise
                await asyncio.sleep(self._email_retry_seconds * attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")

    # --- the SMS survey ------------------------------------------------------------------------

    async def conversation_closed(self, conversation_id: str) -> None:
        """An agent closed an SMS conversation: if its workstream surveys and the customer has
        not opted out, the question is sent once (marked asked first, so the customer's reply
        is recognised as its answer)."""
        conversation = await self._store.get_conversation(conversation_id)
        if conversation is None or conversation.channel != ChannelKind.SMS:
            return
        workstream = await self._store.get_workstream(conversation.workstream_id)
        if workstream is None or not workstream.csat.enabled or conversation.csat is not None:
            return
        if await self._store.is_opted_out(conversation.customer_address):
            return  # STOP means no survey either
        now = self._clock.now()
        await self._store.change_conversation_outcome(
            conversation_id,
            lambda c: (
                None
                if c.csat_requested_at is not None
                else c.model_copy(update={"csat_requested_at": now})
            ),
        )
        await self._notices.send(conversation_id, workstream.csat.question, key="csat-survey")

    async def sms_answer(
        self, channel_id: str, workstream: Workstream, inbound: InboundMessage
    ) -> tuple[Conversation, Message | None, WorkItem] | None:
        """The customer's reply, if it answers its last conversation's survey: a number 1..5,
        while that conversation is closed and within the window after the question. Stored in
        that conversation and recorded as its answer (no new conversation, no reopen). None:
        an ordinary message. Idempotent: a retried reply finds itself as the answer. With the
        conversation and the stored reply (None on a retry), its last (closed) work item."""
        score = sms_score(inbound.text)
        if score is None or not workstream.csat.enabled:
            return None
        latest = await self._store.address_conversation(channel_id, inbound.customer_address)
        if latest is None or latest.status != ConversationStatus.CLOSED:
            return None
        provider_id = inbound.stored_provider_id
        earlier = await self._store.find_message_by_provider_id(provider_id)
        if earlier is not None and earlier.conversation_id != latest.id:
            return None
        answered_by_it = (
            earlier is not None and latest.csat is not None and latest.csat.message_id == earlier.id
        )
        pending = awaits_sms_answer(
            latest.csat_requested_at,
            latest.csat,
            inbound.received_at,
            workstream.csat.sms_reply_window_seconds,
        )
        last = await self._store.last_work_item(latest.id)
        if not (pending or answered_by_it) or last is None:
            return None
        stored = await self._store.append_message(
            customer_message(inbound, new_message_id(latest.id), latest.id, media=())
        )
        message = stored or await self._store.find_message_by_provider_id(provider_id)
        if message is None:
            raise RuntimeError(f"survey reply {provider_id} was neither stored nor found")
        answer = CsatAnswer(
            score=score, answered_at=inbound.received_at, via="sms", message_id=message.id
        )
        recorded, _ = await self._record(latest.id, answer, last)
        log.info("conversation %s: SMS survey answered %s", latest.id, score)
        return recorded, stored, last
