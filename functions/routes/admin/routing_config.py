"""Routing configuration: workstreams, queues, route-to-queue rules and agents. A change routes the
queues it touches at once."""

from __future__ import annotations

from fastapi import Response, status

from functions.dependencies import PageSize, Services
from functions.problems import problem_responses
from functions.routes.admin import admin_router
from shared.domain.routing_config import Agent, Queue, RoutingRule, Workstream
from shared.services.listing import Page
from shared.services.routing_config import without_secrets

router = admin_router("routing")

# A delete is refused (409) while other records still name what it deletes.
IN_USE = (409, "Other records still use it")


@router.get("/workstreams")
async def list_workstreams(
    services: Services, cursor: str | None = None, limit: PageSize = 100
) -> Page[Workstream]:
    return await services.routing_config.list_workstreams(after=cursor, limit=limit)


@router.get("/workstreams/{workstream_id}", responses=problem_responses(404))
async def get_workstream(workstream_id: str, services: Services) -> Workstream:
    return without_secrets(await services.routing_config.get_workstream(workstream_id))


@router.put("/workstreams/{workstream_id}")
async def put_workstream(
    workstream_id: str, workstream: Workstream, services: Services
) -> Workstream:
    return without_secrets(await services.routing_config.put_workstream(workstream_id, workstream))


@router.delete(
    "/workstreams/{workstream_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404, IN_USE),
)
async def delete_workstream(workstream_id: str, services: Services) -> Response:
    await services.routing_config.delete_workstream(workstream_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/queues")
async def list_queues(
    services: Services, cursor: str | None = None, limit: PageSize = 100
) -> Page[Queue]:
    return await services.routing_config.list_queues(after=cursor, limit=limit)


@router.get("/queues/{queue_id}", responses=problem_responses(404))
async def get_queue(queue_id: str, services: Services) -> Queue:
    return await services.routing_config.get_queue(queue_id)


@router.put("/queues/{queue_id}")
async def put_queue(queue_id: str, queue: Queue, services: Services) -> Queue:
    return await services.routing_config.put_queue(queue_id, queue)


@router.delete(
    "/queues/{queue_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404, IN_USE),
)
async def delete_queue(queue_id: str, services: Services) -> Response:
    await services.routing_config.delete_queue(queue_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/rules")
async def list_rules(
    services: Services, cursor: str | None = None, limit: PageSize = 100
) -> Page[RoutingRule]:
    return await services.routing_config.list_rules(after=cursor, limit=limit)


@router.get("/rules/{rule_id}", responses=problem_responses(404))
async def get_rule(rule_id: str, services: Services) -> RoutingRule:
    return await services.routing_config.get_rule(rule_id)


@router.put("/rules/{rule_id}")
async def put_rule(rule_id: str, rule: RoutingRule, services: Services) -> RoutingRule:
    return await services.routing_config.put_rule(rule_id, rule)


@router.delete(
    "/rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(404)
)
async def delete_rule(rule_id: str, services: Services) -> Response:
    await services.routing_config.delete_rule(rule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/agents")
async def list_agents(
    services: Services, cursor: str | None = None, limit: PageSize = 100
) -> Page[Agent]:
    return await services.routing_config.list_agents(after=cursor, limit=limit)


@router.get("/agents/{agent_id}", responses=problem_responses(404))
async def get_agent(agent_id: str, services: Services) -> Agent:
    return await services.routing_config.get_agent(agent_id)


@router.put("/agents/{agent_id}")
async def put_agent(agent_id: str, agent: Agent, services: Services) -> Agent:
    return await services.routing_config.put_agent(agent_id, agent)


@router.delete(
    "/agents/{agent_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404, IN_USE),
)
async def delete_agent(agent_id: str, services: Services) -> Response:
    await services.routing_config.delete_agent(agent_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
