"""The ports services are written against. Adapters in shared/adapters implement them.

Every Store method is one atomic operation: it either happens whole or not at all, so an
adapter on Cosmos DB (one partition per call, or ETag-guarded pairs) can implement the same
contract as one on SQLite (one transaction per call).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from shared.domain.bots import BotAnswer, BotRequest
from shared.domain.campaigns import OutboundJob, Recipient, Template
from shared.domain.channels import Channel, ChannelKind, SmsProvider
from shared.domain.conversations import (
    ClosingReason,
    Conversation,
    DeliveryReport,
    DeliveryStatus,
    InboundMessage,
    Message,
    SentSms,
    TypingParty,
)
from shared.domain.customers import Customer
from shared.domain.figures import ConversationState, DayFigures, FigureScope
from shared.domain.identity import Principal
from shared.domain.outcomes import CsatFact, Email
from shared.domain.presence import (
    Presence,
    PresenceChange,
    PresenceSettings,
    PresenceSpan,
    PresenceState,
)
from shared.domain.quick_replies import QuickReply
from shared.domain.routing_config import Agent, BotConfig, Queue, RoutingRule, Workstream
from shared.domain.search import ConversationQuery, SearchHit, SearchPosition
from shared.domain.sentiment import ConversationSentiment, SentimentSettings
from shared.domain.work import AgentState, PlannedAssignment, RoutingDecision, WorkItem


class Clock(Protocol):
    def now(self) -> datetime: ...


PresenceUpdate = Callable[[PresenceState | None, AgentState], PresenceState | None]
"""A pure presence rule: (stored state or None if never managed, live state) -> new state, or
None to leave everything as it is. A store may call it more than once (optimistic retries)."""


SentimentUpdate = Callable[[ConversationSentiment | None], ConversationSentiment | None]
"""A pure rule: the conversation's stored rolling sentiment (None: none yet) -> the new one, or
None to leave it. A store may call it more than once (optimistic retries)."""


class ChannelStore(Protocol):
    """Provider accounts and the chat widget: channels, found by the address a customer writes to.
    Writes replace the whole record (upsert by id)."""

    async def put_channel(self, channel: Channel) -> None:
        """Raises Conflict, changing nothing, if an address belongs to another channel."""
        ...

    async def get_channel(self, channel_id: str) -> Channel | None: ...

    async def find_channel(self, kind: ChannelKind, address: str) -> Channel | None:
        """The channel one of whose addresses this is."""
        ...

    async def list_channels(self, *, after: str | None, limit: int) -> Sequence[Channel]:
        """Channels in id order, starting after the id `after` (a cursor)."""
        ...

    async def delete_channel(self, channel_id: str) -> bool: ...


class RoutingConfigStore(Protocol):
    """Routing configuration an admin manages: workstreams, queues, route-to-queue rules and
    agents. Writes replace the whole record; listings are in id order after a cursor."""

    async def put_workstream(self, workstream: Workstream) -> None: ...

    async def get_workstream(self, workstream_id: str) -> Workstream | None: ...

    async def list_workstreams(self, *, after: str | None, limit: int) -> Sequence[Workstream]:
        """In id order after the cursor `after`, as every admin listing."""
        ...

    async def delete_workstream(self, workstream_id: str) -> bool: ...

    async def put_queue(self, queue: Queue) -> None: ...

    async def get_queue(self, queue_id: str) -> Queue | None: ...

    async def list_queues(self, *, after: str | None, limit: int) -> Sequence[Queue]: ...

    async def delete_queue(self, queue_id: str) -> bool: ...

    async def put_rule(self, rule: RoutingRule) -> None: ...

    async def get_rule(self, rule_id: str) -> RoutingRule | None: ...

    async def list_rules(self, workstream_id: str) -> Sequence[RoutingRule]: ...

    async def list_all_rules(self, *, after: str | None, limit: int) -> Sequence[RoutingRule]:
        """Every workstream's rules, in id order (list_rules gives one workstream's, in order)."""
        ...

    async def delete_rule(self, rule_id: str) -> bool: ...

    async def put_agent(self, agent: Agent) -> None: ...

    async def get_agent(self, agent_id: str) -> Agent | None: ...

    async def list_agents(self, *, after: str | None, limit: int) -> Sequence[Agent]: ...

    async def delete_agent(self, agent_id: str) -> bool:
        """Remove the agent and its live state; the caller checks it holds no work."""
        ...


class CustomerStore(Protocol):
    """Customers (contacts and accounts), found by phone or email, and each number's SMS consent."""

    async def put_customer(self, customer: Customer) -> None: ...

    async def get_customer(self, customer_id: str) -> Customer | None: ...

    async def find_customers_by_phone(self, e164: str) -> Sequence[Customer]:
        """Customers with this mobile or account phone, in id order; a record merged into
        another (`merged_into`) is never found."""
        ...

    async def find_customers_by_email(self, email: str) -> Sequence[Customer]:
        """Customers whose email is this one, compared case-insensitively, in id order;
        merged records are never found."""
        ...

    async def list_customers(
        self, *, name: str | None, after: str | None, limit: int
    ) -> Sequence[Customer]:
        """Customers in id order after the cursor `after`, merged records left out; with
        `name`, those one of whose name's words starts with it (`name_key` of both)."""
        ...

    async def delete_customer(self, customer_id: str) -> bool:
        """Remove the record and what finds it; False if there was none."""
        ...

    async def set_sms_consent(self, address: str, *, opted_out: bool, at: datetime) -> None:
        """Record a number's STOP/START; consent belongs to the number, known customer or not."""
        ...

    async def is_opted_out(self, address: str) -> bool: ...


