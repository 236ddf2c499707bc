"""ConversationStore on Cosmos DB: conversations claimed per customer address, messages stored once
each, sentiment and typing."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from azure.cosmos import exceptions

from shared.adapters.cosmos import layout
from shared.adapters.cosmos.containers import CosmosBase, load_record
from shared.adapters.cosmos.documents import (
    Doc,
    create_if_absent,
    delete_if_present,
    query_records,
    read_or_none,
    update,
)
from shared.adapters.cosmos.layout import document, epoch_micros, model_json
from shared.adapters.cosmos.search_index import (
    index_conversation,
    index_message,
    index_opened,
)
from shared.domain.conversations import (
    ClosingReason,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Message,
    TypingParty,
)
from shared.domain.figures import ConversationState
from shared.domain.message_ids import conversation_named_by
from shared.ports import SentimentUpdate


class CosmosConversations(CosmosBase):
    # The claim `open-conversation:<channel>:<address>` names the address's conversation and
    # says whether it is closed (`closed_at`): claiming it under its ETag is what keeps one
    # conversation open per address (invariant 9). The conversation document is written after
    # the claim; should a crash fall between, the next caller finishes the change.

    async def open_conversation(
        self, candidate: Conversation, *, reopen_closed_since: datetime | None = None
    ) -> tuple[Conversation, bool]:
        key = layout.open_conversation_key(candidate.channel_id, candidate.customer_address)
        fresh = _claim(key, candidate)
        # The claim is read first: most messages belong to an open conversation, and a read
        # (1 RU, or ~1 for a 404) costs less than a create that fails with 409.
        current = await read_or_none(self._lookups, key, key)
        while True:
            if current is None:
                if await create_if_absent(self._lookups, fresh):
                    await self._materialize_conversation(fresh)
                    return candidate, True
                current = await read_or_none(self._lookups, key, key)
                continue  # (None: never deleted today; a claim written by an older version may be)
            named = await self._settled(current)
            if named is not None and named.status == ConversationStatus.OPEN:
                return named, False
            if (
                named is not None
                and reopen_closed_since is not None
                and named.closed_at is not None
                and named.closed_at >= reopen_closed_since
            ):
                reopened = named.reopened(candidate.opened_at)
                if await self._replace_claim(current, _claim(key, reopened)):
                    await self._write_conversation(reopened)
                    return reopened, False
            elif await self._replace_claim(current, fresh):
                await self._materialize_conversation(fresh)
                return candidate, True
            current = await read_or_none(self._lookups, key, key)

    async def close_conversation(
        self, conversation_id: str, now: datetime, reason: ClosingReason
    ) -> Conversation | None:
        current = await self.get_conversation(conversation_id)
        if current is None or current.status != ConversationStatus.OPEN:
            return None
        closed = current.closed(now, reason)
        key = layout.open_conversation_key(current.channel_id, current.customer_address)

        def close(claim: Doc) -> Doc | None:
            if claim["conversation"]["id"] != conversation_id or claim.get("closed_at"):
                return None
            return _claim(key, closed)

        # The claim first: the address may open a new conversation as soon as it is written.
        await update(self._lookups, key, key, close)
        written = await self._write_conversation(closed, expect=ConversationStatus.OPEN)
        return closed if written else None

    async def reopen_conversation(self, conversation_id: str, now: datetime) -> Conversation | None:
        current = await self.get_conversation(conversation_id)
        if current is None or current.status != ConversationStatus.CLOSED:
            return None
        reopened = current.reopened(now)
        key = layout.open_conversation_key(current.channel_id, current.customer_address)
        while True:
            claim = await read_or_none(self._lookups, key, key)
            if claim is None:
                return None
            named = await self._settled(claim)
            if named is not None and named.status == ConversationStatus.OPEN:
                return None  # the address has an open conversation (this one, reopened, or not)
            if await self._replace_claim(claim, _claim(key, reopened)):
                written = await self._write_conversation(reopened, expect=ConversationStatus.CLOSED)
                return reopened if written else None

    async def _settled(self, claim: Doc) -> Conversation | None:
        """The conversation the claim names, its document brought in line with the claim
        (written, closed or reopened) if a crash left it behind. The document is read in any
        case, so the claim needs no mark saying it was written (a patch: ~11 RU)."""
        named = Conversation.model_validate(claim["conversation"])
        stored = await self.get_conversation(named.id)
        if stored is None:
            return await self._materialize_conversation(claim)
        if stored.status != named.status or stored.closed_at != named.closed_at:
            await self._write_conversation(named)
            return await self.get_conversation(named.id)
        return stored

    async def _replace_claim(self, current: Doc, claim: Doc) -> bool:
        """Replace the claim as read (its ETag): False if another caller changed it first."""
        try:
            await self._lookups.replace(claim, etag=current["_etag"], previous=current)
        except exceptions.CosmosAccessConditionFailedError:
            return False
        return True

    async def _write_conversation(
        self, conversation: Conversation, *, expect: ConversationStatus | None = None
    ) -> bool:
        """Store the conversation's lifecycle fields (status, close, reopen) on its document,
        its sentiment and item pointer kept; with `expect`, only from that status."""

        def apply(doc: Doc) -> Doc | None:
            stored = load_record(Conversation, doc)
            if expect is not None and stored.status != expect:
                return None
            lifecycle = conversation.model_dump(
                include={"status", "closed_at", "closing_reason", "reopened_at"}
            )
            return {**doc, "data": model_json(stored.model_copy(update=lifecycle))}

        written = await update(self._conversations, conversation.id, conversation.id, apply)
        if written is not None:
            await index_conversation(
                self._search, self._opening_days, load_record(Conversation, written)
            )
        return written is not None

    async def _materialize_conversation(self, claim: Doc) -> Conversation:
        """Write the claimed conversation (idempotent: 409 means it is written). Its search
        projection first: a crash between the two leaves a projection whose conversation is
        missing (a search skips it; the claim's next caller writes the conversation), never a
        conversation search cannot find."""
        conversation = Conversation.model_validate(claim["conversation"])
        await index_opened(self._search, self._opening_days, conversation)
        await create_if_absent(
            self._conversations,
            document(
                conversation.id,
                conversation.id,
                "conversation",
                conversation,
                seq=0,
            ),
        )
        return conversation

    async def get_conversation(self, conversation_id: str) -> Conversation | None:
        doc = await read_or_none(self._conversations, conversation_id, conversation_id)
        return None if doc is None else load_record(Conversation, doc)

    async def get_conversations(self, conversation_ids: Sequence[str]) -> Sequence[Conversation]:
        """Each conversation is its own partition: point reads, all in flight at once."""
        ids = list(dict.fromkeys(conversation_ids))
        found = await asyncio.gather(*(self.get_conversation(i) for i in ids))
        return [conversation for conversation in found if conversation is not None]

    async def append_message(self, message: Message) -> Message | None:
        """A message whose id names its conversation (shared/domain/message_ids.py) is unique
        by that id within the conversation's partition; any other id is claimed first
        (`message:<id>`), which also tells get_message its partition."""
        own_partition = _names_its_conversation(message)
        named = conversation_named_by(message.id)
        if not own_partition and named is not None:
            # Stored elsewhere, it could be stored twice: once here, once in the one it names.
            raise ValueError(f"message id {message.id} names another conversation ({named})")
        provider_id = message.provider_message_id
        if provider_id is not None:
            key = layout.provider_message_key(provider_id)
            provider_claim = document(
                key,
                key,
                "provider-message",
                conversation_id=message.conversation_id,
                message_id=message.id,
                message=model_json(message),
                ttl=layout.PROVIDER_MESSAGE_TTL_SECONDS,
            )
            if not await create_if_absent(self._lookups, provider_claim):
                await self._finish_claimed_message(await self._lookups.read(key, key))
                return None
        if own_partition:
            stored, created = await self._write_message(message)
            if created or (provider_id is not None and stored.provider_message_id == provider_id):
                return stored  # (the second: this call's own write, whose answer was lost)
        else:
            key = layout.message_key(message.id)
            if await create_if_absent(self._lookups, _message_locator(message)):
                stored, _ = await self._write_message(message)
                return stored
            await self._finish_claimed_message(await self._lookups.read(key, key))
        if provider_id is not None:  # the id was taken first: release the provider id
            claim_key = layout.provider_message_key(provider_id)
            await delete_if_present(self._lookups, claim_key, claim_key)
        return None

    async def _finish_claimed_message(self, claim: Doc) -> None:
        """A duplicate found the claim of an earlier delivery: make sure that one is stored
        (its writer may have died between the claim and the message)."""
        if claim.get("message") is None:
            return  # an outbound message's provider id: the message was stored first
        message = Message.model_validate(claim["message"])
        if not _names_its_conversation(message):
            await create_if_absent(self._lookups, _message_locator(message))
        await self._write_message(message)

    async def _write_message(self, message: Message) -> tuple[Message, bool]:
        """Store the message with the next number of its conversation, or find it stored
        (flag False). The unique key on /seq makes two writers pick different numbers."""
        partition = message.conversation_id
        while True:
            last = await self._conversations.query(
                "SELECT TOP 1 VALUE c.seq FROM c WHERE c.pk = @pk ORDER BY c.seq DESC",
                {"@pk": partition},
                partition_key=partition,
            )
            stored = message.model_copy(update={"sequence": int(last[0]) + 1 if last else 1})
            body = document(
                stored.id,
                partition,
                "message",
                stored,
                seq=stored.sequence,
                internal=stored.internal,
            )
            if await create_if_absent(self._conversations, body):
                await index_message(self._conversations, self._search, self._opening_days, stored)
                return stored, True
            # 409: the message is there already (another writer), or the number was taken.
            existing = await read_or_none(self._conversations, stored.id, partition)
            if existing is not None:
                found = load_record(Message, existing)
                # A retry of the same message: its words document too, should a crash have
                # come between the two (a create that finds it costs ~1 RU).
                await index_message(self._conversations, self._search, self._opening_days, found)
                return found, False

    async def _message_doc(self, message_id: str) -> Doc | None:
        """An id naming its conversation is one point read there; any other, its claim first."""
        named = conversation_named_by(message_id)
        if named is not None:
            doc = await read_or_none(self._conversations, message_id, named)
            if doc is not None and doc["type"] == "message":
                return doc
        key = layout.message_key(message_id)
        locator = await read_or_none(self._lookups, key, key)
        if locator is None:
            return None
        return await read_or_none(self._conversations, message_id, str(locator["conversation_id"]))

    async def get_message(self, message_id: str) -> Message | None:
        doc = await self._message_doc(message_id)
        return None if doc is None else load_record(Message, doc)

    async def find_message_by_provider_id(self, provider_message_id: str) -> Message | None:
        key = layout.provider_message_key(provider_message_id)
        claim = await read_or_none(self._lookups, key, key)
        if claim is None:
            return None
        doc = await read_or_none(
            self._conversations, str(claim["message_id"]), str(claim["conversation_id"])
        )
        return None if doc is None else load_record(Message, doc)

    async def list_messages(
        self, conversation_id: str, *, after_sequence: int = 0, include_internal: bool
    ) -> Sequence[Message]:
        return await query_records(
            self._conversations,
            Message,
            "SELECT VALUE c.data FROM c WHERE c.pk = @pk AND c.type = 'message' "
            "AND c.seq > @after AND (@internal OR c.internal = false) ORDER BY c.seq",
            {"@pk": conversation_id, "@after": after_sequence, "@internal": include_internal},
            partition_key=conversation_id,
        )

    async def set_message_delivery(
        self,
        message_id: str,
        status: DeliveryStatus,
        provider_message_id: str | None,
        error: str | None = None,
        *,
        unknown_status: str | None = None,
    ) -> Message | None:
        doc = await self._message_doc(message_id)
        if doc is None:
            return None
        conversation_id = str(doc["pk"])
        if provider_message_id and provider_message_id != doc["data"]["provider_message_id"]:
            # The index first: a delivery report may arrive before this call returns.
            key = layout.provider_message_key(provider_message_id)
            await self._lookups.upsert(
                document(
                    key,
                    key,
                    "provider-message",
                    conversation_id=conversation_id,
                    message_id=message_id,
                    message=None,
                    ttl=layout.PROVIDER_MESSAGE_TTL_SECONDS,
                )
            )

        def deliver(current: Doc) -> Doc:
            message = load_record(Message, current)
            changed = message.model_copy(
                update={
                    "status": status,
                    "provider_message_id": provider_message_id or message.provider_message_id,
                    "error": error,
                    "unknown_status": unknown_status,
                }
            )
            return {**current, "data": model_json(changed)}

        updated = await update(self._conversations, message_id, conversation_id, deliver, read=doc)
        return None if updated is None else load_record(Message, updated)

    async def list_ongoing_conversations(
        self, *, after: str | None, limit: int
    ) -> Sequence[ConversationState]:
        """A supervisor read, not the hot path: the query spans every conversation's partition
        (paged by id), then each conversation's item is read through its pointer."""
        rows = await self._conversations.query(
            "SELECT TOP @limit VALUE c.data FROM c WHERE c.type = 'conversation' "
            "AND c.data.status = @open AND c.id > @after ORDER BY c.id",
            {"@open": "open", "@after": after or "", "@limit": limit},
            partition_key=None,
        )
        states = []
        for row in rows:
            conversation = Conversation.model_validate(row)
            item = await self.open_work_item(conversation.id)
            states.append(ConversationState(conversation=conversation, item=item))
        return states

    async def customer_conversations(
        self, customer_id: str, *, after: str | None, limit: int
    ) -> Sequence[Conversation]:
        """A supervisor read, off the hot path: one query across conversations' partitions,
        on the indexed /data/customer_id."""
        return await query_records(
            self._conversations,
            Conversation,
            "SELECT TOP @limit VALUE c.data FROM c WHERE c.type = 'conversation' "
            "AND c.data.customer_id = @customer AND c.id > @after ORDER BY c.id",
            {"@customer": customer_id, "@after": after or "", "@limit": limit},
            partition_key=None,
        )

    async def change_conversation_sentiment(
        self, conversation_id: str, change: SentimentUpdate
    ) -> Conversation | None:
        """One read-modify-write of the conversation's document, in its own partition, under
        its ETag (the item pointer it also holds is kept as read)."""
        outcome: list[Conversation] = []

        def apply(doc: Doc) -> Doc | None:
            current = load_record(Conversation, doc)
            rolled = change(current.sentiment)
            outcome[:] = [
                current if rolled is None else current.model_copy(update={"sentiment": rolled})
            ]
            return None if rolled is None else {**doc, "data": model_json(outcome[0])}

        await update(self._conversations, conversation_id, conversation_id, apply)
        return outcome[0] if outcome else None

    async def identify_customer(
        self, conversation_id: str, customer_id: str
    ) -> Conversation | None:
        """One read-modify-write of the conversation's document under its ETag."""
        outcome: list[Conversation] = []

        def apply(doc: Doc) -> Doc | None:
            outcome[:] = [load_record(Conversation, doc).identified_as(customer_id)]
            return {**doc, "data": model_json(outcome[0])}

        if await update(self._conversations, conversation_id, conversation_id, apply) is None:
            return None
        # Searches by customer find it under its new customer (the search projection).
        await index_conversation(self._search, self._opening_days, outcome[0])
        return outcome[0]

    async def set_typing(self, conversation_id: str, party: TypingParty, until: datetime) -> None:
        key = layout.typing_key(conversation_id)
        await self._lookups.upsert(
            document(
                str(party),
                key,
                "typing",
                until=epoch_micros(until),
                ttl=layout.TYPING_TTL_SECONDS,
            )
        )

    async def typing(self, conversation_id: str, now: datetime) -> frozenset[TypingParty]:
        # Only /pk is indexed in lookups: the partition's two records are filtered here.
        key = layout.typing_key(conversation_id)
        rows = await self._lookups.query(
            "SELECT c.id, c.until FROM c WHERE c.pk = @pk", {"@pk": key}, partition_key=key
        )
        moment = epoch_micros(now)
        return frozenset(TypingParty(row["id"]) for row in rows if int(row["until"]) > moment)


def _names_its_conversation(message: Message) -> bool:
    return conversation_named_by(message.id) == message.conversation_id


def _message_locator(message: Message) -> Doc:
    """Where the message lives (get_message has only its id), and the claim on that id."""
    key = layout.message_key(message.id)
    return document(
        key,
        key,
        "message-locator",
        conversation_id=message.conversation_id,
        message=model_json(message),
    )


def _claim(key: str, conversation: Conversation) -> Doc:
    return document(
        key,
        key,
        "open-conversation",
        conversation=model_json(conversation),
        closed_at=None if conversation.closed_at is None else conversation.closed_at.isoformat(),
    )
