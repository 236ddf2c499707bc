"""One server span per HTTP request, named by its route template ("POST /api/sms/twilio").

The app's own rather than OpenTelemetry's FastAPI instrumentation, which records the full URL
and the client's address: query strings here carry webhook secrets and search terms (a phone
number, an e-mail), and an address is personal data. This span records the method, the route
template and the status only; a caller's W3C traceparent makes it a child of the caller's trace.
"""

from __future__ import annotations

from opentelemetry.trace import StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import telemetry


class ServerSpans:
    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        method = str(scope["method"])
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope["headers"]
        }
        with telemetry.serving(method, headers, attributes={"http.request.method": method}) as span:

            async def send_with_status(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(StatusCode.ERROR)
                await send(message)

            try:
                await self._app(scope, receive, send_with_status)
            finally:
                # Starlette names the matched route in the scope once routing has run.
                route = getattr(scope.get("route"), "path", None)
                if isinstance(route, str):
                    span.set_attribute("http.route", route)
                    span.update_name(f"{method} {route}")
