"""Pure rules about messages: delivery status progression, consent keywords, templates."""

from __future__ import annotations

import string
from collections.abc import Mapping

from shared.domain.conversations import DeliveryStatus
from shared.domain.customers import ConsentAction

_PROGRESS = {
    DeliveryStatus.RECEIVED: 0,
    DeliveryStatus.QUEUED: 1,
    DeliveryStatus.SENT: 2,
    DeliveryStatus.DELIVERED: 3,
    DeliveryStatus.FAILED: 3,
}


def advance_delivery(
    current: DeliveryStatus | None, reported: DeliveryStatus
) -> DeliveryStatus | None:
    """The status after a provider's report, or None when the report changes nothing.

    Reports arrive out of order and more than once: a status only moves forward, and a final
    one (delivered, failed) stays, so a late "sent" never overwrites "delivered".
    """
    if current is None or _PROGRESS[current] == 3 or _PROGRESS[reported] <= _PROGRESS[current]:
        return None
    return reported


# The keywords carriers and Twilio's default opt-out handling recognise, as the whole message.
_KEYWORDS = {
    **dict.fromkeys(
        ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"),
        ConsentAction.OPT_OUT,
    ),
    **dict.fromkeys(("START", "YES", "UNSTOP", "OPTIN"), ConsentAction.OPT_IN),
    **dict.fromkeys(("HELP", "INFO"), ConsentAction.HELP),
}


def keyword_consent(text: str) -> ConsentAction | None:
    """The consent action a message is, if it is nothing but a keyword."""
    return _KEYWORDS.get(text.strip().strip(".!").upper())


class TemplateError(ValueError):
    pass


def template_placeholders(body: str) -> set[str]:
    """The names a template needs, such as {customer_name}; raises on a malformed body."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(body) if name is not None}
    except ValueError as exc:
        raise TemplateError(f"malformed template: {exc}") from exc


def render_template(body: str, values: Mapping[str, str]) -> str:
    """Fill a template's placeholders; every one must have a value."""
    needed = template_placeholders(body)
    for name in needed:
        if not name.isidentifier():
            raise TemplateError(f"placeholder {{{name}}} is not a plain name")
    missing = needed - set(values)
    if missing:
        raise TemplateError(f"no value for {', '.join(sorted(missing))}")
    return body.format_map({name: values[name] for name in needed})
