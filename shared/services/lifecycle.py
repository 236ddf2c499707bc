"""The conversation's lifecycle as services live it (the rules are shared/domain/lifecycle.py):
a conversation closes with its last work item, and a reopened one gets new work, to its last
agent when that agent can take it now, else waiting in its queue."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Protocol

from shared import telemetry
from shared.domain.conversations import Conversation
from shared.domain.lifecycle import (
    InvalidTransition,
    LifecycleState,
    closing_reason,
    require_transition,
    state_of,
)
from shared.domain.work import CandidateVerdict, WorkItem
from shared.errors import Conflict
from shared.ports import AgentStateStore, ConversationStore, RoutingConfigStore, WorkItemStore
from shared.services.routing import RoutingService

log = logging.getLogger(__name__)


class LifecyclePorts(
    ConversationStore, WorkItemStore, RoutingConfigStore, AgentStateStore, Protocol
):
    """The store ports the lifecycle needs."""


def require(conversation: Conversation, item: WorkItem | None, target: LifecycleState) -> None:
    """The lifecycle allows the conversation to go to `target` now; else a conflict (409)
    naming both states, before anything changes."""
    try:
        require_transition(state_of(conversation, item), target)
    except InvalidTransition as refused:
        raise Conflict(str(refused)) from refused


async def close_with_item(
    store: ConversationStore, item: WorkItem, *, auto_closed: bool = False
) -> Conversation | None:
    """The item just closed was its conversation's last: the conversation closes when it did,
    saying why. Idempotent (a retry finds it closed: None)."""
    assert item.closed_at is not None, "only a closed item closes its conversation"
    reason = closing_reason(item, auto_closed=auto_closed)
    closed = await store.close_conversation(item.conversation_id, item.closed_at, reason)
    if closed is not None:
        log.info("conversation %s closed (%s)", closed.id, reason)
    return closed


async def reopened_work(
    store: LifecyclePorts,
    routing: RoutingService,
    last: WorkItem,
    now: datetime,
    *,
    why: str,
) -> tuple[WorkItem, bool]:
    """New work like the conversation's `last` item: assigned to its agent if that agent may
    take it now (presence and capacity), else waiting in its queue with its priority. The flag
    is False when the conversation had unclosed work already (that item is returned)."""
    item, created = await store.create_work_item(
        WorkItem(
            id=uuid.uuid4().hex,
            conversation_id=last.conversation_id,
            workstream_id=last.workstream_id,
            queue_id=last.queue_id,
            priority=last.priority,
            capacity_units=last.capacity_units,
            required_skills=last.required_skills,
            enqueued_at=now,
            # The reopening request's trace (the customer's message, or the agent's reopen).
            trace_context=telemetry.current_traceparent(),
        )
    )
    if not created:
        return item, False
    agent_id = last.agent_id
    assigned = None
    if agent_id is not None:
        workstream = await store.get_workstream(item.workstream_id)
        state = await store.agent_state(agent_id)
        if (
            workstream is not None
            and state is not None
            and state.presence in workstream.allowed_presences
        ):
            assigned = await store.assign(item.id, agent_id, now)
    if assigned is None or agent_id is None:
        why = f"{why}; its last agent cannot take it: it waits"
        await routing.record_decision(item, reason=why)
        await routing.request_routing([item.queue_id], item_id=item.id)
        return item, True
    await routing.follow_capacity(agent_id)
    await routing.record_decision(
        assigned,
        reason=f"{why}, to its last agent",
        candidates=(CandidateVerdict(agent_id=agent_id),),
        chosen_agent_id=agent_id,
    )
    return assigned, True