class ConversationStore(Protocol):
    """Conversations and their messages: one open conversation per customer and business address,
    messages stored once each, delivery, rolling sentiment and typing."""

    async def open_conversation(
        self, candidate: Conversation, *, reopen_closed_since: datetime | None = None
    ) -> tuple[Conversation, bool]:
        """The open conversation of the candidate's channel and customer address; else, with
        `reopen_closed_since`, the last one closed at or after it, reopened (`reopened_at` the
        candidate's `opened_at`); else the candidate itself, stored. The flag says whether it
        was created. At most one is open per (channel id, customer address) however many
        callers race (invariant 9)."""
        ...

    async def close_conversation(
        self, conversation_id: str, now: datetime, reason: ClosingReason
    ) -> Conversation | None:
        """An open conversation closes (`Conversation.closed`); its address may then open a new
        one. None if unknown or closed already; nothing changes then."""
        ...

    async def reopen_conversation(self, conversation_id: str, now: datetime) -> Conversation | None:
        """A closed conversation opens again (`Conversation.reopened`). None if unknown, not
        closed, or its address has another open conversation (invariant 9)."""
        ...

    async def get_conversation(self, conversation_id: str) -> Conversation | None: ...

    async def get_conversations(self, conversation_ids: Sequence[str]) -> Sequence[Conversation]:
        """The conversations of these ids that exist, in the order asked: one read for a
        list's worth (an agent's work), not one per id."""
        ...

    async def list_ongoing_conversations(
        self, *, after: str | None, limit: int
    ) -> Sequence[ConversationState]:
        """Open conversations of every channel in id order after the cursor `after`, each with
        its unclosed work item."""
        ...

    async def customer_conversations(
        self, customer_id: str, *, after: str | None, limit: int
    ) -> Sequence[Conversation]:
        """Every conversation identified as this customer's, open or closed, on every channel,
        in id order after the cursor `after`."""
        ...

    async def append_message(self, message: Message) -> Message | None:
        """Store the message with the next sequence number of its conversation and return it.
        A message whose id or provider_message_id is already stored is not stored again: None."""
        ...

    async def get_message(self, message_id: str) -> Message | None: ...

    async def find_message_by_provider_id(self, provider_message_id: str) -> Message | None: ...

    async def list_messages(
        self, conversation_id: str, *, after_sequence: int = 0, include_internal: bool
    ) -> Sequence[Message]: ...

    async def set_message_delivery(
        self,
        message_id: str,
        status: DeliveryStatus,
        provider_message_id: str | None,
        error: str | None = None,
        *,
        unknown_status: str | None = None,
    ) -> Message | None:
        """Replace the message's delivery status, error and unknown provider status (None
        clears them), and its provider id when given. None for an unknown message."""
        ...

    async def change_conversation_sentiment(
        self, conversation_id: str, change: SentimentUpdate
    ) -> Conversation | None:
        """Atomically read the conversation's rolling sentiment, apply `change` and store what
        it returns. The conversation as stored after; None for an unknown conversation."""
        ...

    async def identify_customer(
        self, conversation_id: str, customer_id: str
    ) -> Conversation | None:
        """The conversation is this customer's from now on: `customer_id` set, the candidates
        cleared (the agent chose among them). The conversation as stored after; None if
        unknown."""
        ...

    async def set_typing(self, conversation_id: str, party: TypingParty, until: datetime) -> None:
        """The party is typing until `until` (a past instant: it stopped). A small record
        that expires, so every instance sees it."""
        ...

    async def typing(self, conversation_id: str, now: datetime) -> frozenset[TypingParty]:
        """Who is typing at `now` (one partition on Cosmos DB)."""
        ...


