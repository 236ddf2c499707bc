"""The authorization matrix: every operation of the app's OpenAPI document against the table
below of who may call it, tried with real dev tokens for each role and with no token at all.

The table is the intended policy, written out: a route missing from it (or listed but gone)
fails the test, so whoever adds a route decides here who may call it. Guarded routes must
answer 401 to the anonymous caller, 403 to a role outside their set, and neither to a role in
it. Public routes (webhooks, the chat widget, probes) authenticate by other means: a bearer
token must make no difference to them, whichever role it carries."""

from __future__ import annotations

import importlib
import re

import httpx
import pytest

from functions.api import create_api
from shared.bootstrap import Container
from shared.domain.identity import Role
from tests.api.test_agent_flow import alices_conversation
from tests.support import bearer

PUBLIC: frozenset[Role] | None = None  # no bearer token: signatures, chat tokens, or anyone
AGENT = frozenset({Role.AGENT})
SUPERVISION = frozenset({Role.SUPERVISOR, Role.ADMIN})
ADMIN = frozenset({Role.ADMIN})
SUPERVISOR_ONLY = frozenset({Role.SUPERVISOR})  # taking over is a supervisor's act, not an admin's
DESK = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN})
EDITORS = frozenset({Role.AGENT, Role.ADMIN})  # an agent: only its conversations' customers

