"""Conversation search: what a search asks for, who may see what it finds, the words a message is
found by, and the order results come in. Pure; both stores implement the same rules.

Results come newest first: by the conversation's opening instant in epoch milliseconds, then by
id (both descending), and a page resumes after the last hit's (milliseconds, id).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta

from pydantic import Field

from shared.domain.base import Model
from shared.domain.channels import ChannelKind
from shared.domain.conversations import Conversation, ConversationStatus

MAX_QUERY_WORDS = 8
"""Each word of a text search is one index lookup; more than this is not a search any more."""

MAX_WORD_LENGTH = 64
"""Longer runs of letters (a pasted token, a URL fragment) are cut: they are found by their
first letters still."""

DEFAULT_RANGE_DAYS = 30
MAX_RANGE_DAYS = 366
"""On Cosmos DB a search reads one partition per day of the range (docs/cosmos.md): the range
is bounded so a search is too."""

_WORD = re.compile(r"[^\W_]+")


def search_words(text: str) -> tuple[str, ...]:
    """The words a text is found by, in first-seen order, each once: letters and digits,
    lower-cased, accents dropped (é → e), as SQLite FTS5's unicode61 tokenizer with
    remove_diacritics 2 reads them, so both stores find the same messages."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return tuple(dict.fromkeys(w[:MAX_WORD_LENGTH] for w in _WORD.findall(plain)))


def epoch_ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def day_start_ms(day: date) -> int:
    return epoch_ms(datetime.combine(day, time.min, tzinfo=UTC))


def opening_day(conversation: Conversation) -> date:
    """The UTC day a conversation opened on: its partition in Cosmos DB's search container."""
    return conversation.opened_at.astimezone(UTC).date()


def agent_party(agent_id: str) -> str:
    return f"agent:{agent_id}"


def queue_party(queue_id: str) -> str:
    return f"queue:{queue_id}"


class SearchPosition(Model):
    """Where a page of results ends: the last hit's opening instant and id."""

    opened_ms: int
    conversation_id: str

    def cursor(self) -> str:
        return f"{self.opened_ms}:{self.conversation_id}"

    @classmethod
    def parse(cls, cursor: str) -> SearchPosition | None:
        """None for a cursor no page gave (the service answers 400 for it)."""
        millis, sep, conversation_id = cursor.partition(":")
        if not sep or not conversation_id or not millis.lstrip("-").isdigit():
            return None
        return cls(opened_ms=int(millis), conversation_id=conversation_id)


class ConversationQuery(Model):
    """A search as the store runs it: every criterion given must hold.

    `visible_to`: the parties (`agent:<id>`, `queue:<id>`) one of which the conversation must
    have had, for a caller who sees only its own and its queues' conversations; None for one
    who sees all. `include_notes`: whether internal notes' words count (supervisors and admins;
    never an agent's search, so a note is not found, nor shown, through search)."""

    customer_id: str | None = None
    number: str | None = Field(default=None, description="the customer's address (E.164 for SMS)")
    words: tuple[str, ...] = Field(default=(), max_length=MAX_QUERY_WORDS)
    channel: ChannelKind | None = None
    queue_id: str | None = None
    agent_id: str | None = None
    status: ConversationStatus | None = None
    opened_from: date
    opened_to: date
    visible_to: tuple[str, ...] | None = None
    include_notes: bool = False

    @property
    def start_ms(self) -> int:
        return day_start_ms(self.opened_from)

    @property
    def end_ms(self) -> int:
        """Exclusive: the start of the day after `opened_to`."""
        return day_start_ms(self.opened_to + timedelta(days=1))

    def days_newest_first(self) -> list[date]:
        span = (self.opened_to - self.opened_from).days
        return [self.opened_to - timedelta(days=n) for n in range(span + 1)]


class SearchHit(Model):
    """A conversation a search found, with the key it sorts by."""

    conversation: Conversation
    opened_ms: int

    @property
    def position(self) -> SearchPosition:
        return SearchPosition(opened_ms=self.opened_ms, conversation_id=self.conversation.id)


def comes_after(hit_ms: int, hit_id: str, position: SearchPosition | None) -> bool:
    """Whether a hit sorts after the position (newest first), i.e. belongs to the next page."""
    if position is None:
        return True
    return (hit_ms, hit_id) < (position.opened_ms, position.conversation_id)
