"""The Service Bus work queue (QUEUE_BACKEND=servicebus): the publishing side, on the async SDK.

The queue triggers in functions/queue_triggers.py consume; this adapter only sends. It signs in
with the app's managed identity, so the namespace needs no keys (docs/servicebus.md lists the
roles). Every message is built by `build_message`, a pure function, so what goes on the wire is
tested without a server (tests/adapters/test_service_bus.py).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

from azure.core.credentials_async import AsyncTokenCredential
from azure.identity.aio import DefaultAzureCredential
from azure.servicebus import ServiceBusMessage
from azure.servicebus.aio import ServiceBusClient, ServiceBusSender

from shared import telemetry
from shared.bus_messages import BUS_QUEUES

CONTENT_TYPE = "application/json"
BODY_TYPE_PROPERTY = "body_type"
"""Names the body's model, so a dead letter or a peeked message says what it is."""


def application_properties(
    queue_name: str, trace_context: Mapping[str, str] | None = None
) -> dict[str, str]:
    """What a message on `queue_name` carries besides its body (the local runtime hands its
    triggers the same): its body's type, and the sender's W3C trace context (`traceparent`,
    `tracestate`), which makes the consumer's span a child of the sender's."""
    properties = dict(trace_context or {})
    spec = BUS_QUEUES.get(queue_name)
    if spec is not None:  # the embedded bus also carries tests' own queues
        properties[BODY_TYPE_PROPERTY] = spec.body.__name__
    return properties


def build_message(
    queue_name: str,
    body: str,
    *,
    session_id: str | None,
    message_id: str | None,
    not_before: datetime | None,
    trace_context: Mapping[str, str] | None = None,
) -> ServiceBusMessage:
    """The message `MessageBus.send` puts on `queue_name`. Raises ValueError for what Service Bus
    would refuse or misroute: an unknown queue, a session queue without a session id, a naive
    scheduled time."""
    spec = BUS_QUEUES.get(queue_name)
    if spec is None:
        raise ValueError(f"{queue_name!r} is not a work queue")
    if spec.sessions and session_id is None:
        raise ValueError(f"queue {queue_name!r} is session-enabled: a session id is required")
    if not_before is not None and not_before.tzinfo is None:
        raise ValueError("not_before must be timezone-aware")
    return ServiceBusMessage(
        body,
        content_type=CONTENT_TYPE,
        # A copy typed as the SDK types its property map.
        application_properties=dict(application_properties(queue_name, trace_context).items()),
        session_id=session_id,
        # Duplicate detection keys on the message id: a random one when the sender has none.
        message_id=message_id or uuid.uuid4().hex,
        # Sent with send_messages, the broker holds the message until this instant.
        scheduled_enqueue_time_utc=None if not_before is None else not_before.astimezone(UTC),
    )


class ServiceBusMessageBus:
    def __init__(
        self, client: ServiceBusClient, *, credential: AsyncTokenCredential | None = None
    ) -> None:
        self._client = client
        self._credential = credential
        self._senders: dict[str, tuple[ServiceBusSender, asyncio.Lock]] = {}

    @classmethod
    def connect(
        cls, fully_qualified_namespace: str, *, client_id: str | None
    ) -> ServiceBusMessageBus:
        """A publisher signed in as the app's managed identity (the user-assigned one when
        `client_id` is given). Nothing is opened until the first send."""
        if not fully_qualified_namespace:
            raise ValueError("ServiceBusConnection__fullyQualifiedNamespace is not set")
        credential = DefaultAzureCredential(managed_identity_client_id=client_id)
        return cls(ServiceBusClient(fully_qualified_namespace, credential), credential=credential)

    async def send(
        self,
        queue_name: str,
        body: str,
        *,
        session_id: str | None = None,
        message_id: str | None = None,
        not_before: datetime | None = None,
    ) -> None:
        with telemetry.publishing(queue_name, message_id=message_id) as trace_context:
            message = build_message(
                queue_name,
                body,
                session_id=session_id,
                message_id=message_id,
                not_before=not_before,
                trace_context=trace_context,
            )
            sender, lock = self._sender(queue_name)
            # An async sender is not safe for concurrent sends (azure-sdk-for-python#36334).
            async with lock:
                await sender.send_messages(message)

    def _sender(self, queue_name: str) -> tuple[ServiceBusSender, asyncio.Lock]:
        """One sender per queue for the life of the process: opening a link is expensive."""
        if queue_name not in self._senders:
            self._senders[queue_name] = (
                self._client.get_queue_sender(queue_name),
                asyncio.Lock(),
            )
        return self._senders[queue_name]

    async def close(self) -> None:
        await self._client.close()  # closes every sender it handed out
        if self._credential is not None:
            await self._credential.close()
