"""Texts an admin writes with {placeholders} (templates, automated messages): the names a text
uses, checked when it is saved against the names it may use, and filled when it is sent. The
grammar is Python's str.format: doubled braces ({{ and }}) stay literal."""

from __future__ import annotations

import string
from collections.abc import Mapping, Set
from typing import Annotated

from pydantic import AfterValidator


class PlaceholderError(ValueError):
    pass


def placeholders(text: str) -> set[str]:
    """Every name the text uses, those nested in a format spec too. Raises PlaceholderError
    for a malformed text or a placeholder that is not a plain name ({0}, {a.b}, {})."""
    try:
        fields = [(name, spec) for _, name, spec, _ in string.Formatter().parse(text)]
    except ValueError as exc:
        raise PlaceholderError(f"malformed text: {exc}") from exc
    names: set[str] = set()
    for name, spec in fields:
        if name is None:
            continue
        if not name.isidentifier():
            raise PlaceholderError(f"placeholder {{{name}}} is not a plain name")
        names.add(name)
        if spec:
            names |= placeholders(spec)
    return names


def require_known(text: str, known: Set[str]) -> None:
    """Raises PlaceholderError naming each placeholder of the text that is not `known`."""
    unknown = placeholders(text) - known
    if unknown:
        named = ", ".join(f"{{{name}}}" for name in sorted(unknown))
        offered = ", ".join(f"{{{name}}}" for name in sorted(known)) or "none"
        raise PlaceholderError(f"unknown placeholder {named}; this text may use: {offered}")


def fill(text: str, values: Mapping[str, object]) -> str:
    """The text with its placeholders filled; every one must have a value."""
    needed = placeholders(text)
    missing = needed - set(values)
    if missing:
        raise PlaceholderError(f"no value for {', '.join(sorted(missing))}")
    return text.format_map({name: values[name] for name in needed})


def _takes_none(text: str) -> str:
    require_known(text, frozenset())
    return text


FixedText = Annotated[str, AfterValidator(_takes_none)]
"""A text sent as written, through `fill` with no values: it may use no placeholder, and a
doubled brace stays one literal brace, as in every other text an admin writes."""
