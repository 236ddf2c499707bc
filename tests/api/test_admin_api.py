"""The admin API: channels with write-only secrets, validation, templates, bulk SMS."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from shared.bootstrap import Container
from shared.domain.channels import TwilioAccount
from shared.domain.customers import Customer
from shared.domain.identity import Role
from tests.support import TWILIO_TOKEN, bearer, drain

TWILIO_ACCOUNT = {
    "provider": "twilio",
    "account_sid": "AC" + "a" * 32,
    "auth_token": "s3cret-token",
}


def admin(services: Container) -> dict[str, str]:
    return bearer(services, "root", Role.ADMIN)


async def put_channel(
    client: httpx.AsyncClient, services: Container, channel_id: str, **fields: object
) -> httpx.Response:
    body = {
        "kind": "sms",
        "addresses": ["+1 202 555 0177"],
        "account": TWILIO_ACCOUNT,
        "workstream_id": "ws-sms",
        **fields,
    }
    return await client.put(f"/api/admin/channels/{channel_id}", json=body, headers=admin(services))


async def test_channel_secrets_are_write_only(
    client: httpx.AsyncClient, services: Container
) -> None:
    created = await put_channel(client, services, "sms-two")
    assert created.status_code == 200
    view = created.json()
    assert view["addresses"] == ["+12025550177"]  # normalized to E.164
    assert view["provider"] == "twilio"
    assert view["secrets_set"] == ["auth_token"]
    assert "s3cret-token" not in created.text
    listed = await client.get("/api/admin/channels", headers=admin(services))
    assert "s3cret-token" not in listed.text
    assert TWILIO_TOKEN not in listed.text
    assert {c["id"] for c in listed.json()["items"]} == {"sms-main", "chat-web", "sms-two"}


async def test_editing_without_secrets_keeps_them(
    client: httpx.AsyncClient, services: Container
) -> None:
    await put_channel(client, services, "sms-two")
    account = {k: v for k, v in TWILIO_ACCOUNT.items() if k != "auth_token"}
    edited = await put_channel(
        client, services, "sms-two", account=account, addresses=["+12025550178"]
    )
    assert edited.status_code == 200
    stored = await services.store.get_channel("sms-two")
    assert stored is not None and stored.account is not None
    assert isinstance(stored.account, TwilioAccount)
    assert stored.account.auth_token == "s3cret-token"
    assert stored.addresses == ("+12025550178",)


@pytest.mark.parametrize(
    ("fields", "status", "detail"),
    [
        ({"addresses": ["12"]}, 400, "phone number"),
        ({"addresses": ["+12025550100"]}, 409, "another channel"),  # the demo channel's number
        ({"workstream_id": "nope"}, 404, "workstream"),
        (
            {"account": {"provider": "twilio", "account_sid": "AC1", "auth_token": "x"}},
            400,
            "account_sid",
        ),
        ({"account": {"provider": "carrier-pigeon"}}, 400, "provider"),
        ({"account": None}, 400, "provider account"),
    ],
)
async def test_bad_channels_are_refused_and_change_nothing(
    client: httpx.AsyncClient,
    services: Container,
    fields: dict[str, object],
    status: int,
    detail: str,
) -> None:
    response = await put_channel(client, services, "sms-bad", **fields)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert detail in response.json()["detail"]
    assert "s3cret-token" not in response.text
    assert await services.store.get_channel("sms-bad") is None


async def test_admin_routes_need_the_admin_role(
    client: httpx.AsyncClient, services: Container
) -> None:
    for role in (Role.AGENT, Role.SUPERVISOR):
        response = await client.get("/api/admin/channels", headers=bearer(services, "x", role))
        assert response.status_code == 403
    assert (await client.get("/api/admin/channels")).status_code == 401


async def test_validation_sends_a_test_sms_to_each_number(
    client: httpx.AsyncClient, services: Container
) -> None:
    await put_channel(client, services, "sms-two", addresses=["+12025550177", "+12025550178"])
    response = await client.post("/api/admin/channels/sms-two/validate", headers=admin(services))
    assert response.status_code == 200
    assert [(c["number"], c["ok"]) for c in response.json()] == [
        ("+12025550177", True),
        ("+12025550178", True),
    ]
    sent = await services.store.list_sent_sms(limit=10)
    assert sorted((s.to, s.from_) for s in sent) == [
        ("+12025550177", "+12025550177"),
        ("+12025550178", "+12025550178"),
    ]
    assert (
        await client.post("/api/admin/channels/chat-web/validate", headers=admin(services))
    ).status_code == 400
    assert (
        await client.post("/api/admin/channels/none/validate", headers=admin(services))
    ).status_code == 404


async def test_templates_crud(client: httpx.AsyncClient, services: Container) -> None:
    put = await client.put(
        "/api/admin/templates/welcome",
        json={"name": "Welcome", "body": "Hi {first_name}!"},
        headers=admin(services),
    )
    assert put.status_code == 200
    assert (await client.get("/api/admin/templates/welcome", headers=admin(services))).json()[
        "body"
    ] == "Hi {first_name}!"
    bad = await client.put(
        "/api/admin/templates/x", json={"name": "X", "body": "Hi {oops"}, headers=admin(services)
    )
    assert bad.status_code == 400
    assert (
        await client.delete("/api/admin/templates/welcome", headers=admin(services))
    ).status_code == 204
    assert (
        await client.get("/api/admin/templates/welcome", headers=admin(services))
    ).status_code == 404


async def test_bulk_sms_skips_opted_out_and_phoneless_and_is_idempotent(
    client: httpx.AsyncClient, services: Container
) -> None:
    await services.store.put_customer(Customer(id="cust-nophone", display_name="No Phone"))
    await services.store.set_sms_consent(
        "+14155550102", opted_out=True, at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    await client.put(
        "/api/admin/templates/notice",
        json={
            "name": "Notice",
            "body": "Hi {first_name}, your order {order} shipped.",
            "parameters": ["order"],
        },
        headers=admin(services),
    )
    request = {
        "template_id": "notice",
        "channel_id": "sms-main",
        "customer_ids": ["cust-ada", "cust-grace", "cust-nophone", "cust-ada"],
        "values": {"order": "A-42"},
        "request_id": "campaign-1",
    }
    started = await client.post("/api/admin/outbound", json=request, headers=admin(services))
    assert started.status_code == 202
    job_id = started.json()["job"]["id"]
    await drain(services)
    again = await client.post("/api/admin/outbound", json=request, headers=admin(services))
    assert again.json()["job"]["id"] == job_id
    await drain(services)

    progress = (await client.get(f"/api/admin/outbound/{job_id}", headers=admin(services))).json()
    assert progress["done"] is True
    assert {k: v for k, v in progress["counts"].items() if v} == {
        "queued": 1,
        "skipped_opted_out": 1,
        "skipped_no_phone": 1,
    }
    sent = await services.store.list_sent_sms(limit=10)
    assert [(s.to, s.from_, s.text) for s in sent] == [
        ("+14155550101", "+12025550100", "Hi Ada, your order A-42 shipped.")
    ]


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"template_id": "missing"}, 404),
        ({"channel_id": "chat-web"}, 404),
        ({"values": {}}, 400),
        ({"values": {"order": "1", "coupon": "X"}}, 400),
        ({"customer_ids": []}, 400),
    ],
)
async def test_bad_bulk_requests_are_refused(
    client: httpx.AsyncClient, services: Container, change: dict[str, object], status: int
) -> None:
    await client.put(
        "/api/admin/templates/notice",
        json={"name": "N", "body": "Order {order}", "parameters": ["order"]},
        headers=admin(services),
    )
    request = {
        "template_id": "notice",
        "channel_id": "sms-main",
        "customer_ids": ["cust-ada"],
        "values": {"order": "1"},
    }
    response = await client.post(
        "/api/admin/outbound", json=request | change, headers=admin(services)
    )
    assert response.status_code == status
    assert await drain(services) == 0


async def test_a_provider_other_than_the_accounts_is_refused(
    client: httpx.AsyncClient, services: Container
) -> None:
    refused = await put_channel(client, services, "sms-two", provider="acs")
    assert refused.status_code == 400
    assert "provider is read-only" in refused.json()["detail"]
    assert await services.store.get_channel("sms-two") is None
