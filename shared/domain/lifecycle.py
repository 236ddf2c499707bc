"""A conversation's life: its states, the transitions allowed between them, and why it closed.
Pure rules over the conversation and its work item.

    open ──► waiting ──► active ──► wrap-up ──► closed
               ▲  │        │  ▲                   │
               │  └────────┼──┘ (offer, transfer)  │ reopen (agent, or the customer
               └───────────┘                       │ within the workstream's window)
    any unclosed state ──────────────────► closed ─┘

A conversation closes when its last work item closes: handled (an agent had it), abandoned
(closed before any agent had it) or auto-closed (the customer's silence)."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from shared.domain.conversations import ClosingReason, Conversation, ConversationStatus
from shared.domain.work import WorkItem, WorkItemStatus


class LifecycleState(StrEnum):
    OPEN = "open"
    """Opened, no work item yet (or with the bot)."""
    WAITING = "waiting"
    """In a queue, or offered to an agent who has not accepted yet."""
    ACTIVE = "active"
    WRAP_UP = "wrap_up"
    CLOSED = "closed"


TRANSITIONS: dict[LifecycleState, frozenset[LifecycleState]] = {
    LifecycleState.OPEN: frozenset({LifecycleState.WAITING, LifecycleState.ACTIVE}),
    LifecycleState.WAITING: frozenset({LifecycleState.ACTIVE}),
    LifecycleState.ACTIVE: frozenset({LifecycleState.WAITING, LifecycleState.WRAP_UP}),
    LifecycleState.WRAP_UP: frozenset(),
    LifecycleState.CLOSED: frozenset({LifecycleState.OPEN}),
}
"""Each state's successors besides closing, which every unclosed state may do."""


class InvalidTransition(ValueError):
    """A change the lifecycle does not allow from the conversation's state."""

    def __init__(self, current: LifecycleState, target: LifecycleState) -> None:
        super().__init__(f"a conversation cannot go from {current} to {target}")
        self.current = current
        self.target = target


def state_of(conversation: Conversation, item: WorkItem | None) -> LifecycleState:
    """The conversation's state, from its status and its latest work item."""
    if conversation.status == ConversationStatus.CLOSED:
        return LifecycleState.CLOSED
    if item is None or item.status in (WorkItemStatus.BOT, WorkItemStatus.CLOSED):
        return LifecycleState.OPEN
    return {
        WorkItemStatus.WAITING: LifecycleState.WAITING,
        WorkItemStatus.OFFERED: LifecycleState.WAITING,
        WorkItemStatus.ACTIVE: LifecycleState.ACTIVE,
        WorkItemStatus.WRAP_UP: LifecycleState.WRAP_UP,
    }[item.status]


def may_transition(current: LifecycleState, target: LifecycleState) -> bool:
    if target == LifecycleState.CLOSED:
        return current != LifecycleState.CLOSED
    return target in TRANSITIONS[current]


def require_transition(current: LifecycleState, target: LifecycleState) -> None:
    if not may_transition(current, target):
        raise InvalidTransition(current, target)


def closing_reason(item: WorkItem, *, auto_closed: bool = False) -> ClosingReason:
    """Why a conversation closed with its last item: silence, else whether an agent had it
    (as the figures count handled and abandoned work)."""
    if auto_closed:
        return ClosingReason.AUTO_CLOSED
    had_agent = item.assigned_at is not None and item.agent_id is not None
    return ClosingReason.HANDLED if had_agent else ClosingReason.ABANDONED


def reopen_since(now: datetime, window_seconds: int) -> datetime | None:
    """The earliest close a customer's message still reopens (None: the window is off)."""
    return None if window_seconds <= 0 else now - timedelta(seconds=window_seconds)
