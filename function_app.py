"""The composition root for Azure Functions: one ASGI app for HTTP, blueprints for the rest."""

import azure.functions as func

from functions import queue_triggers, timers
from functions.api import create_api

api = create_api()

app = func.AsgiFunctionApp(app=api, http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(queue_triggers.blueprint)
app.register_functions(timers.blueprint)
