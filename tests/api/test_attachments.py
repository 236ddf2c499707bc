"""Agents' files over HTTP on both stores: uploaded within the limits, sent with a reply on chat
and as MMS through Twilio, refused on channels that cannot carry them, and fetched by the
customer through a signed, expiring URL. Every refusal changes nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from devserver.seed import CHAT_WIDGET_ID
from shared.bootstrap import Container
from shared.domain.channels import AcsAccount, TeleSignAccount
from shared.domain.identity import Role
from tests.api.test_agent_flow import alices_conversation
from tests.cosmos_server import cosmos_app_settings
from tests.support import ManualClock, assert_problem, bearer, drain

LIMIT = 4096
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n" + b"0" * 200


@pytest.fixture(params=["sqlite", "cosmos"])
def extra_settings(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    limits = {"ATTACHMENT_MAX_BYTES": str(LIMIT)}
    if request.param == "sqlite":
        yield limits
        return
    database = "files-" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:20]
    with cosmos_app_settings(database) as cosmos:
        yield {**cosmos, **limits}


def alice(services: Container) -> dict[str, str]:
    return bearer(services, "alice", Role.AGENT)


def stored_files(services: Container) -> list[Path]:
    folder = services.settings.sqlite_path.parent / "attachments"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


async def chat_session(client: httpx.AsyncClient, services: Container) -> dict[str, Any]:
    started = await client.post(
        "/api/chat/sessions", json={"widget_id": CHAT_WIDGET_ID, "pre_chat": {"name": "Vi"}}
    )
    assert started.status_code == 201, started.text
    await drain(services)
    return dict(started.json())


async def upload(
    client: httpx.AsyncClient,
    services: Container,
    conversation_id: str,
    data: bytes,
    content_type: str,
    name: str = "file",
) -> httpx.Response:
    return await client.post(
        f"/api/conversations/{conversation_id}/attachments",
        params={"name": name},
        content=data,
        headers={**alice(services), "Content-Type": content_type},
    )


async def test_a_file_on_chat_reaches_the_widget_by_a_signed_url(
    client: httpx.AsyncClient, services: Container
) -> None:
    session = await chat_session(client, services)
    conversation_id = session["conversation_id"]
    uploaded = await client.post(
        f"/api/conversations/{conversation_id}/attachments",
        files={"file": ("map.png", PNG, "image/png")},
        headers=alice(services),
    )
    assert uploaded.status_code == 201, uploaded.text
    attachment = uploaded.json()
    assert (attachment["name"], attachment["content_type"], attachment["size"]) == (
        "map.png",
        "image/png",
        len(PNG),
    )
    reply = await client.post(
        f"/api/conversations/{conversation_id}/messages",
        json={"text": "Here is the map", "media": [{"attachment_id": attachment["id"]}]},
        headers=alice(services),
    )
    assert reply.status_code == 201, reply.text
    assert [m["name"] for m in reply.json()["media"]] == ["map.png"]
    await drain(services)

    update = await client.get(
        f"/api/chat/sessions/{conversation_id}/messages",
        headers={"Authorization": f"Bearer {session['token']}"},
    )
    (shown,) = [m for m in update.json()["messages"] if m["attachments"]]
    (link,) = shown["attachments"]
    assert (link["name"], link["content_type"], link["size"]) == ("map.png", "image/png", len(PNG))
    assert link["url"].startswith("https://omni.example.test/api/attachments/")
    fetched = await client.get(link["url"])
    assert fetched.status_code == 200
    assert fetched.content == PNG
    assert fetched.headers["content-type"] == "image/png"
    assert fetched.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in fetched.headers["content-security-policy"]


async def test_a_file_on_sms_goes_as_mms_through_twilio(
    client: httpx.AsyncClient, services: Container
) -> None:
    conversation_id = await alices_conversation(client, services)
    uploaded = await upload(client, services, conversation_id, PDF, "application/pdf", "bill.pdf")
    assert uploaded.status_code == 201, uploaded.text
    reply = await client.post(
        f"/api/conversations/{conversation_id}/messages",
        json={"text": "Your bill", "media": [{"attachment_id": uploaded.json()["id"]}]},
        headers=alice(services),
    )
    assert reply.status_code == 201, reply.text
    await drain(services)
    listed = await client.get(
        f"/api/conversations/{conversation_id}/messages", headers=alice(services)
    )
    (shown,) = [m["media"] for m in listed.json() if m["media"]]
    assert (await client.get(shown[0]["url"])).content == PDF  # the agent sees it too
    (sent,) = await services.store.list_sent_sms(limit=5)
    assert sent.text == "Your bill"
    (url,) = sent.media_urls
    fetched = await client.get(url)
    assert fetched.status_code == 200
    assert fetched.content == PDF
    assert "bill.pdf" in fetched.headers["content-disposition"]


@pytest.mark.parametrize(
    "account",
    [
        AcsAccount(endpoint="https://x.communication.azure.com", webhook_secret="s" * 16),
        TeleSignAccount(customer_id="00000000-0000-0000-0000-000000000000", api_key="a2V5"),
    ],
    ids=["acs", "telesign"],
)
async def test_a_file_on_a_text_only_sms_provider_is_refused_before_anything_is_kept(
    client: httpx.AsyncClient, services: Container, account: AcsAccount | TeleSignAccount
) -> None:
    conversation_id = await alices_conversation(client, services)
    uploaded = await upload(client, services, conversation_id, PDF, "application/pdf")
    assert uploaded.status_code == 201, uploaded.text
    files = stored_files(services)
    channel = await services.store.get_channel("sms-main")
    assert channel is not None
    await services.store.put_channel(channel.model_copy(update={"account": account}))
    before = await services.store.list_messages(conversation_id, include_internal=True)

    refused_upload = await upload(client, services, conversation_id, PDF, "application/pdf")
    assert_problem(refused_upload, 422, "sends text only")
    refused_reply = await client.post(
        f"/api/conversations/{conversation_id}/messages",
        json={"text": "Your bill", "media": [{"attachment_id": uploaded.json()["id"]}]},
        headers=alice(services),
    )
    assert_problem(refused_reply, 422, "sends text only")
    assert await drain(services) == 0
    assert await services.store.list_sent_sms(limit=5) == []
    assert await services.store.list_messages(conversation_id, include_internal=True) == before
    assert stored_files(services) == files


async def test_bad_uploads_and_replies_are_refused_changing_nothing(
    client: httpx.AsyncClient, services: Container
) -> None:
    conversation_id = await alices_conversation(client, services)
    before = await services.store.list_messages(conversation_id, include_internal=True)
    too_large = await upload(client, services, conversation_id, b"x" * (LIMIT + 1), "text/plain")
    assert_problem(too_large, 413, f"the limit is {LIMIT}")
    multipart_too_large = await client.post(
        f"/api/conversations/{conversation_id}/attachments",
        files={"file": ("big.txt", b"x" * (LIMIT + 1), "text/plain")},
        headers=alice(services),
    )
    assert_problem(multipart_too_large, 413)
    assert_problem(await upload(client, services, conversation_id, b"<p>", "text/html"), 415)
    assert_problem(await upload(client, services, "no-such", PDF, "application/pdf"), 404)
    bob = bearer(services, "bob", Role.AGENT)
    not_his = await client.post(
        f"/api/conversations/{conversation_id}/attachments",
        content=PDF,
        headers={**bob, "Content-Type": "application/pdf"},
    )
    assert_problem(not_his, 404)
    assert stored_files(services) == []
    for media in ([{"attachment_id": "0" * 32}], [{"attachment_id": "../../etc"}]):
        refused = await client.post(
            f"/api/conversations/{conversation_id}/messages",
            json={"text": "Here", "media": media},
            headers=alice(services),
        )
        assert_problem(refused, 422, "was not uploaded to this conversation")
    old_shape = await client.post(
        f"/api/conversations/{conversation_id}/messages",
        json={"text": "Here", "media": [{"url": "https://files.example.test/a.pdf"}]},
        headers=alice(services),
    )
    assert_problem(old_shape, 400)
    assert await drain(services) == 0
    assert await services.store.list_messages(conversation_id, include_internal=True) == before
    assert await services.store.list_sent_sms(limit=5) == []


async def test_a_forged_or_expired_download_link_is_refused(
    client: httpx.AsyncClient, clocked: Container, clock: ManualClock
) -> None:
    services = clocked
    conversation_id = await alices_conversation(client, services)
    uploaded = await upload(client, services, conversation_id, PDF, "application/pdf")
    assert uploaded.status_code == 201, uploaded.text
    url = uploaded.json()["url"]
    assert (await client.get(url)).content == PDF
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}

    def with_query(**changes: str) -> str:
        return f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode({**query, **changes})}"

    later = str(int(query["expires"]) + 3600)
    other = parts.path.replace(uploaded.json()["id"], "f" * 32)
    for forged in (
        with_query(signature="0" * 64),
        with_query(expires=later),
        f"{parts.scheme}://{parts.netloc}{other}?{parts.query}",
        f"{parts.scheme}://{parts.netloc}{parts.path}",
    ):
        assert_problem(await client.get(forged), 403, "invalid or has expired")
    # A genuine link to a file no longer kept: 404.
    for stored in stored_files(services):
        stored.unlink()
    assert_problem(await client.get(url), 404, "no longer kept")
    clock.advance(timedelta(seconds=services.settings.attachment_url_lifetime_seconds))
    assert_problem(await client.get(url), 403, "invalid or has expired")
