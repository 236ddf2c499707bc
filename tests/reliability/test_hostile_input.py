"""Hostile input on every public webhook and chat route: each gets a clear 4xx as
application/problem+json and stores nothing, or, where the input is legitimate text, it is
stored as text, exactly."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from devserver.banner import signed_twilio_form
from devserver.seed import CHAT_WIDGET_ID
from functions.api import create_api
from shared.bootstrap import Container
from shared.domain.identity import Role
from tests.channels.acs.wire import WEBHOOK_SECRET, acs_channel
from tests.support import PUBLIC_BASE_URL, TWILIO_TOKEN, assert_problem, bearer, drain

LIMIT = 64 * 1024
ADA = "+14155550101"
BUSINESS = "+12025550100"

# Every public route a provider or a widget calls, with a well-formed body's content type.
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
WEBHOOKS = [
    ("/api/sms/twilio", FORM),
    ("/api/sms/twilio/status", FORM),
    ("/api/sms/telesign", JSON),
    ("/api/sms/telesign/status", JSON),
    ("/api/sms/acs", JSON),
]
CHAT = [
    ("/api/chat/sessions", JSON),
    ("/api/chat/sessions/{id}/messages", JSON),
    ("/api/chat/sessions/{id}/end", JSON),
]


@pytest.fixture
def extra_settings() -> dict[str, str]:
    return {"MAX_REQUEST_BODY_BYTES": str(LIMIT)}


@pytest.fixture
async def session(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.post(
        "/api/chat/sessions", json={"widget_id": CHAT_WIDGET_ID, "pre_chat": {"name": "V"}}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def routes(
    session: dict[str, Any], *, reading_a_body: bool = False
) -> list[tuple[str, str, dict[str, str]]]:
    """(path, content type, headers): chat routes with the session's own token, so what is
    refused is the body, not the caller. Leaving a chat reads no body: it is left out when
    what is judged is the body's content."""
    chat_auth = {"Authorization": f"Bearer {session['token']}"}
    return [(path, ctype, {}) for path, ctype in WEBHOOKS] + [
        (path.format(id=session["conversation_id"]), ctype, chat_auth)
        for path, ctype in CHAT
        if not (reading_a_body and path.endswith("/end"))
    ]


def counts(services: Container) -> tuple[int, int, int]:
    """Conversations, messages and queue messages stored, read beside the app's connection."""
    with sqlite3.connect(services.settings.sqlite_path) as db:
        return tuple(
            db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608
            for table in ("conversations", "messages", "queue_messages")
        )


@pytest.fixture
async def nothing_stored(
    services: Container, session: dict[str, Any]
) -> AsyncIterator[tuple[int, int, int]]:
    before = counts(services)
    yield before
    assert counts(services) == before, "a refused request stored something"


