"""Quick replies' pure rules: which placeholders a reply may use, how it is filled, and which
replies a conversation's language gets."""

from __future__ import annotations

import pytest

from shared.domain.placeholders import PlaceholderError
from shared.domain.quick_replies import QuickReply, for_locale, render


def reply(
    reply_id: str, text: str = "Hi", locale: str | None = None, title: str = "T", **extra: object
) -> QuickReply:
    return QuickReply.model_validate(
        {"id": reply_id, "workstream_id": "ws", "title": title, "text": text, "locale": locale}
        | extra
    )


def test_a_reply_may_name_the_customer_the_agent_and_its_declared_context_variables() -> None:
    reply(
        "a",
        "{first_name} {last_name}, {agent_name} here about {order}",
        context_variables=["order"],
    ).check_placeholders()
    with pytest.raises(PlaceholderError, match=r"unknown placeholder \{order\}"):
        reply("a", "About {order}").check_placeholders()
    with pytest.raises(PlaceholderError, match="customer's or agent's"):
        reply("a", "Hi", context_variables=["first_name"]).check_placeholders()


def test_filling_turns_context_values_into_text_and_names_what_was_missing() -> None:
    filled = render(
        reply(
            "a",
            "{first_name}: {vip} {points} {tier} {{literal}}",
            context_variables=["vip", "points", "tier"],
        ),
        customer_name="Ada Lovelace",
        agent_name="Alice",
        context={"vip": True, "points": 42.0},
    )
    assert filled.text == "Ada: yes 42  {literal}"
    assert filled.missing == ("tier",)
    unnamed = render(reply("b", "Hi {first_name}"), customer_name="", agent_name="A", context={})
    assert (unnamed.text, unnamed.missing) == ("Hi ", ("first_name",))


def test_a_conversation_gets_its_language_first_then_replies_for_any() -> None:
    replies = [
        reply("any", title="B any"),
        reply("fr", locale="fr", title="Z fr"),
        reply("fr-ca", locale="fr-CA", title="Y fr-CA"),
        reply("en", locale="en", title="A en"),
    ]
    assert [r.id for r in for_locale(replies, "fr-CA")] == ["fr-ca", "fr", "any"]
    assert [r.id for r in for_locale(replies, "en-GB")] == ["en", "any"]
    assert [r.id for r in for_locale(replies, None)] == ["en", "any", "fr-ca", "fr"]