class ConversationSearchStore(Protocol):
    """Finding conversations: by customer, number, words of their messages, channel, queue,
    agent, opening day and status (shared/domain/search.py), on an index that stays fast at
    millions of messages; and moving a customer's conversations to another record."""

    async def search_conversations(
        self, query: ConversationQuery, *, after: SearchPosition | None, limit: int
    ) -> Sequence[SearchHit]:
        """Up to `limit` conversations matching every criterion of `query`, newest first
        (opening instant, then id, descending), after `after`. A conversation's queues are
        every queue its work waited in; its agents every agent who held its work (active or in
        wrap-up). Words match whole words of its messages (each word in some message; internal
        notes only with `include_notes`)."""
        ...

    async def reassign_conversations(
        self, from_customer_id: str, to_customer_id: str | None
    ) -> int:
        """Every conversation identified as `from_customer_id` names `to_customer_id` instead
        (None: no customer). Candidates are left as they are: a merged-away record still
        resolves. Idempotent; returns how many changed."""
        ...


class WorkItemStore(Protocol):
    """Work items from arrival to close: waiting in a queue, offered and assigned within the
    agent's capacity (each assignment atomic), with the bot, in wrap-up, closed."""

    async def create_work_item(self, item: WorkItem) -> tuple[WorkItem, bool]:
        """Store the item unless its conversation already has an unclosed one; return that one
        instead (flag False). A conversation has at most one unclosed item (invariant 2)."""
        ...

    async def get_work_item(self, item_id: str) -> WorkItem | None: ...

    async def open_work_item(self, conversation_id: str) -> WorkItem | None: ...

    async def last_work_item(self, conversation_id: str) -> WorkItem | None:
        """The conversation's unclosed item, else the one closed last (reopen, history)."""
        ...

    async def queues_with_waiting_items(self) -> Sequence[str]: ...

    async def waiting_items(self, queue_id: str, *, limit: int) -> Sequence[WorkItem]:
        """Waiting items of a queue, higher priority first, then oldest first."""
        ...

    async def queue_backlog(self, queue_id: str) -> tuple[int, datetime | None]:
        """How many items wait in the queue, and when the oldest of them arrived."""
        ...

    async def offered_items(self) -> Sequence[WorkItem]:
        """Every item on offer, for the sweep timer to find lapsed offers (not the hot path)."""
        ...

    async def agent_items(self, agent_id: str) -> Sequence[WorkItem]:
        """The agent's unclosed items."""
        ...

    async def items_alive(
        self, queue_id: str, start: datetime, end: datetime
    ) -> Sequence[WorkItem]:
        """The queue's items alive in [start, end): enqueued before `end`, and unclosed or
        closed at or after `start` (every item with an arrival, assignment or close in it)."""
        ...

    async def assign(
        self,
        item_id: str,
        agent_id: str,
        now: datetime,
        *,
        offer_until: datetime | None = None,
        round_robin: bool | None = None,
    ) -> WorkItem | None:
        """Give a waiting item to the agent if, at this instant, the item is still waiting and
        the agent's used capacity plus the item's units stays within its maximum (invariant 1).
        None when either no longer holds; nothing changes then. With `offer_until` the item is
        offered (it holds the capacity until accepted, declined or lapsed), else active. The
        agent's last assignment is `now`, and in a round-robin queue the agent becomes the
        queue's cursor. `round_robin` says whether the item's queue is one, when the caller
        knows; a store may skip the cursor when it is False (None: the cursor is written)."""
        ...

    async def assign_batch(
        self,
        planned: Sequence[PlannedAssignment],
        now: datetime,
        *,
        round_robin: bool | None = None,
    ) -> list[WorkItem]:
        """A routing cycle's assignments, each as `assign` makes it (item still waiting, agent
        within capacity counting the ones before it), in order, stopping at the first that no
        longer holds: returns the items given, a prefix of `planned`, so the caller retries
        from the first refused one and priority order is kept. The decision of each one given
        is recorded with it, and no other. SQLite makes the prefix in one transaction; a store
        without multi-document transactions makes them one by one with `assign`'s guarantees.
        """
        ...

    async def accept_offer(self, item_id: str, agent_id: str, now: datetime) -> WorkItem | None:
        """An item offered to this agent becomes active with it; None if it is not (any more)
        offered to this agent."""
        ...

    async def return_to_queue(
        self, item_id: str, agent_id: str, skip_until: datetime
    ) -> WorkItem | None:
        """An item offered to this agent (declined, or lapsed) waits again in its queue, at its
        old place, releasing the agent's capacity; the agent is skipped for it until
        `skip_until`. None if it is not (any more) offered to this agent."""
        ...

    async def move_waiting_item(self, item_id: str, queue_id: str) -> WorkItem | None:
        """A waiting item moves to another queue (overflow, out of hours), keeping its place in
        arrival order; None if it is no longer waiting."""
        ...

    async def wrap_up_work_item(
        self, item_id: str, now: datetime | None = None, *, agent_id: str | None = None
    ) -> WorkItem | None:
        """An active item moves to wrap-up (from `now`, its `wrap_up_at`): the conversation is
        over for the customer, and its agent keeps the item (and its capacity) until done with
        it. None if it is not active, or (with `agent_id`) not that agent's; nothing changes
        then."""
        ...

    async def close_work_item(
        self, item_id: str, now: datetime, *, agent_id: str | None = None
    ) -> WorkItem | None:
        """Close an unclosed item, releasing its agent's capacity; an agent left without work
        is idle from `now`. The conversation may then get a new item. None if unknown or
        already closed, or (with `agent_id`) no longer held by that agent."""
        ...

    async def escalate_bot_item(self, item_id: str, now: datetime) -> WorkItem | None:
        """An item with the bot waits in its queue for a human, arriving `now`. None if it is
        not with the bot (any more): escalated or closed already; nothing changes then."""
        ...


