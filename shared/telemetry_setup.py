"""Where the spans and metrics of shared/telemetry.py go: set up once, at start-up, by
function_app.py (Azure) and by the local runtime (devserver). The only module that imports the
OpenTelemetry SDK and its exporters.

- In Azure (APPLICATIONINSIGHTS_CONNECTION_STRING set by infra): the Azure Monitor
  distribution, signed in as the app's managed identity (AZURE_CLIENT_ID), since the
  Application Insights component refuses instrumentation keys (infra/core/monitor).
- Locally, only when asked through the standard settings: OTEL_TRACES_EXPORTER and
  OTEL_METRICS_EXPORTER, each a comma-separated list of `console` and `otlp` (or `none`);
  OTLP over HTTP/protobuf, to OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318);
  OTEL_SERVICE_NAME names the service.
- Neither: nothing is configured, and every span and metric stays a no-op.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExporter,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

log = logging.getLogger(__name__)

SERVICE_NAME = "omnichannel"
OTLP_PROTOCOL = "http/protobuf"
Exporter = Literal["console", "otlp"]
EXPORTERS: tuple[Exporter, ...] = ("console", "otlp")

# The distribution's instrumentations this app does not want: FastAPI's would record the full
# URL (query strings carry webhook secrets and search terms) and the client's address; the
# app's own server span (functions/http_spans.py) names the route template only. The others
# are frameworks the app does not use.
_DISABLED_INSTRUMENTATIONS = ("fastapi", "django", "flask", "psycopg2")


@dataclass(frozen=True)
class TelemetryPlan:
    """What `configure_telemetry` sets up, read from the environment."""

    azure_monitor_connection_string: str | None
    traces: tuple[Exporter, ...]
    metrics: tuple[Exporter, ...]

    @property
    def enabled(self) -> bool:
        return bool(self.azure_monitor_connection_string or self.traces or self.metrics)


def plan(environ: Mapping[str, str]) -> TelemetryPlan:
    """Read the settings; raises ValueError naming a setting that asks for what this app
    cannot export."""
    protocol = environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", OTLP_PROTOCOL)
    plan = TelemetryPlan(
        azure_monitor_connection_string=environ.get("APPLICATIONINSIGHTS_CONNECTION_STRING")
        or None,
        traces=_exporters(environ, "OTEL_TRACES_EXPORTER"),
        metrics=_exporters(environ, "OTEL_METRICS_EXPORTER"),
    )
    if "otlp" in plan.traces + plan.metrics and protocol != OTLP_PROTOCOL:
        raise ValueError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol}: only {OTLP_PROTOCOL} is installed"
        )
    return plan


def _exporters(environ: Mapping[str, str], name: str) -> tuple[Exporter, ...]:
    chosen: list[Exporter] = []
    for word in environ.get(name, "").split(","):
        value = word.strip().lower()
        if value in ("", "none"):
            continue
        if value not in EXPORTERS:
            raise ValueError(f"{name}={value}: this app exports to console, otlp or none")
        exporter: Exporter = "console" if value == "console" else "otlp"
        chosen.append(exporter)
    return tuple(chosen)


_configured = False


def configure_telemetry(
    environ: Mapping[str, str] | None = None, *, client_id: str | None = None
) -> TelemetryPlan:
    """Set up the exporters the environment asks for, once per process (OpenTelemetry's
    providers are global); later calls change nothing. `client_id`: the user-assigned managed
    identity that publishes to Application Insights (None: the system-assigned one)."""
    global _configured
    chosen = plan(os.environ if environ is None else environ)
    if _configured or not chosen.enabled:
        return chosen
    _configured = True
    if chosen.azure_monitor_connection_string is not None:
        _configure_azure_monitor(chosen.azure_monitor_connection_string, client_id)
        return chosen
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", SERVICE_NAME)})
    if chosen.traces:
        provider = TracerProvider(resource=resource)
        for name in chosen.traces:
            provider.add_span_processor(BatchSpanProcessor(_span_exporter(name)))
        trace.set_tracer_provider(provider)
    if chosen.metrics:
        readers = [PeriodicExportingMetricReader(_metric_exporter(n)) for n in chosen.metrics]
        metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=readers))
    log.info("telemetry: traces to %s, metrics to %s", chosen.traces, chosen.metrics)
    return chosen


def _configure_azure_monitor(connection_string: str, client_id: str | None) -> None:
    from azure.identity import ManagedIdentityCredential
    from azure.monitor.opentelemetry import configure_azure_monitor

    # Traces and metrics only: the Functions host already sends the app's log lines to
    # Application Insights (`traces`), and the distribution would send each one twice. It
    # reads this standard setting, not an argument.
    os.environ.setdefault("OTEL_LOGS_EXPORTER", "none")
    configure_azure_monitor(
        connection_string=connection_string,
        credential=ManagedIdentityCredential(client_id=client_id or None),
        instrumentation_options={name: {"enabled": False} for name in _DISABLED_INSTRUMENTATIONS},
    )
    log.info("telemetry: to Application Insights, as the app's managed identity")


def _span_exporter(name: Exporter) -> SpanExporter:
    if name == "console":
        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def _metric_exporter(name: Exporter) -> MetricExporter:
    if name == "console":
        return ConsoleMetricExporter()
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    return OTLPMetricExporter()
