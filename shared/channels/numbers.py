"""What every SMS provider's webhook parser does with a phone number it was sent."""

from __future__ import annotations

import logging

from shared.domain.phone import InvalidPhoneNumber, to_e164
from shared.errors import BadRequest

log = logging.getLogger(__name__)


def provider_number(provider: str, field: str, raw: str) -> str:
    """The number in E.164, or BadRequest naming the field. Logged without the number or the
    message: both are the customer's personal data."""
    try:
        return to_e164(raw)
    except InvalidPhoneNumber as exc:
        log.warning("%s webhook refused: field %s is not a phone number", provider, field)
        raise BadRequest(f"{provider} webhook field {field}: {exc}") from exc
