"""Which exporters start-up configures, read from the settings Azure and OTEL_* give."""

from __future__ import annotations

import pytest

from shared.telemetry_setup import TelemetryPlan, plan


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
