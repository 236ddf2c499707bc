"""Every admin resource round-trips: a PUT of exactly what GET answered changes nothing, every
field GET shows can be written (PUT answers and GET then shows what was sent), secrets never
show and survive a PUT without them, and a PUT the API refuses changes nothing. Bodies are
generated from each PUT's own schema in the OpenAPI document (schemathesis), with the ids they
refer to drawn from what exists, on each store.

The resources are found in the document: a PUT under /api/admin missing from RESOURCES fails,
so whoever adds one decides here how its record is read back from the store."""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from functions.api import create_api
from shared.bootstrap import Container
from shared.domain.campaigns import Template
from shared.domain.identity import Role
from shared.domain.presence import PresenceSettings
from shared.domain.routing_config import Agent, Queue, RoutingRule, Workstream
from shared.domain.sentiment import SentimentSettings
from shared.services.campaigns import TemplateInput
from shared.services.channels import SECRET_FIELDS, ChannelInput
from shared.services.quick_replies import QuickReplyInput
from tests.cosmos_server import cosmos_app_settings
from tests.reliability.soak import examples
from tests.support import assert_problem, bearer

Json = Any
EXAMPLES = examples(8)

# Keys a GET never shows (write-only secrets), and keys it shows that a PUT ignores.
WRITE_ONLY = frozenset({*SECRET_FIELDS, "secret"})
READ_ONLY = frozenset({"provider", "secrets_set"})


@dataclass(frozen=True)
class AdminResource:
    """An admin resource at /api/admin/{path}: the model its PUT body is, and how the record
    is read from the store, secrets and all (the sentiment switch: as it applies, the
    deployment's default until an admin chooses)."""

    path: str
    body: type[BaseModel]
    stored: Callable[[Container, str], Awaitable[BaseModel | None]]

    @property
    def singleton(self) -> bool:
        return "{" not in self.path

    def url(self, record_id: str) -> str:
        return "/api/admin/" + re.sub(r"\{[^}]+\}", record_id, self.path)


RESOURCES = {
    "channels/{channel_id}": AdminResource(
        "channels/{channel_id}", ChannelInput, lambda services, i: services.store.get_channel(i)
    ),
    "templates/{template_id}": AdminResource(
        "templates/{template_id}", TemplateInput, lambda services, i: services.store.get_template(i)
    ),
    "workstreams/{workstream_id}": AdminResource(
        "workstreams/{workstream_id}",
        Workstream,
        lambda services, i: services.store.get_workstream(i),
    ),
    "queues/{queue_id}": AdminResource(
        "queues/{queue_id}", Queue, lambda services, i: services.store.get_queue(i)
    ),
    "rules/{rule_id}": AdminResource(
        "rules/{rule_id}", RoutingRule, lambda services, i: services.store.get_rule(i)
    ),
    "agents/{agent_id}": AdminResource(
        "agents/{agent_id}", Agent, lambda services, i: services.store.get_agent(i)
    ),
    "quick-replies/{quick_reply_id}": AdminResource(
        "quick-replies/{quick_reply_id}",
        QuickReplyInput,
        lambda services, i: services.store.get_quick_reply(i),
    ),
    "presences": AdminResource(
        "presences", PresenceSettings, lambda services, _: services.store.get_presence_settings()
    ),
    "sentiment": AdminResource(
        "sentiment", SentimentSettings, lambda services, _: services.sentiment.settings()
    ),
}
WITH_IDS = [name for name, resource in RESOURCES.items() if not resource.singleton]


def _document() -> dict[str, Any]:
    importlib.import_module("function_app")  # the composition root, as Azure loads it
    return create_api().openapi()


DOCUMENT = _document()
ADMIN_PUTS = sorted(
    path.removeprefix("/api/admin/")
    for path, operations in DOCUMENT["paths"].items()
    if path.startswith("/api/admin/") and "put" in operations
)


@pytest.fixture(params=["sqlite", "cosmos"])
def extra_settings(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    if request.param == "sqlite":
        yield {}
        return
    database = "round-trip-" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:20]
    with cosmos_app_settings(database) as cosmos:
        yield cosmos


def admin(services: Container) -> dict[str, str]:
    return bearer(services, "root", Role.ADMIN)


