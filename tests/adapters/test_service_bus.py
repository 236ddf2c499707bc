"""The Service Bus publisher, against the SDK's own message objects and a recorded contract.

No Service Bus server or emulator runs here. tests/fixtures/servicebus/published.json lists, for
representative sends on every queue, what must go on the wire; these tests build each message
through the adapter's real code path and read it back from the SDK's AMQP message.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from azure.identity.aio import DefaultAzureCredential
from azure.servicebus import ServiceBusMessage
from azure.servicebus.aio import ServiceBusSender
from pydantic import BaseModel, ConfigDict

from shared.adapters import service_bus
from shared.adapters.service_bus import ServiceBusMessageBus, build_message
from shared.bootstrap import build_container
from shared.bus_messages import BUS_QUEUES, INBOUND, OUTBOUND, ROUTE
from shared.settings import Settings

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "servicebus" / "published.json"
GENERATED = "<generated>"
NAMESPACE = "omni-test.servicebus.windows.net"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SendCall(Strict):
    queue_name: str
    body: str
    session_id: str | None
    message_id: str | None
    not_before: datetime | None


class Published(Strict):
    queue: str
    body: str
    session_id: str | None
    message_id: str
    content_type: str
    application_properties: dict[str, str]
    scheduled_enqueue_time_utc: datetime | None


class Case(Strict):
    name: str
    send: SendCall
    published: Published


class Contract(Strict):
    about: str
    cases: tuple[Case, ...]


CASES = Contract.model_validate_json(FIXTURE.read_text(encoding="utf-8")).cases


def _text(value: Any) -> Any:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def on_the_wire(queue: str, message: ServiceBusMessage) -> Published:
    """Read a message back from its AMQP form: properties, application properties, annotations."""
    amqp = message.raw_amqp_message
    properties = amqp.properties
    assert properties is not None
    annotations = amqp.annotations or {}
    return Published(
        queue=queue,
        body=b"".join(amqp.body).decode("utf-8"),
        session_id=_text(properties.group_id),
        message_id=_text(properties.message_id),
        content_type=_text(properties.content_type),
        application_properties={
            _text(k): _text(v) for k, v in (amqp.application_properties or {}).items()
        },
        scheduled_enqueue_time_utc=annotations.get(b"x-opt-scheduled-enqueue-time"),
    )


def assert_matches(actual: Published, expected: Published) -> None:
    if expected.message_id == GENERATED:
        assert re.fullmatch(r"[0-9a-f]{32}", actual.message_id), actual.message_id
        actual = actual.model_copy(update={"message_id": GENERATED})
    assert actual == expected
    if expected.scheduled_enqueue_time_utc is not None:
        assert actual.scheduled_enqueue_time_utc is not None
        assert actual.scheduled_enqueue_time_utc.utcoffset() == timedelta(0)


def test_every_work_queue_has_a_recorded_send_whose_body_is_that_queues_model() -> None:
    assert {case.send.queue_name for case in CASES} == set(BUS_QUEUES)
    for case in CASES:
        BUS_QUEUES[case.send.queue_name].body.model_validate_json(case.send.body)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_build_message_publishes_what_the_contract_records(case: Case) -> None:
    message = build_message(
        case.send.queue_name,
        case.send.body,
        session_id=case.send.session_id,
        message_id=case.send.message_id,
        not_before=case.send.not_before,
    )
    assert_matches(on_the_wire(case.send.queue_name, message), case.published)


class RecordedSends:
    """What the SDK's senders were asked to put on the network."""

    def __init__(self) -> None:
        self.messages: list[tuple[ServiceBusSender, ServiceBusMessage]] = []
        self.in_flight = 0
        self.most_in_flight = 0


@pytest.fixture
async def recorded(monkeypatch: pytest.MonkeyPatch) -> RecordedSends:
    record = RecordedSends()

    async def send_messages(self: ServiceBusSender, message: Any, **_: Any) -> None:
        record.in_flight += 1
        record.most_in_flight = max(record.most_in_flight, record.in_flight)
        await asyncio.sleep(0)  # where the real sender awaits the network
        record.messages.append((self, message))
        record.in_flight -= 1

    async def schedule_messages(self: ServiceBusSender, *_: Any, **__: Any) -> None:
        raise AssertionError("scheduling goes through send_messages")

    monkeypatch.setattr(ServiceBusSender, "send_messages", send_messages)
    monkeypatch.setattr(ServiceBusSender, "schedule_messages", schedule_messages)
    return record


