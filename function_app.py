"""The composition root for Azure Functions: one ASGI app for HTTP, blueprints for the rest."""

import os

import azure.functions as func

from functions import queue_triggers, timers
from functions.api import create_api
from shared.telemetry_setup import configure_telemetry

# Before anything records a span or a metric: Application Insights when infra set its
# connection string, else whatever OTEL_* settings ask, else nothing.
configure_telemetry(client_id=os.environ.get("AZURE_CLIENT_ID") or None)

api = create_api()

app = func.AsgiFunctionApp(app=api, http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(queue_triggers.blueprint)
app.register_functions(timers.blueprint)
