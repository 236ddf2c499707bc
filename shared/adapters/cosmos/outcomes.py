"""OutcomeStore on Cosmos DB: the conversation's outcome fields on its document (under its
ETag), an address's latest conversation through its open-conversation claim, and CSAT answers
in one `lookups` partition per UTC day."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from shared.adapters.cosmos import layout
from shared.adapters.cosmos.containers import CosmosBase, load_record
from shared.adapters.cosmos.documents import Doc, read_or_none, update
from shared.adapters.cosmos.layout import document, epoch_micros, model_json
from shared.domain.conversations import Conversation
from shared.domain.outcomes import CsatFact
from shared.ports import OutcomeChange


class CosmosOutcomes(CosmosBase):
    async def change_conversation_outcome(
        self, conversation_id: str, change: OutcomeChange
    ) -> tuple[Conversation, bool] | None:
        """One read-modify-write of the conversation's document in its own partition under its
        ETag. Lifecycle writes (close, reopen) change only the lifecycle fields of the same
        document under its ETag too, so neither loses the other's change."""
        outcome: list[tuple[Conversation, bool]] = []

        def apply(doc: Doc) -> Doc | None:
            current = load_record(Conversation, doc)
            proposed = change(current)
            if proposed is None:
                outcome[:] = [(current, False)]
                return None
            changed = current.with_outcome_of(proposed)
            outcome[:] = [(changed, True)]
            return {**doc, "data": model_json(changed)}

        await update(self._conversations, conversation_id, conversation_id, apply)
        return outcome[0] if outcome else None

    async def address_conversation(
        self, channel_id: str, customer_address: str
    ) -> Conversation | None:
        """The address's claim names its open conversation, or the one it closed last: one
        point read for the claim, one for the document."""
        key = layout.open_conversation_key(channel_id, customer_address)
        claim = await read_or_none(self._lookups, key, key)
        if claim is None:
            return None
        named = Conversation.model_validate(claim["conversation"])
        stored = await read_or_none(self._conversations, named.id, named.id)
        # Not written yet (its opener is in flight): the claim's snapshot is the conversation.
        return named if stored is None else load_record(Conversation, stored)

    async def put_csat_fact(self, fact: CsatFact) -> None:
        at = fact.answered_at.astimezone(UTC)
        key = layout.csat_answers_key(at.date())
        await self._lookups.upsert(
            document(fact.conversation_id, key, "csat", fact, answered_at=epoch_micros(at))
        )

    async def csat_facts(self, start: datetime, end: datetime) -> Sequence[CsatFact]:
        # Only /pk is indexed in lookups: a UTC day's answers are read whole, filtered here.
        first, last = start.astimezone(UTC).date(), end.astimezone(UTC).date()
        low, high = epoch_micros(start), epoch_micros(end)
        facts: list[tuple[int, str, CsatFact]] = []
        for n in range((last - first).days + 1):
            key = layout.csat_answers_key(first + timedelta(days=n))
            rows = await self._lookups.query(
                "SELECT * FROM c WHERE c.pk = @pk", {"@pk": key}, partition_key=key
            )
            for row in rows:
                moment = int(row["answered_at"])
                if low <= moment < high:
                    facts.append((moment, str(row["id"]), load_record(CsatFact, row)))
        return [fact for _, _, fact in sorted(facts, key=lambda f: (f[0], f[1]))]