@pytest.fixture(autouse=True)
async def templates(services: Container) -> None:
    """The demo has no template: two, beside its other records."""
    for template in (
        Template(id="welcome", name="Welcome", body="Hi {first_name}!"),
        Template(id="notice", name="Notice", body="Order {order} left", parameters=("order",)),
    ):
        await services.store.put_template(template)


def test_the_table_names_every_admin_resource_a_put_writes() -> None:
    assert sorted(RESOURCES) == ADMIN_PUTS


# --- what GET shows, PUT takes back ------------------------------------------------------------


def _schema(reference: Json) -> Json:
    """A schema with its $ref followed, and nullable (anyOf with null) unwrapped."""
    while True:
        if "$ref" in reference:
            reference = DOCUMENT["components"]["schemas"][reference["$ref"].rsplit("/", 1)[1]]
            continue
        options = [o for o in reference.get("anyOf", ()) if o.get("type") != "null"]
        if len(options) == 1:
            reference = options[0]
            continue
        return reference


def _unwritable(shown: Json, taken: Json, where: str) -> list[str]:
    """The places in a shown schema whose field the taken schema has no room for."""
    shown, taken = _schema(shown), _schema(taken)
    missing = []
    for name, field in shown.get("properties", {}).items():
        if _schema(field).get("readOnly"):
            continue
        if name not in taken.get("properties", {}):
            missing.append(f"{where}.{name}")
        else:
            missing += _unwritable(field, taken["properties"][name], f"{where}.{name}")
    if "items" in shown and "items" in taken:
        missing += _unwritable(shown["items"], taken["items"], f"{where}[]")
    return missing


@pytest.mark.parametrize("name", sorted(RESOURCES))
def test_every_field_get_shows_has_a_place_in_the_put_body(name: str) -> None:
    operations = DOCUMENT["paths"][f"/api/admin/{name}"]
    shown = operations["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    taken = operations["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert _unwritable(shown, taken, name) == []


async def _records(
    client: httpx.AsyncClient, services: Container, resource: AdminResource
) -> list[Json]:
    if resource.singleton:
        read = await client.get(resource.url(""), headers=admin(services))
        assert read.status_code == 200, read.text
        return [read.json()]
    collection = resource.url("").rsplit("/", 1)[0]
    listed = await client.get(collection, headers=admin(services))
    assert listed.status_code == 200, listed.text
    return list(listed.json()["items"])


@pytest.mark.parametrize("name", sorted(RESOURCES))
async def test_a_put_of_what_get_answered_changes_nothing(
    client: httpx.AsyncClient, services: Container, name: str
) -> None:
    resource = RESOURCES[name]
    records = await _records(client, services, resource)
    assert records, f"the demo seeds some {name}"
    for shown in records:
        record_id = shown.get("id", "")
        url = resource.url(record_id)
        before = await resource.stored(services, record_id)
        written = await client.put(url, json=shown, headers=admin(services))
        assert written.status_code == 200, written.text
        assert written.json() == shown
        assert (await client.get(url, headers=admin(services))).json() == shown
        assert await resource.stored(services, record_id) == before


async def test_resaving_the_chat_channel_keeps_its_widget_and_an_admin_can_change_it(
    client: httpx.AsyncClient, services: Container
) -> None:
    """Failure 5 of issue 15: a PUT of GET's chat channel wiped its pre-chat form and
    greeting, and a body carrying `chat` was refused."""
    url = "/api/admin/channels/chat-web"
    shown = (await client.get(url, headers=admin(services))).json()
    assert [q["key"] for q in shown["chat"]["pre_chat"]] == ["name", "phone", "topic"]
    assert shown["chat"]["greeting"]
    assert (await client.put(url, json=shown, headers=admin(services))).json() == shown

    widget = {
        "pre_chat": [{"key": "email", "label": "Email", "required": True, "identifies": "email"}],
        "greeting": "Welcome {{back}}!",
        "allowed_origins": ["https://Shop.Example.com", "http://localhost:8080"],
    }
    changed = await client.put(url, json={**shown, "chat": widget}, headers=admin(services))
    assert changed.status_code == 200, changed.text
    assert changed.json()["chat"]["allowed_origins"] == [
        "https://shop.example.com",
        "http://localhost:8080",
    ]
    form = (await client.get("/api/chat/widgets/demo-widget")).json()
    assert [q["key"] for q in form["pre_chat"]] == ["email"]

    # The allow-list is kept: a page elsewhere is refused, the shop's page admitted.
    elsewhere = {"Origin": "https://evil.example.net"}
    assert_problem(
        await client.get("/api/chat/widgets/demo-widget", headers=elsewhere), 403, "not allowed"
    )
    start = {"widget_id": "demo-widget", "pre_chat": {"email": "ada@example.com"}}
    assert_problem(await client.post("/api/chat/sessions", json=start, headers=elsewhere), 403)
    admitted = await client.post(
        "/api/chat/sessions", json=start, headers={"Origin": "https://shop.example.com"}
    )
    assert admitted.status_code == 201, admitted.text


@pytest.mark.parametrize("name", WITH_IDS)
async def test_a_put_naming_another_id_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, services: Container, name: str
) -> None:
    resource = RESOURCES[name]
    first, second, *_ = [*await _records(client, services, resource), {"id": "absent"}]
    for other in (second["id"], "brand-new"):
        before = [await resource.stored(services, i) for i in (first["id"], other)]
        refused = await client.put(
            resource.url(first["id"]), json={**first, "id": other}, headers=admin(services)
        )
        assert_problem(refused, 400, "is not the path's")
        after = [await resource.stored(services, i) for i in (first["id"], other)]
        assert after == before


