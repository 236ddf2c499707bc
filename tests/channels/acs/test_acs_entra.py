"""ACS through Event Grid's secure webhook delivery with Microsoft Entra ID (AUTH_MODE=entra):
the bearer token Event Grid gets from the tenant stands in for the webhook secret, and each
event's number still selects its channel."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.bootstrap import Container
from shared.bus_messages import INBOUND
from shared.channels.acs.webhook import EVENT_GRID_ROLE
from tests.channels.acs.test_acs import (
    RECEIVED_ID,
    channel,
    nothing_was_accepted,
    pending,
    post,
    with_data,
)
from tests.entra import Tenant, running_tenant
from tests.support import drain

__all__ = ["channel"]  # the ACS channel, set up for every test here as in test_acs


@pytest.fixture
def tenant() -> Iterator[Tenant]:
    with running_tenant() as started:
        yield started


@pytest.fixture
def extra_settings(tenant: Tenant) -> dict[str, str]:
    return tenant.settings()


def event_grid(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_event_grids_token_authorizes_a_delivery(
    client: httpx.AsyncClient, services: Container, tenant: Tenant
) -> None:
    token = tenant.token(roles=[EVENT_GRID_ROLE])
    response = await post(client, "sms_received.eventgrid", secret=None, headers=event_grid(token))
    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "ignored": 0}
    await drain(services)
    assert await services.store.find_message_by_provider_id(f"acs:{RECEIVED_ID}") is not None


async def test_the_validation_handshake_with_a_token(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    token = tenant.token(roles=[EVENT_GRID_ROLE])
    response = await post(
        client, "subscription_validation.eventgrid", secret=None, headers=event_grid(token)
    )
    assert response.status_code == 200
    assert "validationResponse" in response.json()


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"roles": ["agent"]}, id="without Event Grid's role"),
        pytest.param({"roles": [EVENT_GRID_ROLE], "aud": "api://other"}, id="other audience"),
    ],
)
async def test_a_token_that_is_not_event_grids_is_refused(
    client: httpx.AsyncClient, services: Container, tenant: Tenant, claims: dict[str, Any]
) -> None:
    token = tenant.token(**claims)
    response = await post(client, "sms_received.eventgrid", secret=None, headers=event_grid(token))
    assert response.status_code == 401
    await nothing_was_accepted(services)


async def test_a_token_still_needs_a_number_an_acs_channel_serves(
    client: httpx.AsyncClient, services: Container, tenant: Tenant
) -> None:
    token = tenant.token(roles=[EVENT_GRID_ROLE])
    elsewhere = with_data("sms_received.eventgrid", to="12025550999")
    response = await post(
        client, "sms_received.eventgrid", elsewhere, secret=None, headers=event_grid(token)
    )
    assert response.status_code == 404
    assert await pending(services, INBOUND) == 0