@pytest.fixture
async def publisher() -> AsyncIterator[ServiceBusMessageBus]:
    queue = ServiceBusMessageBus.connect(NAMESPACE, client_id=None)
    yield queue
    await queue.close()


async def test_send_puts_the_contracts_messages_on_each_queues_reused_sender(
    recorded: RecordedSends, publisher: ServiceBusMessageBus
) -> None:
    """Drives the real ServiceBusMessageBus.send with a real ServiceBusClient and the senders it
    hands out; only ServiceBusSender.send_messages, the network call, is replaced by a recorder.
    That is the SDK's port boundary, acceptable here because no Service Bus server can run."""
    for case in (*CASES, *CASES):
        await publisher.send(
            case.send.queue_name,
            case.send.body,
            session_id=case.send.session_id,
            message_id=case.send.message_id,
            not_before=case.send.not_before,
        )
    assert len(recorded.messages) == 2 * len(CASES)
    for (sender, message), case in zip(recorded.messages, (*CASES, *CASES), strict=True):
        assert sender.fully_qualified_namespace == NAMESPACE
        assert_matches(on_the_wire(sender.entity_name, message), case.published)
    senders_per_queue: dict[str, set[int]] = {}
    for sender, _ in recorded.messages:
        senders_per_queue.setdefault(sender.entity_name, set()).add(id(sender))
    assert {queue: len(ids) for queue, ids in senders_per_queue.items()} == {
        queue: 1 for queue in BUS_QUEUES
    }


async def test_concurrent_sends_on_one_queue_take_turns_on_its_sender(
    recorded: RecordedSends, publisher: ServiceBusMessageBus
) -> None:
    """The async sender is not safe for overlapping sends (azure-sdk-for-python#36334)."""
    await asyncio.gather(
        *(publisher.send(ROUTE, f'{{"queue_id":"q{n}"}}', session_id=f"q{n}") for n in range(5))
    )
    assert len(recorded.messages) == 5
    assert recorded.most_in_flight == 1


def test_a_session_queue_refuses_a_message_without_a_session() -> None:
    with pytest.raises(ValueError, match="session"):
        build_message(INBOUND, "{}", session_id=None, message_id="m", not_before=None)


def test_an_unknown_queue_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(ValueError, match="not a work queue"):
        build_message("inbox", "{}", session_id="s", message_id="m", not_before=None)


def test_a_naive_scheduled_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_message(
            OUTBOUND, "{}", session_id="c", message_id="m", not_before=datetime(2026, 11, 1)
        )


def test_messages_without_an_id_get_distinct_ones() -> None:
    first, second = (
        build_message(ROUTE, "{}", session_id="q", message_id=None, not_before=None)
        for _ in range(2)
    )
    assert first.message_id != second.message_id


def test_a_scheduled_time_is_published_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    message = build_message(
        OUTBOUND,
        "{}",
        session_id="c",
        message_id="m",
        not_before=datetime(2026, 11, 1, 10, 0, tzinfo=paris),
    )
    assert message.scheduled_enqueue_time_utc == datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def test_connect_needs_the_namespace_setting() -> None:
    with pytest.raises(ValueError, match="ServiceBusConnection__fullyQualifiedNamespace"):
        ServiceBusMessageBus.connect("", client_id=None)


async def test_the_container_publishes_to_service_bus_as_the_user_assigned_identity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCAL_SETTINGS_FILE", str(tmp_path / "absent.json"))
    credential_options: list[dict[str, Any]] = []

    def recording_credential(**options: Any) -> DefaultAzureCredential:
        credential_options.append(options)
        return DefaultAzureCredential(**options)

    monkeypatch.setattr(service_bus, "DefaultAzureCredential", recording_credential)
    # As Azure app settings give them to the Function App.
    monkeypatch.setenv("SQLITE_PATH", str(tmp_path / "store.db"))
    monkeypatch.setenv("DEV_AUTH_KEY_FILE", str(tmp_path / "key.pem"))
    monkeypatch.setenv("QUEUE_BACKEND", "servicebus")
    monkeypatch.setenv("ServiceBusConnection__fullyQualifiedNamespace", NAMESPACE)
    monkeypatch.setenv("AZURE_CLIENT_ID", "11111111-2222-3333-4444-555555555555")
    container = await build_container(Settings())
    try:
        assert isinstance(container.bus, ServiceBusMessageBus)
        assert container.local_bus is None
        assert container.bus._client.fully_qualified_namespace == NAMESPACE
        assert credential_options == [
            {"managed_identity_client_id": "11111111-2222-3333-4444-555555555555"}
        ]
    finally:
        await container.close()