async def test_an_oversized_body_is_refused_with_413_on_every_route(
    client: httpx.AsyncClient, session: dict[str, Any], nothing_stored: Any
) -> None:
    for path, ctype, headers in routes(session):
        declared = await client.post(
            path, content=b"a" * (LIMIT + 1), headers={"Content-Type": ctype, **headers}
        )
        assert_problem(declared, 413, str(LIMIT))

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(LIMIT // 1024 + 1):
                yield b"b" * 1024

        # No Content-Length: counted as it streams in.
        streamed = await client.post(
            path, content=chunks(), headers={"Content-Type": ctype, **headers}
        )
        assert "content-length" not in streamed.request.headers
        assert_problem(streamed, 413)


async def test_the_acs_handshake_body_is_bounded_too(client: httpx.AsyncClient) -> None:
    """The CloudEvents handshake is an OPTIONS whose body the webhook reads like a delivery's."""
    response = await client.request(
        "OPTIONS",
        "/api/sms/acs",
        content=b"a" * (LIMIT + 1),
        headers={"WebHook-Request-Origin": "eventgrid.azure.net"},
    )
    assert_problem(response, 413, str(LIMIT))


async def test_a_body_at_the_limit_is_read_and_judged_on_its_content(
    client: httpx.AsyncClient, session: dict[str, Any], nothing_stored: Any
) -> None:
    for path, ctype, headers in routes(session, reading_a_body=True):
        response = await client.post(
            path, content=b" " * LIMIT, headers={"Content-Type": ctype, **headers}
        )
        assert 400 <= response.status_code < 500 and response.status_code != 413, path
        assert response.headers["content-type"] == "application/problem+json", path


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("deeply nested arrays", b"[" * 20_000 + b"]" * 20_000),
        ("deeply nested objects", b'{"a":' * 10_000 + b"1" + b"}" * 10_000),
        ("invalid UTF-8", b'{"text": "\xff\xfe\xc3\x28"}'),
        ("a lone surrogate", b'{"text": "\\ud800"}'),
        ("NUL bytes", b"\x00" * 100),
        ("a huge number", b'{"text": ' + b"9" * 20_000 + b"}"),
        ("not JSON", b"<xml>hi</xml>"),
        ("empty", b""),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
async def test_malformed_bodies_get_a_clear_4xx(
    client: httpx.AsyncClient,
    session: dict[str, Any],
    nothing_stored: Any,
    name: str,
    body: bytes,
) -> None:
    for path, ctype, headers in routes(session, reading_a_body=True):
        response = await client.post(path, content=body, headers={"Content-Type": ctype, **headers})
        assert 400 <= response.status_code < 500, (name, path, response.status_code)
        assert response.headers["content-type"] == "application/problem+json", (name, path)


async def test_wrong_content_types_get_a_clear_4xx(
    client: httpx.AsyncClient, session: dict[str, Any], nothing_stored: Any
) -> None:
    form = urlencode({"MessageSid": "SM1", "From": ADA, "To": BUSINESS, "Body": "hi"}).encode()
    for path, ctype, headers in routes(session, reading_a_body=True):
        wrong = {FORM: (JSON, b'{"From": "+14155550101"}'), JSON: (FORM, form)}[ctype]
        for content_type, body in (wrong, ("text/plain", body_of(wrong)), ("", body_of(wrong))):
            response = await client.post(
                path, content=body, headers={"Content-Type": content_type, **headers}
            )
            assert 400 <= response.status_code < 500, (path, content_type, response.status_code)
            assert response.headers["content-type"] == "application/problem+json", path


def body_of(pair: tuple[str, bytes]) -> bytes:
    return pair[1]


async def test_a_twilio_form_with_a_huge_number_of_fields_is_refused(
    client: httpx.AsyncClient, services: Container, nothing_stored: Any
) -> None:
    url = f"{PUBLIC_BASE_URL}/api/sms/twilio"
    body, signature = signed_twilio_form(TWILIO_TOKEN, url, sender=ADA, to=BUSINESS, text="hi")
    flood = body + "&" + "&".join(f"f{n}=" for n in range(6_000))
    response = await client.post(
        "/api/sms/twilio",
        content=flood,
        headers={"Content-Type": FORM, "X-Twilio-Signature": signature},
    )
    assert_problem(response, 400)


async def test_the_host_header_does_not_move_the_url_a_signature_covers(
    client: httpx.AsyncClient, services: Container, nothing_stored: Any
) -> None:
    """Providers sign the public URL: a request that names another host, or signs the URL it
    claims through Host or X-Forwarded-Host, is judged against PUBLIC_BASE_URL all the same."""
    evil = "https://evil.example"
    body, signature = signed_twilio_form(
        TWILIO_TOKEN, f"{evil}/api/sms/twilio", sender=ADA, to=BUSINESS, text="hi"
    )
    response = await client.post(
        "/api/sms/twilio",
        content=body,
        headers={
            "Content-Type": FORM,
            "X-Twilio-Signature": signature,
            "Host": "evil.example",
            "X-Forwarded-Host": "evil.example",
            "X-Forwarded-Proto": "https",
        },
    )
    assert_problem(response, 403)


async def test_control_characters_in_an_echoed_header_are_refused(
    services: Container, session: dict[str, Any], nothing_stored: Any
) -> None:
    """At the ASGI level (a proxy could forward what an HTTP parser would not): the ACS
    handshake echoes WebHook-Request-Origin, so CR/LF there must never reach a response."""
    await services.store.put_channel(acs_channel())
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "OPTIONS",
        "scheme": "http",
        "path": "/api/sms/acs",
        "raw_path": b"/api/sms/acs",
        "query_string": f"code={WEBHOOK_SECRET}".encode(),
        "root_path": "",
        "headers": [
            (b"host", b"omni.example.test"),
            (b"webhook-request-origin", b"eventgrid.azure.net\r\nSet-Cookie: pwned=1"),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    await create_api()(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 400, sent
    assert not any(b"\r" in v or b"\n" in v for _, v in start["headers"])


TRICKY = [
    "\u202egnp.exe",  # right-to-left override
    "zero\u200bwidth\u200djoin\ufeff",  # zero-width space, joiner, BOM
    "emoji \U0001f9d1\u200d\U0001f4bb \U0001f1fa\U0001f1e6 \u2764\ufe0f",
    "combining e\u0301\u0301\u0301 and \U0001d54f",
    "\u0645\u0631\u062d\u0628\u0627 mixed \u05e9\u05dc\u05d5\u05dd",
]


async def test_unicode_edge_cases_in_an_sms_are_stored_exactly_as_text(
    client: httpx.AsyncClient, services: Container
) -> None:
    url = f"{PUBLIC_BASE_URL}/api/sms/twilio"
    for n, text in enumerate([*TRICKY, "nul\x00inside"]):
        body, signature = signed_twilio_form(
            TWILIO_TOKEN, url, sender=ADA, to=BUSINESS, text=text, sid=f"SMtricky{n:04d}"
        )
        response = await client.post(
            "/api/sms/twilio",
            content=body,
            headers={"Content-Type": FORM, "X-Twilio-Signature": signature},
        )
        assert response.status_code == 200, response.text
    await drain(services)
    alice = bearer(services, "alice", Role.AGENT)
    (work,) = (await client.get("/api/agents/me/work", headers=alice)).json()
    messages = (
        await client.get(f"/api/conversations/{work['conversation']['id']}/messages", headers=alice)
    ).json()
    # Exactly as sent, in order; NUL (never legitimate text) is dropped, the rest kept.
    assert [m["text"] for m in messages] == [*TRICKY, "nulinside"]


async def test_unicode_edge_cases_in_chat_are_stored_as_text(
    client: httpx.AsyncClient, services: Container, session: dict[str, Any]
) -> None:
    auth = {"Authorization": f"Bearer {session['token']}"}
    path = f"/api/chat/sessions/{session['conversation_id']}/messages"
    for text in [*TRICKY, "nul\x00inside"]:
        response = await client.post(path, json={"text": text}, headers=auth)
        assert response.status_code == 201, response.text
    only_control = await client.post(path, json={"text": "\x00\x01\x1f"}, headers=auth)
    assert_problem(only_control, 400)
    read = (await client.get(path, headers=auth)).json()
    texts = [m["text"] for m in read["messages"] if m["sender"] == "customer"]
    assert texts == [*TRICKY, "nulinside"]
