"""Which exporters start-up configures, read from the settings Azure and OTEL_* give."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.telemetry_setup import TelemetryPlan, plan

ROOT = Path(__file__).resolve().parents[2]


def test_nothing_asked_configures_nothing() -> None:
    assert plan({}) == TelemetryPlan(None, (), ())
    assert not plan({"OTEL_TRACES_EXPORTER": "none"}).enabled


def test_application_insights_when_infra_sets_its_connection_string() -> None:
    chosen = plan(
        {"APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=k;IngestionEndpoint=x"}
    )
    assert chosen.azure_monitor_connection_string is not None and chosen.enabled


def test_the_console_or_otlp_when_otel_settings_ask() -> None:
    chosen = plan({"OTEL_TRACES_EXPORTER": "console, otlp", "OTEL_METRICS_EXPORTER": "otlp"})
    assert (chosen.traces, chosen.metrics) == (("console", "otlp"), ("otlp",))


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER=zipkin"),
        (
            {"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            "OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
        ),
    ],
)
def test_an_exporter_this_app_lacks_is_refused_by_name(
    settings: dict[str, str], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        plan(settings)


# Start-up configures OpenTelemetry's global providers, once per process: each case runs in a
# process of its own, as the app starts.
SPAN_THROUGH_THE_APP = """
from opentelemetry import trace
from shared import telemetry
from shared.telemetry_setup import configure_telemetry
chosen = configure_telemetry()
with telemetry.span("ingest") as span:
    telemetry.identify(span, queue_id="q-general")
print("provider:", type(trace.get_tracer_provider()).__module__, flush=True)
getattr(trace.get_tracer_provider(), "shutdown", lambda: None)()
"""


def start_up(settings: dict[str, str]) -> str:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "APPLICATIONINSIGHTS_"))
    }
    done = subprocess.run(
        [sys.executable, "-c", SPAN_THROUGH_THE_APP],
        env={**environment, **settings},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_asked_for_the_console_the_apps_spans_are_printed() -> None:
    printed = start_up({"OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "omni-test"})
    assert '"name": "ingest"' in printed
    assert '"omnichannel.queue.id": "q-general"' in printed
    assert '"service.name": "omni-test"' in printed
    assert "provider: opentelemetry.sdk.trace" in printed


def test_unasked_nothing_is_configured() -> None:
    printed = start_up({})
    assert "provider: opentelemetry.trace" in printed  # the API's proxy: every span a no-op
    assert '"name"' not in printed


def test_in_azure_the_distribution_is_configured_with_the_managed_identity() -> None:
    printed = start_up(
        {
            # An ingestion endpoint nothing listens on: nothing leaves the machine.
            "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey="
            "00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/",
            "AZURE_CLIENT_ID": "11111111-1111-1111-1111-111111111111",
        }
    )
    assert "provider: opentelemetry.sdk.trace" in printed