async def test_a_template_with_an_unknown_placeholder_is_refused_naming_it(
    client: httpx.AsyncClient, services: Container
) -> None:
    """Failure 6 of issue 15: it saved with 200."""
    refused = await client.put(
        "/api/admin/templates/t1",
        json={"name": "T", "body": "Hi {first_name}, {nonexistent_field}", "parameters": []},
        headers=admin(services),
    )
    assert_problem(refused, 400, "unknown placeholder {nonexistent_field}")
    assert await services.store.get_template("t1") is None


async def test_an_automated_message_with_an_unknown_placeholder_is_refused_naming_it(
    client: httpx.AsyncClient, services: Container
) -> None:
    url = "/api/admin/workstreams/ws-sms"
    shown = (await client.get(url, headers=admin(services))).json()
    texts = {"received": "You are number {position}, about {nonexistent_field} minutes"}
    refused = await client.put(
        url, json={**shown, "automated_messages": texts}, headers=admin(services)
    )
    assert_problem(refused, 400, "unknown placeholder {nonexistent_field}")
    assert (await client.get(url, headers=admin(services))).json() == shown


# --- generated bodies ---------------------------------------------------------------------------

FREE_NUMBERS = ("+12025550177", "+12025550178", "+12025550179")
WIDGET_IDS = ("rt-widget", "rt-widget-2")
HEX = "0123456789abcdef"
secret = st.none() | st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=16)
accounts = st.one_of(
    st.fixed_dictionaries(
        {
            "provider": st.just("twilio"),
            "account_sid": st.text(alphabet=HEX, min_size=32, max_size=32).map("AC".__add__),
            "auth_token": secret,
        },
        optional={
            "messaging_service_sid": st.text(alphabet=HEX, min_size=32, max_size=32).map(
                "MG".__add__
            )
        },
    ),
    st.fixed_dictionaries(
        {
            "provider": st.just("telesign"),
            "customer_id": st.uuids().map(str),
            "api_key": st.none() | st.binary(min_size=8, max_size=24).map(lambda b: b.hex()),
        }
    ),
    st.fixed_dictionaries(
        {
            "provider": st.just("acs"),
            "endpoint": st.just("https://rt.communication.azure.com"),
            "access_key": secret,
            "webhook_secret": secret,
        }
    ),
)


def _refer_to_what_exists(data: st.DataObject, body: Json, ids: dict[str, list[str]]) -> Json:
    """The body with each id it refers to drawn from the records that exist, so most bodies
    pass the checks of what they refer to and reach the store."""
    if isinstance(body, list):
        return [_refer_to_what_exists(data, item, ids) for item in body]
    if not isinstance(body, dict):
        return body
    patched: dict[str, Json] = {}
    for key, value in body.items():
        if key in ("queue_id", "fallback_queue_id") and isinstance(value, str):
            patched[key] = data.draw(st.sampled_from(ids["queues"]))
        elif key == "workstream_id" and isinstance(value, str):
            patched[key] = data.draw(st.sampled_from(ids["workstreams"]))
        elif key == "queue_ids" and isinstance(value, list):
            patched[key] = data.draw(st.lists(st.sampled_from(ids["queues"]), unique=True))
        else:
            patched[key] = _refer_to_what_exists(data, value, ids)
    return patched


