"""Admin management of routing configuration: workstreams, queues, route-to-queue rules and
agents. Every write is checked against what it refers to, and takes effect at once: the queues
it touches are routed straight away (Dynamics documents up to 15 minutes). Each write is given
the path's id, which the route has checked the record's id against."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from pydantic import Field

from shared.domain.base import Withheld, view_of
from shared.domain.routing_config import Agent, BotConfig, Queue, RoutingRule, Workstream
from shared.errors import BadRequest, Conflict, NotFound, existing
from shared.ports import AgentStateStore, ChannelStore, RoutingConfigStore, WorkItemStore
from shared.services.listing import Page, every, page_of
from shared.services.routing import RoutingService


class RoutingConfigPorts(
    ChannelStore, RoutingConfigStore, WorkItemStore, AgentStateStore, Protocol
):
    """The store ports this service needs."""


def _redirect_queues(queue: Queue) -> set[str]:
    redirects = (queue.out_of_hours, queue.overflow.then if queue.overflow else None)
    return {r.queue_id for r in redirects if r is not None and r.queue_id is not None}


class RoutingConfigService:
    def __init__(self, store: RoutingConfigPorts, routing: RoutingService) -> None:
        self._store = store
        self._routing = routing

    async def _require_queues(self, queue_ids: Iterable[str], what: str) -> None:
        for queue_id in sorted(set(queue_ids)):
            if await self._store.get_queue(queue_id) is None:
                raise BadRequest(f"{what} names queue {queue_id!r}, which does not exist")

    # --- workstreams ----------------------------------------------------------------------------

    async def list_workstreams(self, *, after: str | None, limit: int) -> Page[WorkstreamView]:
        """Bot secrets stay write-only."""
        page = await page_of(self._store.list_workstreams, after=after, limit=limit)
        return Page[WorkstreamView](
            items=[view_of(WorkstreamView, w) for w in page.items], next_cursor=page.next_cursor
        )

    async def get_workstream(self, workstream_id: str) -> WorkstreamView:
        """Without its bot's secret, which is write-only."""
        workstream = existing(
            await self._store.get_workstream(workstream_id), f"workstream {workstream_id}"
        )
        return view_of(WorkstreamView, workstream)

    async def put_workstream(self, workstream_id: str, workstream: Workstream) -> WorkstreamView:
        """Its queues are routed at once: presences, capacity units or the mode may have
        changed who is eligible. Answers without the bot's secret."""
        await self._require_queues([workstream.fallback_queue_id], "the fallback")
        workstream = await self._with_bot_secret(workstream)
        await self._store.put_workstream(workstream)
        rules = await self._store.list_rules(workstream.id)
        await self._routing.request_routing(
            sorted({workstream.fallback_queue_id, *(r.queue_id for r in rules)})
        )
        return view_of(WorkstreamView, workstream)

    async def _with_bot_secret(self, workstream: Workstream) -> Workstream:
        """A bot's secret is write-only: a write without it keeps the stored one."""
        bot = workstream.bot
        if bot is None:
            return workstream
        await self._require_queues(bot.queue_ids, "the bot")
        if bot.secret:
            return workstream
        current = await self._store.get_workstream(workstream.id)
        kept = None if current is None or current.bot is None else current.bot.secret
        if kept is None:
            raise BadRequest("a bot needs a secret to sign its requests with")
        return workstream.model_copy(update={"bot": bot.model_copy(update={"secret": kept})})

    async def delete_workstream(self, workstream_id: str) -> None:
        if await self._store.list_rules(workstream_id):
            raise Conflict(f"workstream {workstream_id} still has rules")
        async for channel in every(self._store.list_channels):
            if channel.workstream_id == workstream_id:
                raise Conflict(f"channel {channel.id} still uses workstream {workstream_id}")
        if not await self._store.delete_workstream(workstream_id):
            raise NotFound(f"workstream {workstream_id} does not exist")

    # --- queues ---------------------------------------------------------------------------------

    async def list_queues(self, *, after: str | None, limit: int) -> Page[Queue]:
        return await page_of(self._store.list_queues, after=after, limit=limit)

    async def get_queue(self, queue_id: str) -> Queue:
        return existing(await self._store.get_queue(queue_id), f"queue {queue_id}")

    async def put_queue(self, queue_id: str, queue: Queue) -> Queue:
        await self._require_queues(_redirect_queues(queue) - {queue.id}, "a redirect")
        await self._store.put_queue(queue)
        await self._routing.request_routing([queue.id])
        return queue

    async def delete_queue(self, queue_id: str) -> None:
        """A queue still referred to, or with work waiting, stays: deleting it would strand
        work or break routing."""
        if await self._store.waiting_items(queue_id, limit=1):
            raise Conflict(f"queue {queue_id} has waiting work")
        if await self._store.queue_agents(queue_id):
            raise Conflict(f"queue {queue_id} still has member agents")
        async for workstream in every(self._store.list_workstreams):
            if workstream.fallback_queue_id == queue_id:
                raise Conflict(f"workstream {workstream.id} falls back to queue {queue_id}")
        async for rule in every(self._store.list_all_rules):
            if rule.queue_id == queue_id:
                raise Conflict(f"rule {rule.id} routes to queue {queue_id}")
        async for queue in every(self._store.list_queues):
            if queue.id != queue_id and queue_id in _redirect_queues(queue):
                raise Conflict(f"queue {queue.id} redirects to queue {queue_id}")
        if not await self._store.delete_queue(queue_id):
            raise NotFound(f"queue {queue_id} does not exist")

    # --- rules ----------------------------------------------------------------------------------

    async def list_rules(self, *, after: str | None, limit: int) -> Page[RoutingRule]:
        return await page_of(self._store.list_all_rules, after=after, limit=limit)

    async def get_rule(self, rule_id: str) -> RoutingRule:
        return existing(await self._store.get_rule(rule_id), f"rule {rule_id}")

    async def put_rule(self, rule_id: str, rule: RoutingRule) -> RoutingRule:
        if await self._store.get_workstream(rule.workstream_id) is None:
            raise BadRequest(
                f"the rule names workstream {rule.workstream_id!r}, which does not exist"
            )
        await self._require_queues([rule.queue_id], "the rule")
        await self._store.put_rule(rule)
        return rule

    async def delete_rule(self, rule_id: str) -> None:
        if not await self._store.delete_rule(rule_id):
            raise NotFound(f"rule {rule_id} does not exist")

    # --- agents ---------------------------------------------------------------------------------

    async def list_agents(self, *, after: str | None, limit: int) -> Page[Agent]:
        return await page_of(self._store.list_agents, after=after, limit=limit)

    async def get_agent(self, agent_id: str) -> Agent:
        return existing(await self._store.get_agent(agent_id), f"agent {agent_id}")

    async def put_agent(self, agent_id: str, agent: Agent) -> Agent:
        """Queues the agent joins (more capacity, new skills) are routed at once."""
        await self._require_queues(agent.queue_ids, "the agent")
        await self._store.put_agent(agent)
        await self._routing.request_routing(sorted(set(agent.queue_ids)))
        return agent

    async def delete_agent(self, agent_id: str) -> None:
        if await self._store.agent_items(agent_id):
            raise Conflict(f"agent {agent_id} still holds work")
        if not await self._store.delete_agent(agent_id):
            raise NotFound(f"agent {agent_id} does not exist")


class BotView(BotConfig):
    """A bot as the admin API shows it: its secret is write-only."""

    secret: Withheld = None


class WorkstreamView(Workstream):
    """A workstream as the admin API shows it: its bot without the secret."""

    bot: BotView | None = Field(
        default=None, description="a first responder before humans; its secret is write-only"
    )
