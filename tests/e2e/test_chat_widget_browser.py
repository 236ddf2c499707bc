"""The chat widget in a real browser (headless Chromium, Playwright) on the demo pages the app
serves: a visitor fills the pre-chat form and chats with alice, who answers through the agent
API; hostile text stays text; on a second page the same conversation continues."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.runtime import Runtime, eventually, work_of

pytestmark = pytest.mark.e2e

WAIT_MS = 10_000
HOSTILE = 'Hi Ada <img src=x onerror="window.owned=1"> how can I help?'


def test_a_visitor_chats_with_an_agent_across_pages(
    runtime: Runtime, browser: Browser, screenshot: Callable[[str], Path]
) -> None:
    runtime.start()
    page = browser.new_page(viewport={"width": 1000, "height": 720})
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{runtime.base}/demo/")

    page.click(".occ-button")
    page.fill(".occ-form input[name=name]", "Ada Lovelace")
    page.fill(".occ-form input[name=phone]", "+14155550101")
    page.fill(".occ-form input[name=topic]", "My order")
    page.click(".occ-form button[type=submit]")
    expect(page.locator(".occ-system .occ-text").first).to_have_text(
        "Hello! An agent will be with you shortly."
    )

    def chat_work() -> list[dict[str, Any]]:
        return [w for w in work_of(runtime, "alice") if w["conversation"]["channel"] == "chat"]

    (work,) = eventually(chat_work, "the chat offered to alice")
    assert work["conversation"]["customer_id"] == "cust-ada"  # identified by the pre-chat form
    messages_url = f"{runtime.base}/api/conversations/{work['conversation']['id']}/messages"
    alice = runtime.auth("alice")
    httpx.post(messages_url, json={"text": HOSTILE}, headers=alice).raise_for_status()
    httpx.post(
        messages_url, json={"text": "VIP customer", "internal": True}, headers=alice
    ).raise_for_status()

    agent_line = page.locator(".occ-agent .occ-text")
    expect(agent_line).to_have_text(HOSTILE)
    expect(page.locator(".occ-status")).to_contain_text("You are chatting with")
    assert page.locator(".occ-panel img").count() == 0
    assert page.evaluate("window.owned") is None
    assert "VIP customer" not in page.locator(".occ-panel").inner_text()  # notes stay internal

    page.fill(".occ-compose input[name=text]", "Where is parcel 42?")
    page.click(".occ-compose button[type=submit]")

    def customer_texts() -> list[str]:
        listed = httpx.get(messages_url, headers=alice).json()
        return [m["text"] for m in listed if m["sender"] == "customer"]

    assert eventually(lambda: "Where is parcel 42?" in customer_texts(), "the visitor's message")
    page.screenshot(path=str(screenshot("chat-widget.png")))

    # Another page of the site: the widget finds its token and the conversation continues.
    page.goto(f"{runtime.base}/demo/second.html")
    page.click(".occ-button")
    expect(page.locator(".occ-agent .occ-text")).to_have_text(HOSTILE)
    expect(page.locator(".occ-customer .occ-text").last).to_have_text("Where is parcel 42?")
    httpx.post(messages_url, json={"text": "It ships today."}, headers=alice).raise_for_status()
    expect(page.locator(".occ-agent .occ-text").last).to_have_text("It ships today.")
    assert runtime.stop() == 0
