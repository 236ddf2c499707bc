"""A conversation's transcript as text or as printable HTML (the browser's "Save as PDF" makes
the PDF). Pure: given the conversation, its messages and the names to show.

Two audiences: staff see internal notes, marked as notes; the customer's copy never has them
(`for_customer` drops them whatever the caller passed in)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from html import escape

from shared.domain.base import Model
from shared.domain.conversations import ConversationForAgents, MessageForAgents, SenderKind


class TranscriptFormat(StrEnum):
    TEXT = "text"
    HTML = "html"


class TranscriptHeader(Model):
    """What the transcript's header names, looked up by the service."""

    customer_name: str
    channel: str
    queue_name: str | None = None
    agent_name: str | None = None
    opened_at: datetime
    closed_at: datetime | None = None


class TranscriptLine(Model):
    at: datetime
    who: str
    text: str
    note: bool = False
    from_customer: bool = False
    files: tuple[str, ...] = ()


def transcript_lines(
    messages: Sequence[MessageForAgents],
    *,
    customer_name: str,
    agent_names: dict[str, str],
    for_customer: bool,
) -> list[TranscriptLine]:
    """The messages as lines, in conversation order; internal notes only for staff."""
    lines = []
    for message in sorted(messages, key=lambda m: m.sequence):
        if message.internal and for_customer:
            continue
        lines.append(
            TranscriptLine(
                at=message.created_at,
                who=_speaker(message, customer_name, agent_names),
                text=message.text,
                note=message.internal,
                from_customer=message.sender == SenderKind.CUSTOMER,
                files=tuple(m.name or m.url for m in message.media),
            )
        )
    return lines


def _speaker(message: MessageForAgents, customer_name: str, agent_names: dict[str, str]) -> str:
    if message.sender == SenderKind.CUSTOMER:
        return customer_name
    if message.sender == SenderKind.AGENT:
        return agent_names.get(message.agent_id or "", "Agent")
    if message.sender == SenderKind.BOT:
        return "Bot"
    return "System"


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def header_fields(header: TranscriptHeader) -> list[tuple[str, str]]:
    return [
        ("Customer", header.customer_name),
        ("Channel", header.channel),
        ("Queue", header.queue_name or "-"),
        ("Agent", header.agent_name or "-"),
        ("Opened", _when(header.opened_at)),
        ("Closed", _when(header.closed_at)),
    ]


def render_text(
    conversation: ConversationForAgents, header: TranscriptHeader, lines: Sequence[TranscriptLine]
) -> str:
    out = [f"Transcript of conversation {conversation.id}"]
    out += [f"{label}: {value}" for label, value in header_fields(header)]
    out.append("")
    for line in lines:
        mark = " [internal note]" if line.note else ""
        out.append(f"[{_when(line.at)}] {line.who}{mark}:")
        out += [f"  {part}" for part in line.text.splitlines() or [""]]
        out += [f"  (file: {name})" for name in line.files]
    return "\n".join(out) + "\n"


_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;color:#111;margin:2rem auto;max-width:48rem}
h1{font-size:1.3rem;margin:0 0 .5rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:0 0 1.5rem}
dt{font-weight:600}dd{margin:0}
ol{list-style:none;padding:0;margin:0}
li{margin:0 0 .75rem;padding:.4rem .6rem;border-left:3px solid #ccd;break-inside:avoid}
li.customer{border-color:#0b5cad}li.note{border-color:#b58900;background:#fdf6e3}
.who{font-weight:600}.at{color:#555;font-size:.85em;margin-left:.5rem}
.tag{font-size:.75em;text-transform:uppercase;color:#7a5c00;margin-left:.5rem}
.text{white-space:pre-wrap;overflow-wrap:anywhere;margin-top:.2rem}
@page{size:A4;margin:18mm}
@media print{body{margin:0;max-width:none}li{border-left-width:2px}}
"""


def render_html(
    conversation: ConversationForAgents, header: TranscriptHeader, lines: Sequence[TranscriptLine]
) -> str:
    """A self-contained page: inline print stylesheet, no script, every text escaped."""
    fields = "".join(
        f"<dt>{escape(label)}</dt><dd>{escape(value)}</dd>"
        for label, value in header_fields(header)
    )
    items = []
    for line in lines:
        kind = "note" if line.note else ("customer" if line.from_customer else "staff")
        tag = '<span class="tag">internal note</span>' if line.note else ""
        files = "".join(f'<div class="file">file: {escape(n)}</div>' for n in line.files)
        items.append(
            f'<li class="{kind}"><span class="who">{escape(line.who)}</span>'
            f'<span class="at">{escape(_when(line.at))}</span>{tag}'
            f'<div class="text">{escape(line.text)}</div>{files}</li>'
        )
    title = escape(f"Transcript: {header.customer_name}")
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{title}</h1><dl>{fields}</dl>"
        f'<ol class="transcript" data-conversation="{escape(conversation.id)}">'
        f"{''.join(items)}</ol></body></html>\n"
    )
