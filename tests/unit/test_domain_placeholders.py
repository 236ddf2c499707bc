"""Texts with placeholders: checked when saved against the names they may use, filled when sent."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from shared.domain.placeholders import (
    FixedText,
    PlaceholderError,
    fill,
    placeholders,
    require_known,
)


def test_a_text_fills_every_placeholder_and_keeps_doubled_braces() -> None:
    assert fill("Hi {first_name}, order {order} {{ok}}", {"first_name": "Ada", "order": 42}) == (
        "Hi Ada, order 42 {ok}"
    )


def test_names_in_a_format_spec_count_too() -> None:
    assert placeholders("{position:>{width}}") == {"position", "width"}


@pytest.mark.parametrize(
    ("text", "values", "problem"),
    [
        ("Hi {first_name}", {}, "no value for first_name"),
        ("Hi {first_name", {}, "malformed"),
        ("Hi {customer.__class__}", {}, "not a plain name"),
        ("Hi {0}", {"0": "x"}, "not a plain name"),
        ("Hi {}", {}, "not a plain name"),
    ],
)
def test_what_cannot_be_filled_is_explained(
    text: str, values: dict[str, str], problem: str
) -> None:
    with pytest.raises(PlaceholderError, match=problem):
        fill(text, values)


def test_an_unknown_placeholder_is_named_beside_the_known_ones() -> None:
    require_known("You are number {position}", {"position", "wait_minutes"})
    with pytest.raises(PlaceholderError) as refused:
        require_known("{position} {nonexistent_field} {zz}", {"position", "wait_minutes"})
    assert str(refused.value) == (
        "unknown placeholder {nonexistent_field}, {zz}; this text may use: {position}, "
        "{wait_minutes}"
    )


class Greeting(BaseModel):
    text: FixedText


def test_a_fixed_text_takes_no_placeholder_but_may_say_braces() -> None:
    assert fill(Greeting(text="Hello {{there}}").text, {}) == "Hello {there}"
    with pytest.raises(ValidationError, match=r"unknown placeholder \{customer_name\}"):
        Greeting(text="Hello {customer_name}")