# (method, path template) -> the roles that may call it, any one of them; PUBLIC for none.
MATRIX: dict[tuple[str, str], frozenset[Role] | None] = {
    ("GET", "/api/health"): PUBLIC,
    ("GET", "/api/sandbox/sms"): SUPERVISION,
    ("GET", "/api/sandbox/email"): SUPERVISION,
    # Providers' webhooks: their own signatures or shared secret.
    ("POST", "/api/sms/twilio"): PUBLIC,
    ("POST", "/api/sms/twilio/status"): PUBLIC,
    ("POST", "/api/sms/telesign"): PUBLIC,
    ("POST", "/api/sms/telesign/status"): PUBLIC,
    ("POST", "/api/sms/acs"): PUBLIC,
    ("OPTIONS", "/api/sms/acs"): PUBLIC,
    # The chat widget: the conversation's own token.
    ("GET", "/api/chat/widgets/{widget_id}"): PUBLIC,
    ("POST", "/api/chat/sessions"): PUBLIC,
    ("POST", "/api/chat/sessions/{conversation_id}/messages"): PUBLIC,
    ("GET", "/api/chat/sessions/{conversation_id}/messages"): PUBLIC,
    ("GET", "/api/chat/sessions/{conversation_id}/events"): PUBLIC,
    ("POST", "/api/chat/sessions/{conversation_id}/typing"): PUBLIC,
    ("POST", "/api/chat/sessions/{conversation_id}/end"): PUBLIC,
    ("POST", "/api/chat/sessions/{conversation_id}/read"): PUBLIC,
    # Agents' files as customers fetch them: the URL's own signature and expiry.
    ("GET", "/api/attachments/{conversation_id}/{attachment_id}"): PUBLIC,
    ("GET", "/api/chat/sessions/{conversation_id}/after"): PUBLIC,
    ("POST", "/api/chat/sessions/{conversation_id}/survey"): PUBLIC,
    ("POST", "/api/chat/sessions/{conversation_id}/transcript-email"): PUBLIC,
    # The agent's own day.
    ("GET", "/api/agents/me/presence"): AGENT,
    ("PUT", "/api/agents/me/presence"): AGENT,
    ("POST", "/api/agents/me/sign-in"): AGENT,
    ("POST", "/api/agents/me/sign-out"): AGENT,
    ("POST", "/api/agents/me/heartbeat"): AGENT,
    ("GET", "/api/agents/me/work"): AGENT,
    ("GET", "/api/agents/me/figures"): AGENT,
    ("GET", "/api/queues/{queue_id}/items"): AGENT,
    # Conversations an agent works.
    ("GET", "/api/conversations/{conversation_id}/messages"): AGENT,
    ("POST", "/api/conversations/{conversation_id}/messages"): AGENT,
    ("POST", "/api/conversations/{conversation_id}/accept"): AGENT,
    ("POST", "/api/conversations/{conversation_id}/decline"): AGENT,
    ("POST", "/api/conversations/{conversation_id}/pick"): AGENT,
    ("POST", "/api/conversations/{conversation_id}/close"): AGENT,
    ("GET", "/api/conversations/{conversation_id}/customer"): AGENT,
    ("PUT", "/api/conversations/{conversation_id}/customer"): AGENT,
    ("GET", "/api/conversations/{conversation_id}/transfer-targets"): AGENT,
    ("GET", "/api/conversations/{conversation_id}/consult-candidates"): AGENT,
    ("POST", "/api/conversations/{conversation_id}/consult"): AGENT,
    ("POST", "/api/conversations/{conversation_id}/consult/leave"): AGENT,
    ("POST", "/api/conversations/{conversation_id}/transfer"): AGENT,
    ("POST", "/api/conversations/{conversation_id}/end"): AGENT,
    ("POST", "/api/conversations/{conversation_id}/reopen"): AGENT,
    ("POST", "/api/conversations/{conversation_id}/typing"): AGENT,
    ("GET", "/api/conversations/{conversation_id}/typing"): AGENT,
    # Customers and conversation search: the whole desk reads (agents their own and their
    # queues' conversations), admins create, delete and merge.
    ("GET", "/api/customers"): DESK,
    ("POST", "/api/customers"): ADMIN,
    ("GET", "/api/customers/{customer_id}"): DESK,
    ("PATCH", "/api/customers/{customer_id}"): EDITORS,
    ("DELETE", "/api/customers/{customer_id}"): ADMIN,
    ("POST", "/api/customers/{customer_id}/merge"): ADMIN,
    ("GET", "/api/customers/{customer_id}/timeline"): DESK,
    ("GET", "/api/search/conversations"): DESK,
    ("POST", "/api/conversations/{conversation_id}/attachments"): AGENT,
    ("GET", "/api/quick-replies"): AGENT,
    ("GET", "/api/conversations/{conversation_id}/quick-replies/{reply_id}"): AGENT,
    ("GET", "/api/conversations/{conversation_id}/wrap-up"): AGENT,
    ("POST", "/api/conversations/{conversation_id}/wrap-up"): AGENT,
    ("GET", "/api/conversations/{conversation_id}/transcript"): AGENT,
    # Supervision: supervisors and admins read; only a supervisor takes over.
    ("GET", "/api/supervisor/customers/{customer_id}/conversations"): SUPERVISION,
    ("GET", "/api/supervisor/conversations"): SUPERVISION,
    ("GET", "/api/supervisor/conversations/{conversation_id}"): SUPERVISION,
    ("GET", "/api/supervisor/conversations/{conversation_id}/messages"): SUPERVISION,
    ("GET", "/api/supervisor/conversations/{conversation_id}/routing"): SUPERVISION,
    ("GET", "/api/supervisor/conversations/{conversation_id}/transcript"): SUPERVISION,
    ("POST", "/api/supervisor/conversations/{conversation_id}/take-over"): SUPERVISOR_ONLY,
    ("GET", "/api/supervisor/agents"): SUPERVISION,
    ("GET", "/api/supervisor/intraday"): SUPERVISION,
    ("GET", "/api/supervisor/history"): SUPERVISION,
    # Administration.
    ("POST", "/api/admin/outbound"): ADMIN,
    ("GET", "/api/admin/outbound/{job_id}"): ADMIN,
    ("GET", "/api/admin/presences"): ADMIN,
    ("PUT", "/api/admin/presences"): ADMIN,
    ("GET", "/api/admin/sentiment"): ADMIN,
    ("PUT", "/api/admin/sentiment"): ADMIN,
    **{
        (method, f"/api/admin/{kind}{suffix}"): ADMIN
        for kind, key in (
            ("channels", "channel_id"),
            ("templates", "template_id"),
            ("workstreams", "workstream_id"),
            ("queues", "queue_id"),
            ("rules", "rule_id"),
            ("agents", "agent_id"),
            ("quick-replies", "quick_reply_id"),
        )
        for method, suffix in (
            ("GET", ""),
            ("GET", f"/{{{key}}}"),
            ("PUT", f"/{{{key}}}"),
            ("DELETE", f"/{{{key}}}"),
        )
    },
    ("POST", "/api/admin/channels/{channel_id}/validate"): ADMIN,
}

CALLERS: dict[str, tuple[Role, ...] | None] = {
    "anonymous": None,
    "agent": (Role.AGENT,),
    "supervisor": (Role.SUPERVISOR,),
    "admin": (Role.ADMIN,),
}


def _documented() -> dict[tuple[str, str], frozenset[Role] | None]:
    """Every operation of the OpenAPI document with the roles its security requirement lists."""
    importlib.import_module("function_app")  # the composition root, as Azure loads it
    found: dict[tuple[str, str], frozenset[Role] | None] = {}
    for path, operations in create_api().openapi()["paths"].items():
        for method, operation in operations.items():
            requirements = operation.get("security")
            found[(method.upper(), path)] = (
                frozenset(Role(r) for req in requirements for r in req["bearer"])
                if requirements
                else PUBLIC
            )
    return found


