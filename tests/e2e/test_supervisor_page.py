"""The supervisor page in a real browser (headless Chromium driven by Playwright) against the
local runtime: the demo admin (supervisor and admin roles) sees live conversations, agents and
today's queues with their charts, and monitors Alice's conversation, her internal note included,
with the customer's hostile text shown as text."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.runtime import Runtime, eventually, send_sms

pytestmark = pytest.mark.e2e

WAIT_MS = 10_000
HOSTILE = 'Where is my order? <img src=x onerror="alert(1)">'


def test_a_supervisor_watches_the_floor_and_monitors_a_conversation(
    runtime: Runtime, browser: Browser, screenshot: Callable[[str], Path]
) -> None:
    runtime.start()
    alice = runtime.auth("alice")
    httpx.post(f"{runtime.base}/api/agents/me/sign-in", headers=alice).raise_for_status()
    assert send_sms(runtime, HOSTILE).status_code == 200

    def alices_work() -> list[dict[str, object]]:
        work = httpx.get(f"{runtime.base}/api/agents/me/work", headers=alice).json()
        return [w for w in work if w["item"]["status"] == "active"]

    (work,) = eventually(alices_work, "the conversation assigned to alice")
    conversation_id = work["conversation"]["id"]
    httpx.post(
        f"{runtime.base}/api/conversations/{conversation_id}/messages",
        json={"text": "Customer is upset <b>twice</b>", "internal": True},
        headers=alice,
    ).raise_for_status()

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(WAIT_MS)
    page.goto(f"{runtime.base}/supervisor/")
    page.fill("#token", runtime.token("admin"))
    page.click("#sign-in button[type=submit]")
    page.wait_for_selector("#board:not([hidden])")

    conversation = page.locator(f'#conversations tr[data-conversation="{conversation_id}"]')
    expect(conversation).to_contain_text("alice")
    expect(conversation).to_contain_text("active")
    expect(page.locator("#agents tr[data-agent=alice]")).to_contain_text("1 / ")
    expect(page.locator("#queues tbody tr")).to_have_count(2)
    expect(page.locator("#queues tbody tr").first.locator("td")).to_have_count(13)
    expect(page.locator("#queues thead")).to_contain_text("CSAT")
    expect(page.locator("#agent-figures thead")).to_contain_text("Do not disturb")
    expect(page.locator("#staffing-chart rect")).not_to_have_count(0)
    expect(page.locator("#history-chart rect")).to_have_count(7)

    conversation.locator("button[name=monitor]").click()
    transcript = page.locator("#transcript")
    expect(transcript.locator("li.customer .text")).to_have_text(HOSTILE)
    expect(transcript.locator("li.note .text")).to_have_text("Customer is upset <b>twice</b>")
    assert page.locator("#transcript img, #transcript b").count() == 0
    expect(page.locator("#monitor-state")).to_have_text("active · alice")

    page.screenshot(path=str(screenshot("supervisor-page.png")), full_page=True)

    # The transcript saved as a file, the note marked as one, the customer's text as text.
    with page.expect_download() as downloading:
        page.click("#transcript-text")
    saved = Path(downloading.value.path()).read_text(encoding="utf-8")
    assert HOSTILE in saved
    assert "Customer is upset <b>twice</b>" in saved
    assert downloading.value.suggested_filename == f"transcript-{conversation_id}.txt"

    # The demo admin is no agent: taking over says why, and the work stays with Alice.
    page.click("#take-over")
    expect(page.locator("#error")).to_contain_text("Take over")
    assert alices_work()
    assert runtime.stop() == 0
