"""The agent console in a real browser: headless Chromium from Debian's packages, driven by
Playwright for Python, against the local runtime. Alice accepts an offered SMS conversation
and replies; Bob is consulted and writes an internal note that Alice sees marked as one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Dialog, FilePayload, Page, expect

from devserver.seed import CHAT_WIDGET_ID
from tests.e2e.runtime import Runtime, eventually, send_sms, work_of

pytestmark = pytest.mark.e2e

WAIT_MS = 10_000


def sign_in(browser: Browser, runtime: Runtime, agent: str) -> Page:
    page = browser.new_page(viewport={"width": 1200, "height": 720})
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{runtime.base}/agent/")
    page.fill("#token", runtime.token(agent))
    page.click("#sign-in button[type=submit]")
    page.wait_for_selector("#console:not([hidden])")
    return page


def offer_work_on(runtime: Runtime, workstream_id: str, **settings: Any) -> None:
    """Offers, so that the agent accepts the conversation itself; and any other settings."""
    admin = runtime.auth("admin")
    url = f"{runtime.base}/api/admin/workstreams/{workstream_id}"
    workstream = httpx.get(url, headers=admin).json()
    workstream.update(offer_timeout_seconds=300, **settings)
    httpx.put(url, json=workstream, headers=admin).raise_for_status()


DISPOSITIONS = [
    {"code": "resolved", "label": "Resolved"},
    {"code": "callback", "label": "Call back"},
]


def an_earlier_conversation(runtime: Runtime) -> str:
    """Ada's conversation of last time, handled by Alice through the API: wrapped up as
    resolved, closed, and rated 5 by SMS. Its id."""
    alice = runtime.auth("alice")
    assert send_sms(runtime, "Where is my parcel?", sid="SM-earlier").status_code == 200
    (offered,) = eventually(lambda: work_of(runtime, "alice"), "the first offer")
    conversation = f"{runtime.base}/api/conversations/{offered['conversation']['id']}"
    for action, body in (
        ("accept", None),
        ("messages", {"text": "It left the depot today."}),
        ("wrap-up", {"disposition_code": "resolved", "summary": "parcel on its way"}),
        ("end", None),
        ("close", None),
    ):
        httpx.post(f"{conversation}/{action}", json=body, headers=alice).raise_for_status()

    def asked() -> bool:
        sent = httpx.get(f"{runtime.base}/api/sandbox/sms", headers=runtime.auth("admin"))
        return any("1 (poor) to 5" in s["text"] for s in sent.json())

    eventually(asked, "the survey question")
    assert send_sms(runtime, "5", sid="SM-survey").status_code == 200
    return str(offered["conversation"]["id"])


def test_an_agent_accepts_replies_and_consults_a_colleague(
    runtime: Runtime, browser: Browser
) -> None:
    runtime.start()
    admin = runtime.auth("admin")
    offer_work_on(runtime, "ws-sms")

    alice = sign_in(browser, runtime, "alice")
    bob = sign_in(browser, runtime, "bob")
    assert send_sms(runtime, "Hello, my parcel <b>never</b> came").status_code == 200

    offer = alice.locator("#work-list li")
    expect(offer.locator(".status")).to_have_text("offered")
    offer.locator("button[name=accept]").click()
    expect(offer.locator(".status")).to_have_text("active")
    # The customer's text is shown as text, never parsed as markup.
    expect(alice.locator("#messages li.customer .text")).to_have_text(
        "Hello, my parcel <b>never</b> came"
    )
    alice.fill("#reply-text", "Sorry to hear that, let me check.")
    alice.click("#send")
    expect(alice.locator("#messages li.agent .text")).to_have_text(
        "Sorry to hear that, let me check."
    )

    # Bob, signed in and free, is a consult candidate of the conversation's queue.
    expect(alice.locator("#consult-candidates option[value=bob]")).to_have_count(1)
    alice.select_option("#consult-candidates", "bob")
    alice.click("#consult")
    consult = bob.locator("#work-list li")
    expect(consult.locator(".status")).to_have_text("consulting")
    consult.click()
    expect(bob.locator("#reply-internal")).to_be_checked()
    expect(bob.locator("#primary-actions")).to_be_hidden()
    bob.fill("#reply-text", "Parcels from that depot are late this week.")
    bob.click("#send")
    note = alice.locator("#messages li.note")
    expect(note.locator(".text")).to_have_text("Parcels from that depot are late this week.")
    expect(note.locator(".label")).to_contain_text("Internal note")

    # The reply went to the customer; the note never did (invariant 5).
    def outbox() -> list[str]:
        sent = httpx.get(f"{runtime.base}/api/sandbox/sms", headers=admin).json()
        return [s["text"] for s in sent]

    assert eventually(outbox, "the reply in the outbox") == ["Sorry to hear that, let me check."]
    assert runtime.stop() == 0


def test_the_desk_through_a_whole_conversation(
    runtime: Runtime, browser: Browser, screenshot: Callable[[str], Path]
) -> None:
    """Offer (countdown, tone, title), accept by keyboard, the customer's card and earlier
    conversations (with their outcome, satisfaction and transcript), a quick reply, a file
    sent with a reply (Ctrl+Enter), the transcript downloaded, a transfer by picking a
    colleague's name, wrap-up with a disposition and close."""
    runtime.start()
    offer_work_on(
        runtime,
        "ws-sms",
        disposition_codes=DISPOSITIONS,
        csat={"enabled": True},
        reopen_window_seconds=0,  # today's message opens a conversation of its own
    )
    alice = sign_in(browser, runtime, "alice")
    bob = sign_in(browser, runtime, "bob")
    earlier = an_earlier_conversation(runtime)

    assert send_sms(runtime, "Hi, I was charged twice").status_code == 200
    offer = alice.locator("#work-list li")
    expect(offer.locator(".status")).to_have_text("offered")
    # The offer names the customer, counts down, rings once and shows in the tab's title.
    expect(offer.locator(".name")).to_have_text("Ada Lovelace")
    expect(offer.locator(".countdown")).to_contain_text("to accept")
    expect(alice).to_have_title("(1) New offer · Agent console")
    expect(alice.locator("body")).to_have_attribute("data-offer-alerts", "1")

    # The shortcuts are one keystroke away.
    alice.keyboard.press("?")
    expect(alice.locator("#help")).to_be_visible()
    expect(alice.locator("#shortcuts")).to_contain_text("Accept the oldest offer")
    alice.keyboard.press("Escape")
    expect(alice.locator("#help")).to_be_hidden()

    alice.keyboard.press("Alt+a")
    expect(offer.locator(".status")).to_have_text("active")
    expect(alice).to_have_title("Agent console")
    card = alice.locator("#customer-panel")
    expect(card.locator("#customer-name")).to_have_text("Ada Lovelace")
    expect(card.locator("#customer-identifiers")).to_contain_text("+14155550101")
    expect(card.locator("#customer-identifiers")).to_contain_text("identified")

    # Last time, a click away: how it ended, how Ada rated it, and what was said.
    past = card.locator(f"#timeline li[data-conversation='{earlier}']")
    expect(past).to_contain_text("General support")
    expect(past).to_contain_text("Resolved: parcel on its way")
    expect(past.locator(".csat")).to_have_text("CSAT 5/5")
    past.locator("button[name=transcript]").click()
    expect(past.locator("li.agent .text")).to_have_text("It left the depot today.")

    alice.keyboard.press("Alt+r")
    expect(alice.locator("#reply-text")).to_be_focused()
    # A quick reply: "/" and a few letters, Enter inserts it filled for Ada, Ctrl+Enter sends.
    alice.keyboard.type("/greet")
    expect(alice.locator("#quick-replies li .title")).to_have_text(["Greeting"])
    alice.keyboard.press("Enter")
    greeting = "Hello Ada, this is Alice Agent. How can I help?"
    expect(alice.locator("#reply-text")).to_have_value(greeting)
    alice.keyboard.press("Control+Enter")
    expect(alice.locator("#messages li.agent .text")).to_have_text([greeting])
    # A file with the next reply: picked, uploaded, sent as the reply's media (MMS).
    invoice: FilePayload = {
        "name": "invoice.pdf",
        "mimeType": "application/pdf",
        "buffer": b"%PDF-1.4 x",
    }
    alice.set_input_files("#attach-file", files=[invoice])
    expect(alice.locator("#attached li")).to_contain_text("invoice.pdf")
    alice.focus("#reply-text")
    alice.keyboard.type("Let me look at your invoice.")
    alice.keyboard.press("Control+Enter")
    expect(alice.locator("#messages li.agent .text")).to_have_text(
        [greeting, "Let me look at your invoice."]
    )
    expect(alice.locator("#messages li.agent").last.locator(".media")).to_have_text("invoice.pdf")
    expect(alice.locator("#attached li")).to_have_count(0)

    def mms() -> list[Any]:
        sent = httpx.get(f"{runtime.base}/api/sandbox/sms", headers=runtime.auth("admin"))
        return [s for s in sent.json() if s["media_urls"]]

    (with_file,) = eventually(mms, "the reply sent as MMS")
    assert with_file["text"] == "Let me look at your invoice."

    alice.screenshot(path=str(screenshot("agent-console.png")), full_page=True)

    with alice.expect_download() as downloading:
        alice.click("#transcript-text")
    transcript = Path(downloading.value.path()).read_text(encoding="utf-8")
    assert "Hi, I was charged twice" in transcript
    assert "Let me look at your invoice." in transcript

    # Transfer by picking a colleague's name, never typing an id.
    expect(alice.locator("#transfer-target option", has_text="Bob Agent")).to_have_count(1)
    alice.select_option("#transfer-target", label="Bob Agent")
    alice.click("#transfer")
    expect(alice.locator("#work-list li")).to_have_count(0)
    moved = bob.locator("#work-list li")
    moved_id = moved.get_attribute("data-conversation")
    expect(moved.locator(".status")).to_have_text("active")
    moved.click()
    expect(bob.locator("#messages li.agent .text").last).to_have_text(
        "Let me look at your invoice."
    )

    # Wrap-up: End (Alt+E), then close.
    bob.keyboard.press("Alt+e")
    expect(moved.locator(".status")).to_have_text("wrap-up")
    expect(bob.locator("#wrap-up")).to_be_visible()
    expect(bob.locator("#reply")).to_be_hidden()
    bob.select_option("#disposition", label="Call back")
    bob.fill("#summary", "refund the double charge, call Friday")
    bob.click("#close")
    expect(bob.locator("#work-list li")).to_have_count(0)
    closed = httpx.get(
        f"{runtime.base}/api/supervisor/conversations/{moved_id}", headers=runtime.auth("admin")
    ).json()
    assert closed["conversation"]["wrap_up"]["disposition_code"] == "callback"
    assert closed["conversation"]["wrap_up"]["summary"] == "refund the double charge, call Friday"
    assert runtime.stop() == 0


