from __future__ import annotations

import pytest

from shared.domain.phone import InvalidPhoneNumber, to_e164, to_international_digits


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+14133881111", "+14133881111"),
        ("15555555555", "+15555555555"),  # ACS and TeleSign send digits without '+'
        (" +1 (415) 555-0101 ", "+14155550101"),
        ("+447911123456", "+447911123456"),
    ],
)
def test_numbers_are_normalized_to_e164(raw: str, e164: str) -> None:
    assert to_e164(raw) == e164


@pytest.mark.parametrize("raw", ["", "   ", "12345", "not-a-number", "+1"])
def test_impossible_numbers_are_refused(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber):
        to_e164(raw)


@pytest.mark.parametrize(
    ("raw", "digits"),
    [("+14155550101", "14155550101"), ("447911123456", "447911123456")],
)
def test_telesign_numbers_are_country_code_and_digits(raw: str, digits: str) -> None:
    assert to_international_digits(raw) == digits


def test_telesign_numbers_are_validated() -> None:
    with pytest.raises(InvalidPhoneNumber):
        to_international_digits("12345")
