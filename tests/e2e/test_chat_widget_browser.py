"""The chat widget in a real browser (headless Chromium, Playwright) on the demo pages the app
serves: a visitor fills the pre-chat form and chats with alice, who answers through the agent
API; hostile text stays text; on a second page the same conversation continues."""

from __future__ import annotations

import struct
import zlib
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

    # Typing both ways, and the read mark the agent sees.
    conversation_url = f"{runtime.base}/api/conversations/{work['conversation']['id']}"
    httpx.post(f"{conversation_url}/typing", headers=alice).raise_for_status()
    expect(page.locator(".occ-typing")).to_have_text("Alice Agent is typing…")
    page.type(".occ-compose input[name=text]", "Thanks")

    def agent_view() -> dict[str, Any]:
        return dict(httpx.get(f"{conversation_url}/typing", headers=alice).json())

    eventually(lambda: agent_view()["customer_typing"], "the visitor's typing seen by alice")
    eventually(lambda: agent_view()["customer_last_read_at"], "the visitor's read mark")

    # A file from the agent: uploaded, sent with a reply, shown inline by its signed URL.
    uploaded = httpx.post(
        f"{conversation_url}/attachments",
        files={"file": ("dot.png", tiny_png(), "image/png")},
        headers=alice,
    )
    uploaded.raise_for_status()
    httpx.post(
        messages_url,
        json={"text": "The label", "media": [{"attachment_id": uploaded.json()["id"]}]},
        headers=alice,
    ).raise_for_status()
    expect(page.locator(".occ-typing")).to_be_hidden()  # the reply ended the agent's typing
    image = page.locator(".occ-agent .occ-image")
    expect(image).to_have_attribute("alt", "dot.png")
    page.wait_for_function(
        "() => { const i = document.querySelector('.occ-image'); "
        "return i && i.complete && i.naturalWidth === 1; }"
    )
    href = page.locator(".occ-agent a.occ-attachment").get_attribute("href")
    assert href is not None and href.startswith(f"{runtime.base}/api/attachments/")
    assert runtime.stop() == 0


def tiny_png() -> bytes:
    """A valid 1x1 PNG, so the browser really decodes what the signed URL serves."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_after_the_chat_the_visitor_rates_it_and_gets_the_transcript_by_email(
    runtime: Runtime, browser: Browser, screenshot: Callable[[str], Path]
) -> None:
    """The agent ends the chat: the widget offers the workstream's survey and the transcript by
    email; both go through, and the emailed transcript has no internal note."""
    runtime.start()
    admin = runtime.auth("admin")
    workstream_url = f"{runtime.base}/api/admin/workstreams/ws-chat"
    workstream = httpx.get(workstream_url, headers=admin).json()
    workstream["csat"] = {"enabled": True, "question": "How did we do today?"}
    httpx.put(workstream_url, json=workstream, headers=admin).raise_for_status()

    page = browser.new_page(viewport={"width": 1000, "height": 720})
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{runtime.base}/demo/")
    page.click(".occ-button")
    page.fill(".occ-form input[name=name]", "Ada Lovelace")
    page.fill(".occ-form input[name=phone]", "+14155550101")
    page.click(".occ-form button[type=submit]")

    def chat_work() -> list[dict[str, Any]]:
        return [w for w in work_of(runtime, "alice") if w["conversation"]["channel"] == "chat"]

    (work,) = eventually(chat_work, "the chat offered to alice")
    conversation_url = f"{runtime.base}/api/conversations/{work['conversation']['id']}"
    alice = runtime.auth("alice")
    httpx.post(
        f"{conversation_url}/messages", json={"text": "It ships today."}, headers=alice
    ).raise_for_status()
    httpx.post(
        f"{conversation_url}/messages",
        json={"text": "VIP customer", "internal": True},
        headers=alice,
    ).raise_for_status()
    expect(page.locator(".occ-agent .occ-text").last).to_have_text("It ships today.")
    httpx.post(f"{conversation_url}/end", headers=alice).raise_for_status()

    expect(page.locator(".occ-status")).to_have_text("The chat has ended")
    expect(page.locator(".occ-survey .occ-question")).to_have_text("How did we do today?")
    page.click(".occ-scores button:text-is('4')")
    page.fill(".occ-survey textarea[name=comment]", "Quick <b>and</b> kind")
    page.fill(".occ-email input[name=email]", "ada@example.com")
    page.screenshot(path=str(screenshot("chat-widget-after.png")))
    page.click(".occ-survey button[type=submit]")
    expect(page.locator(".occ-thanks")).to_have_text("Thank you for your feedback!")
    page.click(".occ-email button[type=submit]")
    expect(page.locator(".occ-sent")).to_have_text("Transcript sent to ada@example.com")

    history = httpx.get(
        f"{runtime.base}/api/supervisor/conversations/{work['conversation']['id']}",
        headers=runtime.auth("admin"),
    ).json()
    assert history["conversation"]["csat"]["score"] == 4
    assert history["conversation"]["csat"]["comment"] == "Quick <b>and</b> kind"
    (email,) = httpx.get(f"{runtime.base}/api/sandbox/email", headers=admin).json()
    assert email["to"] == "ada@example.com"
    assert "It ships today." in email["text"] and "VIP customer" not in email["text"]
    assert "VIP customer" not in email["html"]
    assert runtime.stop() == 0
