"""The conversation lifecycle's pure rules (issue 15): states, transitions, closing reasons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.conversations import ClosingReason, ConversationStatus
from shared.domain.lifecycle import (
    InvalidTransition,
    LifecycleState,
    closing_reason,
    may_transition,
    reopen_since,
    require_transition,
    state_of,
)
from shared.domain.work import WorkItemStatus
from tests.contract.builders import T0, conversation, item

S = LifecycleState


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (None, S.OPEN),
        (WorkItemStatus.BOT, S.OPEN),
        (WorkItemStatus.WAITING, S.WAITING),
        (WorkItemStatus.OFFERED, S.WAITING),
        (WorkItemStatus.ACTIVE, S.ACTIVE),
        (WorkItemStatus.WRAP_UP, S.WRAP_UP),
    ],
)
def test_an_open_conversations_state_follows_its_work(
    status: WorkItemStatus | None, state: LifecycleState
) -> None:
    work = None if status is None else item("c").model_copy(update={"status": status})
    assert state_of(conversation(), work) == state


def test_a_closed_conversation_is_closed_whatever_its_item() -> None:
    closed = conversation().closed(T0, ClosingReason.HANDLED)
    assert state_of(closed, item("c")) == S.CLOSED


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.OPEN, S.WAITING),
        (S.WAITING, S.ACTIVE),
        (S.ACTIVE, S.WAITING),
        (S.ACTIVE, S.WRAP_UP),
        (S.WRAP_UP, S.CLOSED),
        (S.WAITING, S.CLOSED),
        (S.CLOSED, S.OPEN),
    ],
)
def test_allowed_transitions(current: LifecycleState, target: LifecycleState) -> None:
    assert may_transition(current, target)
    require_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.OPEN, S.OPEN),
        (S.ACTIVE, S.OPEN),
        (S.WRAP_UP, S.WRAP_UP),
        (S.WRAP_UP, S.ACTIVE),
        (S.CLOSED, S.CLOSED),
        (S.CLOSED, S.ACTIVE),
        (S.WAITING, S.WRAP_UP),
    ],
)
def test_forbidden_transitions_are_refused_naming_both_states(
    current: LifecycleState, target: LifecycleState
) -> None:
    assert not may_transition(current, target)
    with pytest.raises(InvalidTransition, match=f"from {current} to {target}"):
        require_transition(current, target)


def test_closing_reason_matches_the_figures_handled_and_abandoned() -> None:
    waited = item("c").model_copy(update={"status": WorkItemStatus.CLOSED, "closed_at": T0})
    handled = waited.model_copy(update={"agent_id": "alice", "assigned_at": T0})
    assert closing_reason(waited) == ClosingReason.ABANDONED
    assert closing_reason(handled) == ClosingReason.HANDLED
    assert closing_reason(handled, auto_closed=True) == ClosingReason.AUTO_CLOSED


def test_close_and_reopen_record_when() -> None:
    closed = conversation().closed(T0, ClosingReason.ABANDONED)
    assert (closed.status, closed.closed_at, closed.closing_reason) == (
        ConversationStatus.CLOSED,
        T0,
        ClosingReason.ABANDONED,
    )
    later = T0 + timedelta(minutes=1)
    reopened = closed.reopened(later)
    assert (reopened.status, reopened.closed_at, reopened.reopened_at) == (
        ConversationStatus.OPEN,
        None,
        later,
    )


def test_the_reopen_window() -> None:
    now = datetime(2026, 11, 1, 12, tzinfo=UTC)
    assert reopen_since(now, 300) == now - timedelta(minutes=5)
    assert reopen_since(now, 0) is None
