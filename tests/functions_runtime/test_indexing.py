"""What the real runtime indexes in function_app.py, against what host.json, the infrastructure
and the local runtime expect of it."""

from __future__ import annotations

import json
from pathlib import Path

from croniter import croniter

from tests.functions_runtime.host import FunctionsHost
from tests.support import catalog

ROOT = Path(__file__).resolve().parents[2]
# The binding types the host runs without an extension (HTTP, timers) or from host.json's
# extension bundle (Service Bus).
BUILT_IN = {"httpTrigger", "http", "timerTrigger"}
BUNDLED = {"serviceBusTrigger"}


def test_the_worker_runs_on_the_python_the_project_is_built_for(functions: FunctionsHost) -> None:
    worker = functions.init_response.worker_metadata
    assert (worker.runtime_name, worker.runtime_version) == ("python", "3.13")
    # The capabilities the HTTP requests below are shaped by.
    assert functions.capability("RawHttpBodyBytes") == "true"
    assert functions.capability("RpcHttpTriggerMetadataRemoved") == "true"
    assert functions.capability("HttpUri") is None, "plain HTTP invocations, not HTTP streaming"


def test_every_binding_is_one_the_host_can_run(functions: FunctionsHost) -> None:
    host = json.loads((ROOT / "host.json").read_text())
    assert host["extensionBundle"]["id"] == "Microsoft.Azure.Functions.ExtensionBundle"
    types = {b.type for f in functions.functions.values() for b in f.bindings}
    assert types <= BUILT_IN | BUNDLED
    for function in functions.functions.values():
        metadata = function.metadata
        assert metadata.language == "python"
        assert metadata.properties["worker_indexed"] == "True"
        # No in-host retry policy: a failed queue message goes back to Service Bus, whose
        # delivery count decides between a retry and the dead-letter queue.
        assert not metadata.HasField("retry_options")
        assert set(metadata.bindings) == {b.name for b in function.bindings}


def test_one_http_function_serves_every_route_without_a_prefix(functions: FunctionsHost) -> None:
    host = json.loads((ROOT / "host.json").read_text())
    assert host["extensions"]["http"]["routePrefix"] == ""
    (function,) = functions.by_trigger("httpTrigger")
    trigger = function.trigger.raw
    assert (trigger["route"], trigger["authLevel"]) == ("/{*route}", "ANONYMOUS")
    assert set(trigger["methods"]) >= {"GET", "POST", "PUT", "DELETE"}
    (output,) = (b for b in function.bindings if b.direction == "OUT")
    assert (output.type, output.name) == ("http", "$return")


def test_each_provisioned_queue_has_one_trigger_with_its_session_flag(
    functions: FunctionsHost,
) -> None:
    queues = json.loads((ROOT / "infra" / "servicebus-queues.json").read_text())["queues"]
    triggers = [f.trigger.raw for f in functions.by_trigger("serviceBusTrigger")]
    assert sorted(t["queueName"] for t in triggers) == sorted(q["name"] for q in queues)
    sessions = {q["name"]: q["properties"]["requiresSession"] for q in queues}
    for trigger in triggers:
        assert trigger.get("isSessionsEnabled", False) == sessions[trigger["queueName"]]
        assert trigger["connection"] == "ServiceBusConnection"
        # One message per invocation: the handlers take a ServiceBusMessage, not a batch.
        assert trigger.get("cardinality", "one") == "one"
    # The identity-based connection the Function App is given (infra) and the sample settings.
    api = (ROOT / "infra" / "app" / "api.bicep").read_text()
    assert "ServiceBusConnection__fullyQualifiedNamespace" in api
    sample = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]
    assert "ServiceBusConnection__fullyQualifiedNamespace" in sample


def test_the_local_runtime_runs_what_the_real_one_indexed(functions: FunctionsHost) -> None:
    """The local runtime (make run) reads the app's functions itself: the same queues, session
    flags, schedules and argument names as the real runtime's index."""
    local = catalog()
    assert {f.name: (f.queue_name, f.sessions, f.arg_name) for f in local.queue_functions} == {
        f.name: (
            f.trigger.raw["queueName"],
            f.trigger.raw.get("isSessionsEnabled", False),
            f.trigger.name,
        )
        for f in functions.by_trigger("serviceBusTrigger")
    }
    timers = functions.by_trigger("timerTrigger")
    assert {f.name: (f.schedule, f.run_on_startup, f.arg_name) for f in local.timer_functions} == {
        f.name: (
            f.trigger.raw["schedule"],
            f.trigger.raw.get("runOnStartup", False),
            f.trigger.name,
        )
        for f in timers
    }
    for timer in timers:
        # NCRONTAB: six fields, seconds first, as the host's timer trigger reads them.
        schedule = timer.trigger.raw["schedule"]
        assert len(schedule.split()) == 6 and croniter.is_valid(
            schedule, second_at_beginning=True
        ), schedule
