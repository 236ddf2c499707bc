"""Records and arrangements the store contract tests share."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from shared.domain.channels import ChannelKind
from shared.domain.conversations import Conversation, DeliveryStatus, Direction, Message, SenderKind
from shared.domain.presence import Presence, PresenceState
from shared.domain.routing_config import Agent
from shared.domain.work import WorkItem
from shared.ports import Store
from tests.support import unique_number

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def conversation(customer: str = "+14155550101", *, channel_id: str = "sms-1") -> Conversation:
    return Conversation(
        id=uuid.uuid4().hex,
        channel=ChannelKind.SMS,
        channel_id=channel_id,
        workstream_id="ws",
        customer_address=customer,
        business_address="+12025550100",
        opened_at=T0,
    )


def message(
    conversation_id: str, text: str, provider_id: str | None = None, **kw: object
) -> Message:
    fields: dict[str, object] = {
        "id": uuid.uuid4().hex,
        "conversation_id": conversation_id,
        "direction": Direction.INBOUND,
        "sender": SenderKind.CUSTOMER,
        "text": text,
        "provider_message_id": provider_id,
        "status": DeliveryStatus.RECEIVED,
        "created_at": T0,
    }
    fields.update(kw)
    return Message.model_validate(fields)


def item(
    conversation_id: str, *, queue: str = "q1", priority: int = 0, age: int = 0, units: int = 1
) -> WorkItem:
    return WorkItem(
        id=uuid.uuid4().hex,
        conversation_id=conversation_id,
        workstream_id="ws",
        queue_id=queue,
        priority=priority,
        capacity_units=units,
        enqueued_at=T0 + timedelta(seconds=age),
    )


async def agent(
    store: Store, agent_id: str = "a1", *, capacity: int = 2, queues: tuple[str, ...] = ("q1",)
) -> Agent:
    created = Agent(
        id=agent_id,
        display_name=agent_id.upper(),
        queue_ids=queues,
        max_capacity=capacity,
        default_presence=Presence.AVAILABLE,
    )
    await store.put_agent(created)
    return created


async def waiting_item(store: Store, **kw: object) -> WorkItem:
    conv, _ = await store.open_conversation(conversation(unique_number()))
    created, _ = await store.create_work_item(item(conv.id, **kw))  # type: ignore[arg-type]
    return created


def signed_in(presence: Presence) -> PresenceState:
    return PresenceState(presence=presence, signed_in=True, last_heartbeat_at=T0)


async def active_item(store: Store, agent_id: str, **kw: object) -> WorkItem:
    waiting = await waiting_item(store, **kw)
    assigned = await store.assign(waiting.id, agent_id, T0)
    assert assigned is not None
    return assigned


async def used(store: Store, agent_id: str) -> int:
    state = await store.agent_state(agent_id)
    assert state is not None
    return state.used_capacity
