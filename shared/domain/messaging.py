"""Pure rules about messages: delivery status progression, consent keywords."""

from __future__ import annotations

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