class CollaborationStore(Protocol):
    """An agent's active work changing hands: transfers to a queue or an agent, and consultants
    joining and leaving."""

    async def transfer_to_agent(
        self, item_id: str, from_agent_id: str, to_agent_id: str, now: datetime
    ) -> WorkItem | None:
        """An active item of `from_agent_id` becomes the receiver's (primary, active, its
        consultants dismissed) if the receiver's capacity takes its units: capacity moves with
        it (invariants 1 and 2). None when the item is no longer the sender's active work or the
        receiver has no room; nothing changes then."""
        ...

    async def transfer_to_queue(
        self, item_id: str, from_agent_id: str, queue_id: str, now: datetime
    ) -> WorkItem | None:
        """An active item of `from_agent_id` waits again, in `queue_id`, keeping its priority
        and arrival time; the sender's capacity is released. None when the item is no longer
        the sender's active work."""
        ...

    async def add_consultant(
        self, item_id: str, primary_agent_id: str, consultant_id: str
    ) -> WorkItem | None:
        """The agent joins the item as consultant, if the item is still active or in wrap-up
        with that primary agent. None otherwise; nothing changes then. Idempotent."""
        ...

    async def remove_consultant(self, item_id: str, consultant_id: str) -> WorkItem | None:
        """The consultant leaves; None if it was not consulting on the item."""
        ...

    async def consulted_items(self, agent_id: str) -> Sequence[WorkItem]:
        """Unclosed items the agent is consulting on."""
        ...


