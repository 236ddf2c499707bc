"""Routing configuration: workstreams, queues, route-to-queue rules and agents. A change routes the
queues it touches at once; a delete is refused (409) while other records still name what it
deletes."""

from __future__ import annotations

from typing import Any

from functions.routes.admin import Resource, admin_router, resource_routes
from shared.domain.routing_config import Agent, Queue, RoutingRule, Workstream
from shared.services.routing_config import WorkstreamView

IN_USE = (409, "Other records still use it")
router = admin_router("routing")


def _call(verb: str, noun: str) -> Any:
    """RoutingConfigService's method `{verb}_{noun}` of the request's container: its four
    resources' methods are named alike (list_queues, get_queue, put_queue, delete_queue)."""
    return lambda services: getattr(services.routing_config, f"{verb}_{noun}")


# (name, plural, record, as shown, whether other records may still name it)
_RESOURCES: tuple[tuple[str, str, type[Any], type[Any], bool], ...] = (
    ("workstream", "workstreams", Workstream, WorkstreamView, True),
    ("queue", "queues", Queue, Queue, True),
    ("rule", "rules", RoutingRule, RoutingRule, False),
    ("agent", "agents", Agent, Agent, True),
)
for name, plural, record, view, may_be_in_use in _RESOURCES:
    resource_routes(
        router,
        Resource[Any, Any](
            name=name,
            plural=plural,
            body=record,
            view=view,
            list=_call("list", plural),
            get=_call("get", name),
            put=_call("put", name),
            delete=_call("delete", name),
            delete_problems=(IN_USE,) if may_be_in_use else (),
        ),
    )
