"""E.164 phone numbers: what every SMS address is normalized to before it is stored or compared."""

from __future__ import annotations

import phonenumbers


class InvalidPhoneNumber(ValueError):
    pass


def to_e164(raw: str) -> str:
    """Normalize a provider's number (with or without '+') to E.164, or raise.

    Providers send international numbers, sometimes without the leading '+': a number is read
    as international whenever it has no '+', since there is no region to assume.
    """
    text = raw.strip()
    if not text:
        raise InvalidPhoneNumber("empty phone number")
    candidate = text if text.startswith("+") else "+" + text
    try:
        parsed = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"not a phone number: {exc}") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhoneNumber("not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def to_international_digits(raw: str) -> str:
    """A number as TeleSign's API writes it: country code and digits, no '+' (15558675309)."""
    return to_e164(raw).removeprefix("+")