class AgentStateStore(Protocol):
    """Each agent's live state: presence, capacity in use, queue membership, and the presence spans
    time-in-presence is folded from."""

    async def agent_state(self, agent_id: str) -> AgentState | None: ...

    async def queue_agents(self, queue_id: str) -> Sequence[AgentState]:
        """Members of the queue with presence, used capacity and last assignment time."""
        ...

    async def list_agent_states(self, *, after: str | None, limit: int) -> Sequence[AgentState]:
        """Every agent with its live state, in id order after the cursor `after`."""
        ...

    async def set_presence(self, agent_id: str, presence: Presence) -> None: ...

    async def change_presence(self, agent_id: str, change: PresenceUpdate) -> PresenceChange | None:
        """Atomically read the agent's presence state and live state (used capacity
        included), apply `change`, store the state it returns and make its `presence` the one
        routing reads. None for an unknown agent."""
        ...

    async def reconcile_capacity(self) -> int:
        """Recompute every agent's used capacity from the items it holds, healing what a crash
        between an assignment's writes left (a store whose assignment is one transaction has
        nothing to heal). Returns how many agents were corrected."""
        ...

    async def put_presence_span(self, day: date, span: PresenceSpan) -> None:
        """Store a piece of an ended presence span lying within `day`; the same piece stored
        again (same id) is one record."""
        ...

    async def presence_spans(self, day: date) -> Sequence[PresenceSpan]:
        """The presence-span pieces stored for `day`, in id order."""
        ...


class RoutingLogStore(Protocol):
    """What routing remembers between decisions: the round-robin cursor and each decision with its
    candidates."""

    async def round_robin_cursor(self, queue_id: str) -> str | None:
        """The agent the queue assigned last: round robin resumes after it, across restarts."""
        ...

    async def record_routing_decision(self, decision: RoutingDecision) -> None: ...

    async def routing_decisions(self, conversation_id: str) -> Sequence[RoutingDecision]:
        """The conversation's routing decisions, oldest first."""
        ...


class SettingsStore(Protocol):
    """Organization-wide switches an admin sets: the presence policy and the sentiment switch."""

    async def get_presence_settings(self) -> PresenceSettings:
        """The admin's presence policy and custom presences; the defaults if never set."""
        ...

    async def put_presence_settings(self, settings: PresenceSettings) -> None: ...

    async def get_sentiment_settings(self) -> SentimentSettings | None:
        """The admin's sentiment switch; None until an admin sets it."""
        ...

    async def put_sentiment_settings(self, settings: SentimentSettings) -> None: ...


class FiguresStore(Protocol):
    """Daily figures the aggregates timer writes and the figures API point-reads, and the watermark
    it folds from."""

    async def put_day_figures(self, figures: Sequence[DayFigures]) -> None:
        """Replace each (day, scope, key) record."""
        ...

    async def day_figures(self, day: date, scope: FigureScope) -> Sequence[DayFigures]:
        """The day's records of that scope, in key order."""
        ...

    async def figures_watermark(self) -> date | None:
        """The first day the aggregates timer has not finalized yet; None before its first run."""
        ...

    async def set_figures_watermark(self, day: date) -> None: ...


class CampaignStore(Protocol):
    """Message templates and bulk outbound jobs with each recipient's progress."""

    async def put_template(self, template: Template) -> None: ...

    async def get_template(self, template_id: str) -> Template | None: ...

    async def list_templates(self, *, after: str | None, limit: int) -> Sequence[Template]: ...

    async def delete_template(self, template_id: str) -> bool: ...

    async def create_outbound_job(self, job: OutboundJob) -> tuple[OutboundJob, bool]:
        """Store a new job, or return the stored one with that id (flag False)."""
        ...

    async def get_outbound_job(self, job_id: str) -> OutboundJob | None: ...

    async def set_recipient(self, job_id: str, recipient: Recipient) -> OutboundJob | None:
        """Replace the job's entry for recipient.customer_id."""
        ...


class OutboxStore(Protocol):
    """What the sandbox SMS sender would have sent, newest first."""

    async def record_sent_sms(self, sms: SentSms) -> None: ...

    async def list_sent_sms(self, *, limit: int) -> Sequence[SentSms]: ...