def _channel_like_a_channel(data: st.DataObject, body: Json) -> Json:
    """A generated channel with a provider account and numbers an SMS channel can have, or a
    widget id: random strings there are refused, which the fixed tests already show."""
    if body.get("kind") == "sms":
        numbers = st.lists(st.sampled_from(FREE_NUMBERS), min_size=1, unique=True)
        return {**body, "addresses": data.draw(numbers), "account": data.draw(accounts)}
    return {**body, "addresses": data.draw(st.lists(st.sampled_from(WIDGET_IDS), min_size=1))}


async def _awaited[T](call: Awaitable[T]) -> T:
    return await call


def _without(keys: frozenset[str], value: Json) -> Json:
    if isinstance(value, dict):
        return {k: _without(keys, v) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [_without(keys, v) for v in value]
    return value


def _sent_as_stored(resource: AdminResource, body: Json) -> Json | None:
    """What the sent fields are once the body's model has read them (numbers as their type,
    origins in lower case), without secrets and read-only fields; None if it cannot."""
    try:
        model = resource.body.model_validate(body)
    except ValueError:
        return None
    sent = model.model_dump(mode="json", exclude_unset=True)
    return _without(WRITE_ONLY, {k: v for k, v in sent.items() if k not in READ_ONLY})


def _shown(value: Json, like: Json) -> Json:
    """The part of a shown value that the sent one names (dicts: the sent keys only)."""
    if isinstance(like, dict) and isinstance(value, dict):
        return {k: _shown(value.get(k), v) for k, v in like.items()}
    if isinstance(like, list) and isinstance(value, list) and len(like) == len(value):
        return [_shown(v, s) for v, s in zip(value, like, strict=True)]
    return value


@pytest.mark.parametrize("name", sorted(RESOURCES))
async def test_generated_bodies_are_stored_as_sent_or_refused_changing_nothing(
    client: httpx.AsyncClient, services: Container, name: str
) -> None:
    resource = RESOURCES[name]
    loop = asyncio.get_running_loop()
    headers = admin(services)

    def run[T](call: Awaitable[T]) -> T:
        return asyncio.run_coroutine_threadsafe(_awaited(call), loop).result(timeout=30)

    ids = {
        plural: [r["id"] for r in await _records(client, services, RESOURCES[f"{plural}/{key}"])]
        for plural, key in (("queues", "{queue_id}"), ("workstreams", "{workstream_id}"))
    }
    existing = (
        [] if resource.singleton else [r["id"] for r in await _records(client, services, resource)]
    )
    operation = schemathesis.openapi.from_dict(DOCUMENT)[f"/api/admin/{name}"]["PUT"]
    outcomes: list[int] = []

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        case = data.draw(operation.as_strategy())
        if not isinstance(case.body, dict):
            return
        record_id = "" if resource.singleton else data.draw(st.sampled_from([*existing, "rt-new"]))
        body = _refer_to_what_exists(data, case.body, ids)
        if name.startswith("channels/"):
            body = _channel_like_a_channel(data, body)
        if "id" in resource.body.model_fields:
            body["id"] = record_id
        url = resource.url(record_id)
        before = run(resource.stored(services, record_id))
        written = run(client.put(url, json=body, headers=headers))
        outcomes.append(written.status_code)
        if written.status_code != 200:
            assert 400 <= written.status_code < 500, written.text
            assert written.headers["content-type"] == "application/problem+json"
            assert run(resource.stored(services, record_id)) == before
            return
        shown = run(client.get(url, headers=headers)).json()
        assert written.json() == shown
        sent = _sent_as_stored(resource, body)
        assert sent is not None, "the API took a body its own model refuses"
        assert _shown(shown, sent) == sent, "a field sent is not shown as sent"
        assert _without(WRITE_ONLY, shown) == shown, "a secret is shown"
        stored = run(resource.stored(services, record_id))
        again = run(client.put(url, json=shown, headers=headers))
        assert again.status_code == 200, again.text
        assert again.json() == shown
        assert run(resource.stored(services, record_id)) == stored

    await asyncio.to_thread(check)
    assert 200 in outcomes, f"no generated {name} body was stored: {outcomes}"
