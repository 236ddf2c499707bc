"""What `make run` prints: where the service is, and ready commands to try it."""

from __future__ import annotations

import shlex
import uuid
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from devserver.runtime import FunctionCatalog
from devserver.seed import AGENTS, CUSTOMERS, SMS_NUMBER
from shared.bootstrap import Container
from shared.domain.identity import Role


def signed_twilio_form(
    auth_token: str, url: str, *, sender: str, to: str, text: str, sid: str | None = None
) -> tuple[str, str]:
    """A Twilio inbound-SMS form body and its X-Twilio-Signature, as Twilio would send them."""
    params = {
        "MessageSid": sid or "SM" + uuid.uuid4().hex,
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": to,
        "Body": text,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    signature = RequestValidator(auth_token).compute_signature(url, params)
    return urlencode(params), signature


def banner(services: Container, catalog: FunctionCatalog) -> str:
    settings = services.settings
    base = settings.public_base_url.rstrip("/")
    lines = [
        "",
        f"Omnichannel local runtime on {base}",
        f"  health:   {base}/api/health",
        f"  OpenAPI:  {base}/api/openapi.json   (browse: {base}/api/docs)",
        f"  chat demo: {base}/demo/   (widget: {base}/api/chat/widget.js)",
        "  queue triggers: "
        + ", ".join(f"{f.name}<-{f.queue_name}" for f in catalog.queue_functions),
        "  timers: " + ", ".join(f"{f.name} [{f.schedule}]" for f in catalog.timer_functions),
        "",
    ]
    if settings.twilio_auth_token:
        url = f"{base}/api/sms/twilio"
        body, signature = signed_twilio_form(
            settings.twilio_auth_token,
            url,
            sender=CUSTOMERS[0].mobile_phone or "",
            to=SMS_NUMBER,
            text="Hello, I need help with my order",
        )
        lines += [
            "Send a signed Twilio SMS (a new MessageSid each start; resending it is deduplicated):",
            f"  curl -sS -X POST {url} -H {shlex.quote('X-Twilio-Signature: ' + signature)} \\",
            f"    --data {shlex.quote(body)}",
            "",
        ]
    else:
        lines += ["(Set TWILIO_AUTH_TOKEN to accept Twilio webhooks.)", ""]
    if services.dev_issuer is not None:
        lines.append("Development tokens (Authorization: Bearer ...):")
        for agent in AGENTS:
            token = services.dev_issuer.issue(agent.id, [Role.AGENT], name=agent.display_name)
            lines.append(f"  {agent.id} (agent, capacity {agent.max_capacity}): {token}")
        admin = services.dev_issuer.issue("admin", [Role.SUPERVISOR, Role.ADMIN], name="Demo Admin")
        lines += [
            f"  admin (supervisor, admin): {admin}",
            "",
            "Then, as alice:",
            f"  curl -sS {base}/api/agents/me/work -H 'Authorization: Bearer <alice token>'",
            f"  curl -sS {base}/api/sandbox/sms -H 'Authorization: Bearer <admin token>'",
            "",
        ]
    return "\n".join(lines)