class QuickReplyStore(Protocol):
    """Quick replies an admin writes, which agents search within their workstreams."""

    async def put_quick_reply(self, reply: QuickReply) -> None: ...

    async def get_quick_reply(self, reply_id: str) -> QuickReply | None: ...

    async def list_quick_replies(
        self, *, after: str | None, limit: int
    ) -> Sequence[QuickReply]: ...

    async def delete_quick_reply(self, reply_id: str) -> bool: ...

    async def search_quick_replies(
        self, workstream_ids: Sequence[str], text: str, *, limit: int
    ) -> Sequence[QuickReply]:
        """The replies of those workstreams whose title or text holds `text`, ignoring case
        (every one for an empty `text`), by id."""
        ...


class ReadMarkStore(Protocol):
    """When the customer last read each conversation (chat: the widget says so)."""

    async def mark_customer_read(self, conversation_id: str, at: datetime) -> datetime:
        """The customer read the conversation at `at`; a mark never moves back (a late,
        older one changes nothing). Returns the mark now stored."""
        ...

    async def customer_read_at(self, conversation_id: str) -> datetime | None: ...


OutcomeChange = Callable[[Conversation], Conversation | None]
"""Given the conversation as stored, the conversation with its outcome changed; None: no
change."""


class OutcomeStore(Protocol):
    """After the conversation: the outcome fields on the conversation (wrap-up, CSAT, the SMS
    survey's question, transcripts emailed), an address's latest conversation, and CSAT
    answers by the instant answered for the figures."""

    async def change_conversation_outcome(
        self, conversation_id: str, change: OutcomeChange
    ) -> tuple[Conversation, bool] | None:
        """Atomically read the conversation, apply `change`, and store its outcome fields
        (`OUTCOME_FIELDS`; nothing else of what it returns). The conversation as stored after,
        and whether `change` changed it; None for an unknown conversation."""
        ...

    async def address_conversation(
        self, channel_id: str, customer_address: str
    ) -> Conversation | None:
        """The address's open conversation on the channel, else the one it opened last."""
        ...

    async def put_csat_fact(self, fact: CsatFact) -> None:
        """Store (or replace: one per conversation) a CSAT answer for the figures."""
        ...

    async def csat_facts(self, start: datetime, end: datetime) -> Sequence[CsatFact]:
        """The CSAT answers answered in [start, end), in time order."""
        ...


class Store(
    ChannelStore,
    RoutingConfigStore,
    CustomerStore,
    ConversationStore,
    ConversationSearchStore,
    WorkItemStore,
    CollaborationStore,
    AgentStateStore,
    RoutingLogStore,
    SettingsStore,
    FiguresStore,
    CampaignStore,
    OutboxStore,
    QuickReplyStore,
    ReadMarkStore,
    OutcomeStore,
    Protocol,
):
    async def close(self) -> None: ...


class BlobStore(Protocol):
    """Where agents' files are kept (a local folder, Azure Blob Storage), each under a key with
    its content type and file name, fetched by customers through an expiring signed URL."""

    async def put_blob(self, key: str, data: bytes, *, content_type: str, name: str) -> None:
        """Store (or replace) the blob."""
        ...

    async def blob_info(self, key: str) -> BlobInfo | None:
        """What is stored under the key, without its bytes; None if nothing is."""
        ...

    async def download_url(self, key: str, *, expires_at: datetime) -> str:
        """A URL anyone holding it may fetch the blob by, until `expires_at` only."""
        ...

    def signed_by_this_store(
        self, key: str, *, expires: int, signature: str, now: datetime
    ) -> bool:
        """Whether a download URL of the app's own (`expires`: epoch seconds) was signed by
        this store for this key and has not expired. Stores whose URLs point elsewhere
        (Azure's SAS) sign none: False."""
        ...

    async def read_blob(self, key: str) -> StoredBlob | None:
        """The blob and what it is; None if nothing is stored under the key."""
        ...


@dataclass(frozen=True)
class BlobInfo:
    content_type: str
    name: str
    size: int


@dataclass(frozen=True)
class StoredBlob:
    info: BlobInfo
    data: bytes


class MessageBus(Protocol):
    """Publishing side of the work queues (Service Bus in Azure, SQLite locally)."""

    async def send(
        self,
        queue_name: str,
        body: str,
        *,
        session_id: str | None = None,
        message_id: str | None = None,
        not_before: datetime | None = None,
    ) -> None:
        """Durably enqueue. A message_id already seen on that queue is dropped (duplicate
        detection), so a provider retry enqueues its message once. With `not_before` (timezone
        aware) the message is scheduled: it enters the queue, and its session, at that instant."""
        ...


