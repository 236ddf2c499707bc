"""A supervisor joins a conversation to monitor it (read-only, internal notes included) and takes
it over by transfer to themselves. To hold work a supervisor is an agent too: an agent
record with the token's subject as id, signed in, with room for the work."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from shared.bootstrap import Container
from shared.domain.identity import Role
from tests.api.test_admin_routing_api import put
from tests.api.test_agent_work_actions import agent, alices_conversation, sign_in, url
from tests.api.test_supervisor import arrival
from tests.support import assert_problem, bearer


def sue(services: Container) -> dict[str, str]:
    """A supervisor who may also work as an agent."""
    return bearer(services, "sue", Role.SUPERVISOR, Role.AGENT)


async def make_sue_an_agent(client: httpx.AsyncClient, services: Container) -> None:
    record = {"id": "sue", "display_name": "Sue", "queue_ids": ["q-general"], "max_capacity": 2}
    assert (await put(client, services, "agents/sue", record)).status_code == 200
    await sign_in(client, services, "sue")


async def test_a_supervisor_monitors_read_only_with_notes(
    client: httpx.AsyncClient, services: Container
) -> None:
    conversation_id = await alices_conversation(client, services)
    alice = agent(services, "alice")
    await client.post(
        url(conversation_id, "messages"),
        json={"text": "angry one", "internal": True},
        headers=alice,
    )
    monitored = await client.get(
        f"/api/supervisor/conversations/{conversation_id}", headers=sue(services)
    )
    assert monitored.status_code == 200
    body = monitored.json()
    assert (body["item"]["agent_id"], body["item"]["status"]) == ("alice", "active")
    assert [(m["text"], m["internal"]) for m in body["messages"]] == [
        ("hello", False),
        ("angry one", True),
    ]
    # Monitoring writes nothing: the supervisor is no party to the conversation.
    for text, internal in (("hi, I am the supervisor", False), ("a note", True)):
        write = await client.post(
            url(conversation_id, "messages"),
            json={"text": text, "internal": internal},
            headers=sue(services),
        )
        assert_problem(write, 404)
    supervisor_only = bearer(services, "sue", Role.SUPERVISOR)
    assert_problem(
        await client.post(
            url(conversation_id, "messages"), json={"text": "x"}, headers=supervisor_only
        ),
        403,
    )
    after = await client.get(f"/api/supervisor/conversations/{conversation_id}", headers=alice)
    assert_problem(after, 403)
    assert_problem(
        await client.get("/api/supervisor/conversations/nope", headers=sue(services)), 404
    )


async def test_a_supervisor_takes_over_active_work_by_transfer(
    client: httpx.AsyncClient, services: Container
) -> None:
    conversation_id = await alices_conversation(client, services)
    take_over = f"/api/supervisor/conversations/{conversation_id}/take-over"
    # Not an agent record yet: nobody to hold the work.
    assert_problem(await client.post(take_over, headers=sue(services)), 404)
    await make_sue_an_agent(client, services)

    taken = await client.post(take_over, headers=sue(services))
    assert taken.status_code == 200, taken.text
    assert (taken.json()["item"]["agent_id"], taken.json()["role"]) == ("sue", "primary")
    alice_state, sue_state = (
        await services.store.agent_state("alice"),
        await services.store.agent_state("sue"),
    )
    assert alice_state is not None and sue_state is not None
    assert (alice_state.used_capacity, sue_state.used_capacity) == (0, 1)
    # Sue now works it as its agent; Alice is out of it.
    reply = await client.post(
        url(conversation_id, "messages"), json={"text": "Sue here."}, headers=sue(services)
    )
    assert reply.status_code in (200, 201), reply.text
    assert_problem(
        await client.get(url(conversation_id, "messages"), headers=agent(services, "alice")), 404
    )
    assert_problem(await client.post(take_over, headers=sue(services)), 409)


async def test_a_supervisor_takes_waiting_work_within_capacity(
    client: httpx.AsyncClient, services: Container
) -> None:
    await make_sue_an_agent(client, services)
    now = datetime.now(UTC)
    first, second, third = [await arrival(services, "q-general", now) for _ in range(3)]
    for item in (first, second):
        response = await client.post(
            f"/api/supervisor/conversations/{item.conversation_id}/take-over",
            headers=sue(services),
        )
        assert response.status_code == 200, response.text
        assert response.json()["item"]["status"] == "active"
    # Sue's maximum is 2: the third stays waiting (invariant 1 holds for supervisors too).
    full = await client.post(
        f"/api/supervisor/conversations/{third.conversation_id}/take-over", headers=sue(services)
    )
    assert_problem(full, 409)
    still = await services.store.get_work_item(third.id)
    assert still is not None and still.status == "waiting"


async def test_only_supervisors_take_over(client: httpx.AsyncClient, services: Container) -> None:
    conversation_id = await alices_conversation(client, services)
    take_over = f"/api/supervisor/conversations/{conversation_id}/take-over"
    for caller in ("alice", "root"):
        for role in (Role.AGENT, Role.ADMIN):
            assert_problem(
                await client.post(take_over, headers=bearer(services, caller, role)), 403
            )
    assert_problem(await client.post(take_over), 401)