def test_the_card_shows_what_a_chat_visitor_typed_as_text(
    runtime: Runtime, browser: Browser
) -> None:
    """Pre-chat answers and context variables reach the card word for word, never as markup:
    a visitor's `<img onerror>` is text on the page, and no script of theirs runs. Then typing
    both ways, and the time the visitor last read the conversation."""
    runtime.start()
    alice = sign_in(browser, runtime, "alice")
    dialogs: list[str] = []

    def refuse(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    alice.on("dialog", refuse)
    hostile = "<img src=x onerror=alert(1)>"
    started = httpx.post(
        f"{runtime.base}/api/chat/sessions",
        json={
            "widget_id": CHAT_WIDGET_ID,
            "pre_chat": {"name": hostile, "topic": "<script>alert(2)</script> refund"},
            "context": {"page": "/checkout?<b>x</b>", "cart_total": 42},
        },
    )
    assert started.status_code == 201, started.text
    session = started.json()
    sent = httpx.post(
        f"{runtime.base}/api/chat/sessions/{session['conversation_id']}/messages",
        json={"text": "hello?"},
        headers={"Authorization": f"Bearer {session['token']}"},
    )
    assert sent.status_code == 201, sent.text

    work = alice.locator("#work-list li")
    expect(work.locator(".name")).to_have_text(hostile)
    work.click()
    panel = alice.locator("#customer-panel")
    expect(panel.locator("#customer-name")).to_have_text(hostile)
    expect(panel.locator("#customer-identifiers")).to_contain_text("unidentified")
    expect(panel.locator("#pre-chat")).to_contain_text("<script>alert(2)</script> refund")
    expect(panel.locator("#context")).to_contain_text("/checkout?<b>x</b>")
    expect(panel.locator("#context")).to_contain_text("42")
    expect(alice.locator("img")).to_have_count(0)
    expect(alice.locator("#customer-panel b, #customer-panel script")).to_have_count(0)
    assert dialogs == []

    # Typing both ways, and when the visitor last read the conversation.
    visitor = {"Authorization": f"Bearer {session['token']}"}
    chat = f"{runtime.base}/api/chat/sessions/{session['conversation_id']}"
    expect(alice.locator("#customer-typing")).to_be_hidden()
    httpx.post(f"{chat}/typing", headers=visitor).raise_for_status()
    expect(alice.locator("#customer-typing")).to_be_visible()
    httpx.post(f"{chat}/read", headers=visitor).raise_for_status()
    expect(alice.locator("#read-state")).to_contain_text("Read ")
    alice.fill("#reply-text", "")
    alice.type("#reply-text", "One moment")

    def agent_typing() -> bool:
        update = httpx.get(f"{chat}/messages", headers=visitor).json()
        return bool(update["agent_typing"])

    assert eventually(agent_typing, "the visitor to see the agent typing")
    assert runtime.stop() == 0