class SendFailed(Exception):
    """A provider refused or failed a send. Permanent failures mark the message failed with
    the reason; transient ones are retried through the queue. `code` is the provider's error
    code or HTTP status, or a word for what failed before one (`unreachable`): the send-failure
    metric counts by it, so it never carries the number or the text."""

    def __init__(self, reason: str, *, permanent: bool, code: str = "unspecified") -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.code = code


class SmsSender(Protocol):
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
        """Send one SMS through the channel's provider account, as MMS with `media_urls` (public
        URLs the provider fetches) where it can; return the provider's message id. Raises
        SendFailed, permanent for media the provider cannot send."""
        ...


class EmailSender(Protocol):
    async def send(self, email: Email) -> str:
        """Send one email; return the service's operation id. Raises SendFailed."""
        ...


# --- bots ------------------------------------------------------------------------------


class BotFailed(Exception):
    """A bot call failed. Transient failures (connection, 429, 5xx) are retried with backoff;
    permanent ones (another 4xx, an answer off the contract) and timeouts hand the customer
    to a human at once."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class BotClient(Protocol):
    async def converse(self, bot: BotConfig, request: BotRequest) -> BotAnswer:
        """POST the signed request to the bot's endpoint within its timeout. Raises BotFailed."""
        ...


class WebhookKind(StrEnum):
    """Which of a provider's webhooks was called."""

    MESSAGES = "messages"
    """Customers' messages (for ACS, every Event Grid delivery: messages and reports alike)."""
    STATUS = "status"
    """Delivery reports for messages we sent."""
    HANDSHAKE = "handshake"
    """A subscription handshake that carries no event (CloudEvents' OPTIONS)."""


@dataclass(frozen=True)
class WebhookCall:
    """A provider's call as it reached us, nothing of it trusted yet."""

    kind: WebhookKind
    url: str
    """The public URL the provider called (providers sign what they called)."""
    body: bytes
    headers: Mapping[str, str]
    """Header names in lower case."""
    query: Mapping[str, str]


@dataclass(frozen=True)
class ProviderSms:
    """A customer's SMS, verified, with the channel serving its number and the duplicate key
    its queue message carries."""

    message: InboundMessage
    channel: Channel | None
    duplicate_key: str | None = None
    """None: the provider's message id."""


@dataclass(frozen=True)
class VerifiedWebhook:
    """What a verified call carried: each part is enqueued before the provider hears 2xx."""

    messages: tuple[ProviderSms, ...] = ()
    reports: tuple[DeliveryReport, ...] = ()
    validation_code: str | None = None
    """A subscription handshake's code, to echo back."""
    ignored: int = 0
    """Events acknowledged and dropped (types we do not handle)."""


class ChannelDirectory(Protocol):
    """How a provider's webhook finds the channels that may have sent or be meant by a call."""

    async def serving(self, number: str, provider: SmsProvider) -> Channel:
        """The channel of this provider serving the number; NotFound if none does."""
        ...

    def of_provider(self, provider: SmsProvider) -> AsyncIterator[Channel]: ...


class SmsProviderWebhook(Protocol):
    """One SMS provider's webhooks: parse and verify a call its own way. Raises BadRequest on
    a malformed body, Unauthorized or Forbidden on a missing or wrong signature, NotFound for
    a number no channel of the provider serves; nothing is enqueued then."""

    provider: SmsProvider

    async def verify(
        self, call: WebhookCall, channels: ChannelDirectory, now: datetime
    ) -> VerifiedWebhook: ...


class TokenVerifier(Protocol):
    def verify(self, token: str) -> Principal: ...


class AppRoleVerifier(Protocol):
    def verify_app_role(self, token: str, role: str) -> None:
        """Unauthorized unless the token is valid and grants the caller this app role."""
        ...


class ChatTokens(Protocol):
    """The chat widget's conversation tokens: one opens one conversation only."""

    def issue(self, conversation_id: str) -> str: ...

    def conversation_of(self, token: str) -> str:
        """The conversation the token opens; Unauthorized if it is not a valid token."""
        ...
