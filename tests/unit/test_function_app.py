"""The Functions app's metadata: what the host (and the local runtime) will index."""

from __future__ import annotations

import json
from pathlib import Path

from shared.services.queues import BULK, DELIVERY, INBOUND, OUTBOUND, ROUTE
from tests.support import catalog

ROOT = Path(__file__).resolve().parents[2]


def test_each_queue_has_one_session_enabled_trigger() -> None:
    functions = catalog().queue_functions
    assert sorted(f.queue_name for f in functions) == sorted(
        [INBOUND, ROUTE, OUTBOUND, DELIVERY, BULK]
    )
    assert all(f.sessions for f in functions)
    assert len({f.name for f in functions}) == len(functions)


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