DOCUMENTED = _documented()
OPERATIONS = sorted(DOCUMENTED)


def test_the_table_names_every_documented_route_and_no_other() -> None:
    missing = sorted(set(DOCUMENTED) - set(MATRIX))
    stale = sorted(set(MATRIX) - set(DOCUMENTED))
    assert missing == [], f"routes without an entry in MATRIX (decide who may call them): {missing}"
    assert stale == [], f"MATRIX entries for routes that no longer exist: {stale}"


def test_the_document_declares_the_roles_the_table_intends() -> None:
    """Clients read the roles from the document: they must say what the table says."""
    differing = {op: DOCUMENTED[op] for op in OPERATIONS if DOCUMENTED[op] != MATRIX.get(op)}
    assert differing == {}


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x-1", path)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
async def test_each_caller_is_admitted_or_refused_as_the_table_says(
    client: httpx.AsyncClient, services: Container, method: str, path: str
) -> None:
    if (method, path) not in MATRIX:
        pytest.fail(f"{method} {path} has no entry in MATRIX")
    admitted = MATRIX[(method, path)]
    statuses: dict[str, int] = {}
    for caller, roles in CALLERS.items():
        headers = {} if roles is None else bearer(services, f"{caller}-1", *roles)
        response = await client.request(method, _url(path), headers=headers)
        statuses[caller] = response.status_code
        if admitted is None:  # PUBLIC
            continue
        if roles is None:
            expected: str = "401"
            ok = response.status_code == 401
        elif admitted.intersection(roles):
            expected = "neither 401 nor 403"
            ok = response.status_code not in (401, 403)
        else:
            expected = "403"
            ok = response.status_code == 403
        assert ok, f"{caller}: expected {expected}, got {response.status_code}: {response.text}"
        assert response.status_code < 500, response.text
    if admitted is PUBLIC:
        # A bearer token is no key to a public route: every caller is treated alike.
        assert len(set(statuses.values())) == 1, statuses
        assert all(status < 500 for status in statuses.values()), statuses


# --- fields by role -------------------------------------------------------------------------------

SUPERVISOR_ONLY_FIELDS = {"sentiment"}


def _properties(schema: object, components: dict[str, object], seen: set[str]) -> set[str]:
    """Every property name a response schema can carry, through $refs and combinators."""
    if isinstance(schema, list):
        return set().union(*(_properties(s, components, seen) for s in schema))
    if not isinstance(schema, dict):
        return set()
    found: set[str] = set()
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[1]
        if name not in seen:
            seen.add(name)
            found |= _properties(components[name], components, seen)
    properties = schema.get("properties")
    if isinstance(properties, dict):
        found |= set(properties)
    for value in schema.values():
        if isinstance(value, dict | list):
            found |= _properties(value, components, seen)
    return found


@pytest.mark.parametrize(
    ("method", "path"),
    [op for op in OPERATIONS if MATRIX.get(op) == AGENT],
    ids=[f"{m} {p}" for m, p in OPERATIONS if MATRIX.get((m, p)) == AGENT],
)
def test_agent_routes_document_no_supervisor_only_field(method: str, path: str) -> None:
    document = create_api().openapi()
    components = document["components"]["schemas"]
    responses = document["paths"][path][method.lower()]["responses"]
    success = {code: r for code, r in responses.items() if code.startswith("2")}
    assert SUPERVISOR_ONLY_FIELDS.isdisjoint(_properties(success, components, set()))


def _keys(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value) | set().union(*(_keys(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_keys(v) for v in value))
    return set()


async def test_sentiment_reaches_supervisors_and_never_the_agent(
    client: httpx.AsyncClient, services: Container
) -> None:
    conversation_id = await alices_conversation(client, services)
    stored = await services.store.list_messages(conversation_id, include_internal=True)
    assert stored[0].sentiment is not None, "the customer's message was scored"
    alice = bearer(services, "alice", Role.AGENT)
    seen_by_alice = [
        (await client.get("/api/agents/me/work", headers=alice)).json(),
        (await client.get(f"/api/conversations/{conversation_id}/messages", headers=alice)).json(),
        (
            await client.post(
                f"/api/conversations/{conversation_id}/messages",
                json={"text": "On it"},
                headers=alice,
            )
        ).json(),
    ]
    assert SUPERVISOR_ONLY_FIELDS.isdisjoint(_keys(seen_by_alice))
    supervisor = bearer(services, "sue", Role.SUPERVISOR)
    monitored = (
        await client.get(f"/api/supervisor/conversations/{conversation_id}", headers=supervisor)
    ).json()
    assert monitored["messages"][0]["sentiment"] is not None
