"""The Functions app's metadata: what the host (and the local runtime) will index."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from shared import bus_messages
from shared.bus_messages import (
    BUS_QUEUES,
    DUPLICATE_DETECTION_WINDOW,
    LOCK_DURATION,
    MAX_DELIVERY_COUNT,
)
from shared.settings import Settings
from tests.support import catalog

ROOT = Path(__file__).resolve().parents[2]


def test_each_work_queue_has_one_trigger_with_its_declared_sessions_flag() -> None:
    spelled = {
        value
        for name, value in vars(bus_messages).items()
        if name.isupper() and isinstance(value, str)
    }
    assert spelled == set(BUS_QUEUES), "every queue name spelled is declared"
    functions = catalog().queue_functions
    assert sorted(f.queue_name for f in functions) == sorted(BUS_QUEUES)
    assert {f.queue_name: f.sessions for f in functions} == {
        name: spec.sessions for name, spec in BUS_QUEUES.items()
    }
    assert len({f.name for f in functions}) == len(functions)


def _iso_duration(delta: timedelta) -> str:
    hours, rest = divmod(delta.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    time = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    return "P" + (f"{delta.days}D" if delta.days else "") + (f"T{time}" if time else "")


def test_infra_creates_exactly_the_declared_queues() -> None:
    expected = [
        {
            "name": spec.name,
            "properties": {
                "requiresSession": spec.sessions,
                "maxDeliveryCount": MAX_DELIVERY_COUNT,
                "lockDuration": _iso_duration(LOCK_DURATION),
                "requiresDuplicateDetection": True,
                "duplicateDetectionHistoryTimeWindow": _iso_duration(DUPLICATE_DETECTION_WINDOW),
            },
        }
        for spec in BUS_QUEUES.values()
    ]
    infra = json.loads((ROOT / "infra" / "servicebus-queues.json").read_text())
    assert infra["queues"] == expected, json.dumps(expected, indent=2)


def test_the_local_queue_dead_letters_after_as_many_deliveries_as_service_bus() -> None:
    assert Settings.model_fields["queue_max_delivery_count"].default == MAX_DELIVERY_COUNT


def _timespan(value: str) -> timedelta:
    match = re.fullmatch(r"(\d+):(\d{2}):(\d{2})", value)
    assert match, value
    hours, minutes, seconds = map(int, match.groups())
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


def test_host_json_service_bus_settings_fit_the_queues() -> None:
    host = json.loads((ROOT / "host.json").read_text())
    service_bus = host["extensions"]["serviceBus"]
    # The triggers complete on return and abandon on exception; handlers are idempotent.
    assert service_bus["autoCompleteMessages"] is True
    # A handler running up to the function timeout keeps its (session) lock all along.
    renewal = _timespan(service_bus["maxAutoLockRenewalDuration"])
    assert renewal >= _timespan(host["functionTimeout"])
    assert renewal > LOCK_DURATION
    if any(spec.sessions for spec in BUS_QUEUES.values()):
        assert service_bus["maxConcurrentSessions"] >= 1
        assert _timespan(service_bus["sessionIdleTimeout"]) < LOCK_DURATION


def test_timers_have_six_field_ncrontab_schedules() -> None:
    timers = catalog().timer_functions
    assert timers
    for timer in timers:
        assert len(timer.schedule.split()) == 6, timer


def test_every_trigger_uses_the_identity_based_service_bus_connection() -> None:
    import function_app  # already indexed by catalog(); read its raw bindings again here

    bindings = [
        json.loads(raw)
        for function in function_app.app._function_builders
        for raw in function.build().get_raw_bindings()
    ]
    service_bus = [b for b in bindings if b["type"] == "serviceBusTrigger"]
    assert service_bus
    assert {b["connection"] for b in service_bus} == {"ServiceBusConnection"}
    http = [b for b in bindings if b["type"] == "httpTrigger"]
    assert [(b["route"], b["authLevel"]) for b in http] == [("/{*route}", "ANONYMOUS")]


def test_host_json_routes_without_prefix_and_bundles_extensions() -> None:
    host = json.loads((ROOT / "host.json").read_text())
    assert host["version"] == "2.0"
    assert host["extensions"]["http"]["routePrefix"] == ""
    assert host["extensionBundle"]["id"] == "Microsoft.Azure.Functions.ExtensionBundle"
    assert "serviceBus" in host["extensions"]
