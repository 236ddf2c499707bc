"""The widget script: customer and agent text is only ever text on the page.

No browser runs here (Debian's chromium is not installed), so the script runs in Node on a
minimal fake DOM whose HTML-parsing entry points throw; a source check backs it up."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.channels.chat.test_chat_api import HOSTILE

ROOT = Path(__file__).resolve().parents[3]
WIDGET = ROOT / "shared" / "channels" / "chat_widget" / "widget.js"
HARNESS = Path(__file__).with_name("widget_harness.js")


def test_the_widget_never_parses_html_or_evaluates_code() -> None:
    source = re.sub(r"/\*.*?\*/", "", WIDGET.read_text(), flags=re.DOTALL)
    for sink in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        'setTimeout("',
        "srcdoc",
    ):
        assert sink not in source, sink


def nodes(node: dict[str, Any], tag: str) -> list[dict[str, Any]]:
    found = [node] if node["tag"] == tag else []
    for child in node["children"]:
        found += nodes(child, tag)
    return found


def texts(node: dict[str, Any]) -> list[str]:
    found = [node["text"]] if node["text"] else []
    for child in node["children"]:
        found += texts(child)
    return found


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")
def test_hostile_messages_render_as_text_in_the_widget() -> None:
    run = subprocess.run(
        ["node", str(HARNESS), str(WIDGET), HOSTILE],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    page = json.loads(run.stdout)
    # Only the widget's own elements exist: nothing came from the hostile markup.
    assert page["tags"] == ["A", "BODY", "BUTTON", "DIV", "FORM", "HEAD", "INPUT", "SPAN", "STYLE"]
    shown = texts(page["body"])
    assert shown.count(HOSTILE) == 4  # two texts, an agent name, an attachment name
    assert "The chat has ended" in shown
    (link,) = nodes(page["body"], "A")
    assert link.get("href") is None  # a javascript: URL is never made a link
    request, after = page["requests"]
    assert after["url"] == "https://chat.example/api/chat/sessions/c1/after"
    assert after["init"]["headers"]["Authorization"] == "Bearer t1"  # the ended chat's token
    assert request["url"] == "https://chat.example/api/chat/sessions/c1/messages?after=0&wait=20"
    assert request["init"]["headers"]["Authorization"] == "Bearer t1"
    assert page["storage"] == {}  # ended: the next chat is a new conversation
