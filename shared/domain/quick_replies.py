"""Quick replies: titled answers an admin writes per workstream and locale, which an agent finds
by a few letters and sends filled for the conversation at hand. Pure data and rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import Field

from shared.domain.base import Model
from shared.domain.campaigns import ParameterName
from shared.domain.placeholders import PlaceholderError, fill, placeholders, require_known
from shared.domain.routing_config import Locale

CUSTOMER_AND_AGENT_PLACEHOLDERS = frozenset(
    {"customer_name", "first_name", "last_name", "agent_name"}
)
"""What every quick reply may name, whatever the conversation: filled from its customer record
and from the agent sending it."""

MAX_QUICK_REPLY_LENGTH = 4000
"""As long as an agent's reply may be (functions/routes/conversations.py)."""


class QuickReplyText(Model):
    """A quick reply as an admin writes it."""

    workstream_id: str = Field(min_length=1, max_length=200)
    locale: Locale | None = Field(
        default=None, description="the customers' language it is written in; None: any"
    )
    title: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=MAX_QUICK_REPLY_LENGTH)
    context_variables: tuple[ParameterName, ...] = Field(
        default=(),
        max_length=50,
        description="the conversation's context variables the text names (the widget sets "
        "them); one a conversation lacks is filled empty and reported as missing",
    )

    def allowed_placeholders(self) -> frozenset[str]:
        return CUSTOMER_AND_AGENT_PLACEHOLDERS | frozenset(self.context_variables)

    def check_placeholders(self) -> None:
        """Raises PlaceholderError for a placeholder the text may not use, or a context
        variable declared under a name the customer or agent already fill."""
        shadowing = CUSTOMER_AND_AGENT_PLACEHOLDERS.intersection(self.context_variables)
        if shadowing:
            named = ", ".join(sorted(shadowing))
            raise PlaceholderError(f"context variables {named} are the customer's or agent's")
        require_known(self.text, self.allowed_placeholders())


class QuickReply(QuickReplyText):
    id: str

    @property
    def search_text(self) -> str:
        """What a search matches: title and text, case-folded (the stores match the folded
        query as a substring of it, so both stores ignore case the same way, beyond ASCII)."""
        return f"{self.title}\n{self.text}".casefold()


class RenderedQuickReply(Model):
    """A quick reply filled for one conversation, ready to send as the agent's reply."""

    id: str
    title: str
    text: str
    missing: tuple[str, ...] = Field(
        default=(), description="placeholders the conversation had no value for (left empty)"
    )


def customer_and_agent_values(customer_name: str, agent_name: str) -> dict[str, str]:
    first, _, last = customer_name.partition(" ")
    return {
        "customer_name": customer_name,
        "first_name": first,
        "last_name": last,
        "agent_name": agent_name,
    }


def render(
    reply: QuickReply,
    *,
    customer_name: str,
    agent_name: str,
    context: Mapping[str, bool | float | str],
) -> RenderedQuickReply:
    """The reply's text for a conversation. A value the conversation lacks (no customer name
    yet, a context variable the widget did not set) is filled empty and named in `missing`,
    so the agent sees what to complete before sending."""
    values: dict[str, object] = dict(customer_and_agent_values(customer_name, agent_name))
    missing = [name for name, value in values.items() if value == ""]
    for name in reply.context_variables:
        if name in context:
            values[name] = _as_text(context[name])
        else:
            values[name] = ""
            missing.append(name)
    used = placeholders(reply.text)
    return RenderedQuickReply(
        id=reply.id,
        title=reply.title,
        text=fill(reply.text, values),
        missing=tuple(sorted(name for name in missing if name in used)),
    )


def _as_text(value: bool | float | str) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def for_locale(replies: Sequence[QuickReply], locale: str | None) -> list[QuickReply]:
    """The replies a conversation in `locale` may use: those in its language (exact tag, then
    the same primary language) and those written for any, in that order, then by title. A
    conversation whose language is not known may use every one."""

    def rank(reply: QuickReply) -> int | None:
        if locale is None:
            return 0
        if reply.locale is None:
            return 2
        if reply.locale.lower() == locale.lower():
            return 0
        if reply.locale.split("-")[0].lower() == locale.split("-")[0].lower():
            return 1
        return None

    ranked = [(rank(reply), reply) for reply in replies]
    kept = [(r, reply) for r, reply in ranked if r is not None]
    return [reply for _, reply in sorted(kept, key=lambda pair: (pair[0], pair[1].title.lower()))]
