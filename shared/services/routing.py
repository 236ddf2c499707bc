"""Route: serve a queue's waiting backlog to the eligible agents, best first; offer in push
mode; take lapsed offers back; redirect work out of hours or on overflow; record every
decision for the supervisor's "why did this go there" view."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from shared import telemetry
from shared.bus_messages import ROUTE, RouteRequest
from shared.domain.agent_index import AgentIndex
from shared.domain.routing import Placement, next_opening, place
from shared.domain.routing_config import (
    AssignmentMethod,
    AutomatedEvent,
    Queue,
    WorkDistribution,
    Workstream,
)
from shared.domain.work import (
    AgentState,
    CandidateVerdict,
    PlannedAssignment,
    RoutingDecision,
    WorkItem,
    WorkItemStatus,
)
from shared.ports import (
    AgentStateStore,
    Clock,
    MessageBus,
    RoutingConfigStore,
    RoutingLogStore,
    WorkItemStore,
)
from shared.services.notices import CustomerNotices
from shared.services.presence import PresenceService


class RoutingPorts(RoutingConfigStore, WorkItemStore, AgentStateStore, RoutingLogStore, Protocol):
    """The store ports this service needs."""


log = logging.getLogger(__name__)

BATCH = 50
CYCLE = 200
"""Waiting items one routing cycle plans and hands the store in one batch: larger amortises the
transaction and the reads of the queue's members, smaller keeps a decision's wait for its
cycle short (bench/README.md)."""
MEMBERS_FRESH_FOR = timedelta(milliseconds=250)
"""How long a pass plans on the members it read (and the capacity its own cycles took since)
before reading them again: a presence change is seen within this, or the next cycle if the
store refused part of a batch; capacity is checked by the store in any case."""
SKIP_AFTER_RETURN = timedelta(minutes=5)
"""How long an agent who declined an item (or let its offer lapse) is passed over for it."""
MAX_LEFT_OUT_IN_DECISION = 50
"""A decision that finds no one lists at most this many members left out, and at most this
many its skills rule out, and why."""


@dataclass(frozen=True)
class _Planned:
    item: WorkItem
    workstream: Workstream
    assignment: PlannedAssignment
    agent: AgentState
    """The agent's state after the assignment, as the cycle's indexes must now see it."""


class RoutingService:
    def __init__(
        self,
        store: RoutingPorts,
        bus: MessageBus,
        clock: Clock,
        notices: CustomerNotices,
        *,
        presence: PresenceService | None = None,
    ) -> None:
        self._store = store
        self._bus = bus
        self._clock = clock
        self._notices = notices
        self._presence = presence

    async def follow_capacity(self, agent_id: str) -> None:
        """Automatic presence follows the agent's capacity. Capacity that fills
        never makes an agent eligible; whoever frees capacity requests routing already."""
        if self._presence is not None:
            await self._presence.follow_capacity(agent_id)

    async def request_routing(
        self, queue_ids: Iterable[str], *, item_id: str | None = None
    ) -> None:
        """Ask for each queue to be routed, one router per queue (its session)."""
        for queue_id in queue_ids:
            await self._bus.send(
                ROUTE,
                RouteRequest(queue_id=queue_id, item_id=item_id).model_dump_json(),
                session_id=queue_id,
            )

    async def sweep(self) -> None:
        """The safety net: lapsed offers go back to their queues, backlogs out of hours or
        over their overflow threshold are redirected, and every queue with a backlog gets a
        routing pass."""
        for item in await self._store.offered_items():
            await self._take_back_if_lapsed(item)
        backlogs = set(await self._store.queues_with_waiting_items())
        for queue_id in sorted(backlogs):
            backlogs.add(await self._redirect_backlog(queue_id))
        await self.request_routing(sorted(backlogs))

    async def reconcile_capacity(self) -> None:
        """Heal agents' used capacity left wrong by a crash mid-assignment; capacity it frees
        may serve a backlog, so a sweep follows a correction."""
        corrected = await self._store.reconcile_capacity()
        if corrected:
            log.warning("capacity of %d agents recomputed from their items", corrected)
            await self.sweep()

    # --- placement: operating hours and overflow ----------------------------------------------

    async def placement(self, queue_id: str) -> Placement:
        """Where work meant for the queue goes now. The backlog is read only for a queue with
        an overflow rule."""
        queue = await self._store.get_queue(queue_id)
        if queue is None or (queue.operating_hours is None and queue.overflow is None):
            return Placement(queue_id=queue_id)
        now = self._clock.now()
        waiting, oldest = (0, None)
        if queue.overflow is not None:
            waiting, oldest = await self._store.queue_backlog(queue_id)
        longest = timedelta(0) if oldest is None else now - oldest
        return place(queue, at=now, waiting=waiting, longest_wait=longest)

    async def overflow_due(self, queue_id: str) -> None:
        """The instant a queue's oldest waiting item passes the overflow wait: the backlog goes
        where the queue's placement now says, and is routed there."""
        target = await self._redirect_backlog(queue_id)
        if target != queue_id:
            await self.request_routing([target])

    async def _schedule_overflow_check(self, queue: Queue) -> None:
        """Overflow by longest wait takes effect at its instant, not at the next sweep: while
        work waits in a queue with such a rule, a check is scheduled for when its oldest item
        passes the threshold (one per instant, however many passes ask)."""
        rule = queue.overflow
        if rule is None or rule.max_wait_seconds is None:
            return
        waiting, oldest = await self._store.queue_backlog(queue.id)
        if not waiting or oldest is None:
            return
        due = max(oldest + timedelta(seconds=rule.max_wait_seconds), self._clock.now())
        await self._bus.send(
            ROUTE,
            RouteRequest(queue_id=queue.id, overflow_due=True).model_dump_json(),
            session_id=queue.id,
            message_id=f"overflow:{queue.id}:{due.isoformat()}",
            not_before=due,
        )

    async def _redirect_backlog(self, queue_id: str) -> str:
        """Move the queue's waiting work where its placement says; returns where that is."""
        placement = await self.placement(queue_id)
        if placement.queue_id == queue_id:
            if placement.message:
                await self._tell_backlog(queue_id, placement)
            return queue_id
        while waiting := await self._store.waiting_items(queue_id, limit=BATCH):
            for item in waiting:
                moved = await self._store.move_waiting_item(item.id, placement.queue_id)
                if moved is not None:
                    await self.redirected(moved, placement, from_queue_id=queue_id)
        return placement.queue_id

    async def _tell_backlog(self, queue_id: str, placement: Placement) -> None:
        """A message-only redirect (out of hours or overflow, no other queue): the work stays,
        and each waiting customer is told once. The message's id derives from the item and the
        queue (as at ingest), so it is its own memory: an item told at arrival, or by an
        earlier sweep, is not told again, and only a first telling is recorded."""
        waiting, _ = await self._store.queue_backlog(queue_id)
        if not waiting:
            return
        for item in await self._store.waiting_items(queue_id, limit=waiting):
            key = f"{item.id}:{queue_id}"
            if await self._notices.send(item.conversation_id, placement.message or "", key=key):
                await self.record_decision(
                    item, reason=f"{placement.reason}: told, waits in queue {queue_id}"
                )

    async def redirected(self, item: WorkItem, placement: Placement, *, from_queue_id: str) -> None:
        """Record why work did not (only) wait where its rule sent it, and tell the customer,
        if the queue says what."""
        where = (
            f"waits in queue {item.queue_id}"
            if item.queue_id == from_queue_id
            else f"redirected from queue {from_queue_id} to {item.queue_id}"
        )
        log.info("item %s %s (%s)", item.id, where, placement.reason)
        await self.record_decision(item, reason=f"{placement.reason}: {where}")
        if placement.message:
            await self._notices.send(
                item.conversation_id, placement.message, key=f"{item.id}:{from_queue_id}"
            )

    async def _route_at_opening(
        self, queue_id: str, opens: datetime | None, *, explain_item_id: str | None
    ) -> None:
        """A closed queue assigns nothing: its backlog is routed, oldest first, by a route
        request scheduled for the instant it opens (one per opening, however many ask)."""
        if explain_item_id is not None:
            item = await self._store.get_work_item(explain_item_id)
            if item is not None and item.status == WorkItemStatus.WAITING:
                until = "no opening ahead" if opens is None else f"until {opens.isoformat()}"
                await self.record_decision(item, reason=f"queue closed {until}: it waits")
        if opens is None:
            log.warning("queue %s has no opening ahead: its work waits", queue_id)
            return
        await self._bus.send(
            ROUTE,
            RouteRequest(queue_id=queue_id).model_dump_json(),
            session_id=queue_id,
            message_id=f"opening:{queue_id}:{opens.isoformat()}",
            not_before=opens,
        )

    # --- offers ---------------------------------------------------------------------------------

    async def lapse_offer(self, item_id: str) -> None:
        """The instant an offer was scheduled to lapse: taken back if still on offer past its
        expiry (accepted, declined or re-offered since, it is left alone)."""
        item = await self._store.get_work_item(item_id)
        if item is not None:
            await self._take_back_if_lapsed(item)

    async def _take_back_if_lapsed(self, item: WorkItem) -> None:
        expires = item.offer_expires_at
        lapsed = expires is not None and expires <= self._clock.now()
        if item.status == WorkItemStatus.OFFERED and lapsed and item.agent_id is not None:
            await self.return_offer(item, item.agent_id, why="let the offer lapse")

    async def _schedule_lapse(self, item: WorkItem, until: datetime) -> None:
        """One scheduled message per offer, at its expiry, in its queue's session (Service
        Bus scheduled enqueue; the local bus's delay): the offer lapses on time, the sweep
        being only the safety net for a message a crash lost."""
        await self._bus.send(
            ROUTE,
            RouteRequest(queue_id=item.queue_id, lapsing_item_id=item.id).model_dump_json(),
            session_id=item.queue_id,
            message_id=f"offer-lapse:{item.id}:{until.isoformat()}",
            not_before=until,
        )

    async def return_offer(self, item: WorkItem, agent_id: str, *, why: str) -> WorkItem | None:
        """An offer declined or lapsed: the item waits again at its place, the agent is
        skipped for it a while, and its queue is routed for it at once."""
        now = self._clock.now()
        returned = await self._store.return_to_queue(item.id, agent_id, now + SKIP_AFTER_RETURN)
        if returned is None:
            return None
        await self.follow_capacity(agent_id)
        await self.record_decision(
            returned,
            reason=f"agent {agent_id} {why}: back to its place in the queue",
            candidates=(CandidateVerdict(agent_id=agent_id, skipped=why),),
        )
        await self.request_routing([returned.queue_id], item_id=returned.id)
        return returned

    # --- routing a queue --------------------------------------------------------------------------

    async def route_queue(
        self, queue_id: str, *, explain_item_id: str | None = None
    ) -> list[WorkItem]:
        """Assign (or offer) waiting items, by priority then age, until none is left or none
        fits; pick-mode work waits for an agent to pick it.

        A cycle reads up to CYCLE waiting items and the members once, indexes the eligible
        members by the queue's method (shared/domain/agent_index.py) so a decision takes the
        best off the top, plans every item against the capacity the ones before it take, and
        hands the plan to the store's `assign_batch`: one transaction on SQLite, which checks
        each assignment as `assign` does and stops at the first that no longer holds, so
        routers racing on one agent cannot push it over capacity. A cycle stopped short
        (another router won a race) re-reads and plans again from the refused item. After a
        cycle committed in full, the next one plans on the same members and indexes (they
        count what it gave) for up to MEMBERS_FRESH_FOR; then it reads the members again.
        """
        queue = await self._store.get_queue(queue_id)
        if queue is None:
            log.warning("route request for unknown queue %s dropped", queue_id)
            return []
        if queue.operating_hours is not None:
            now = self._clock.now()
            opens = next_opening(queue.operating_hours, now)
            if opens != now:
                await self._route_at_opening(queue_id, opens, explain_item_id=explain_item_id)
                return []
        cursor = None
        round_robin = queue.assignment_method == AssignmentMethod.ROUND_ROBIN
        if round_robin:
            cursor = await self._store.round_robin_cursor(queue_id)
        assigned: list[WorkItem] = []
        workstreams: dict[str, Workstream | None] = {}
        exhausted: set[str] = set()
        """Workstreams whose index the last cycle, committed in full, left without an agent
        with capacity: another cycle could give their items to no one, so it reads no members
        for them (whoever frees capacity, or comes back, requests routing of their own), unless
        it has an item to explain."""
        members: dict[str, AgentState] = {}
        """The queue's members as the store read them, each as the cycles since have left it."""
        members_read_at: datetime | None = None
        indexes: dict[str, AgentIndex] = {}
        while True:
            now = self._clock.now()
            waiting = await self._store.waiting_items(queue_id, limit=CYCLE)
            if exhausted and all(
                item.workstream_id in exhausted and item.id != explain_item_id for item in waiting
            ):
                await self._schedule_overflow_check(queue)
                return assigned
            if members_read_at is None or now - members_read_at >= MEMBERS_FRESH_FOR:
                members = {m.agent.id: m for m in await self._store.queue_agents(queue_id)}
                members_read_at, indexes = now, {}
            planned: list[_Planned] = []
            for item in waiting:
                if item.workstream_id not in workstreams:
                    workstreams[item.workstream_id] = await self._store.get_workstream(
                        item.workstream_id
                    )
                workstream = workstreams[item.workstream_id]
                if workstream is None or workstream.distribution == WorkDistribution.PICK:
                    continue
                if workstream.id not in indexes:
                    indexes[workstream.id] = AgentIndex(
                        queue, workstream, list(members.values()), last_assigned_agent_id=cursor
                    )
                plan = await self._plan(
                    item,
                    queue,
                    workstream,
                    indexes[workstream.id],
                    now,
                    explain=item.id == explain_item_id,
                )
                if plan is None:
                    continue
                # The cycle's indexes see the agent as if it had the item already: the next
                # items are planned against the capacity this one takes.
                for index in indexes.values():
                    index.assigned(plan.agent)
                members[plan.agent.agent.id] = plan.agent
                cursor = plan.agent.agent.id
                planned.append(plan)
            given = await self._store.assign_batch(
                [p.assignment for p in planned], now, round_robin=round_robin
            )
            for plan, won in zip(planned, given, strict=False):
                await self._announce(won, plan, now)
            assigned.extend(given)
            if len(given) < len(planned):
                # Another router took the refused item, or the agent's capacity, since the
                # cycle read them: the next cycle re-reads both and plans again from there.
                log.info(
                    "routing cycle of queue %s stopped at item %s: re-planning",
                    queue_id,
                    planned[len(given)].item.id,
                )
                cursor = given[-1].agent_id if given else await self._cursor(queue_id, round_robin)
                exhausted, members_read_at = set(), None
                continue
            if not planned or len(waiting) < CYCLE:
                await self._schedule_overflow_check(queue)
                return assigned
            exhausted = {workstream_id for workstream_id, index in indexes.items() if not index}

    async def _cursor(self, queue_id: str, round_robin: bool) -> str | None:
        return await self._store.round_robin_cursor(queue_id) if round_robin else None

    async def _plan(
        self,
        item: WorkItem,
        queue: Queue,
        workstream: Workstream,
        index: AgentIndex,
        now: datetime,
        *,
        explain: bool,
    ) -> _Planned | None:
        """The best agent for the item in the cycle's index, with the decision that records
        it; None (the item waits) if no one fits, recorded only for an item being explained."""
        candidate, skipped = index.choose(item, now)
        if candidate is None:
            if explain:
                lacking = index.lacking_skills(item)[:MAX_LEFT_OUT_IN_DECISION]
                left_out = sorted(index.left_out.items())[:MAX_LEFT_OUT_IN_DECISION]
                await self.record_decision(
                    item,
                    reason=f"no eligible agent among {len(index) + len(index.left_out)} "
                    "members: it waits",
                    method=queue.assignment_method,
                    candidates=(
                        *skipped,
                        *lacking,
                        *(CandidateVerdict(agent_id=a, skipped=why) for a, why in left_out),
                    ),
                )
            return None
        agent_id = candidate.agent.id
        offer_until = (
            None
            if workstream.offer_timeout_seconds is None
            else now + timedelta(seconds=workstream.offer_timeout_seconds)
        )
        action = "assigned" if offer_until is None else "offered"
        # Built from values already validated (the item and agents as the store read them, the
        # queue's method): model_construct skips validating them again, 10,000 times a second.
        decision = RoutingDecision.model_construct(
            id=uuid.uuid4().hex,
            item_id=item.id,
            conversation_id=item.conversation_id,
            queue_id=item.queue_id,
            decided_at=now,
            method=queue.assignment_method,
            mode=WorkDistribution.PUSH,
            candidates=(
                *skipped,
                CandidateVerdict.model_construct(agent_id=agent_id, skipped=None),
            ),
            chosen_agent_id=agent_id,
            reason=f"{action} by {queue.assignment_method}",
        )
        return _Planned(
            item=item,
            workstream=workstream,
            assignment=PlannedAssignment.model_construct(
                item_id=item.id, agent_id=agent_id, offer_until=offer_until, decision=decision
            ),
            agent=candidate.model_copy(
                update={
                    "used_capacity": candidate.used_capacity + item.capacity_units,
                    "last_assigned_at": now,
                    "idle_since": None,
                }
            ),
        )

    async def _announce(self, won: WorkItem, plan: _Planned, now: datetime) -> None:
        """What follows an assignment the store made: presence follows capacity, the customer
        is told (an offer is told when accepted), an offer's lapse is scheduled."""
        agent_id = plan.assignment.agent_id
        offer_until = plan.assignment.offer_until
        log.debug("item %s %s to agent %s", won.id, won.status, agent_id)
        telemetry.work_given(won, now, offered=offer_until is not None)
        await self.follow_capacity(agent_id)
        if offer_until is None:
            await self._notices.announce(
                won, AutomatedEvent.AGENT_ASSIGNED, workstream=plan.workstream, agent_id=agent_id
            )
        else:
            await self._schedule_lapse(won, offer_until)

    async def record_decision(
        self,
        item: WorkItem,
        *,
        reason: str,
        method: AssignmentMethod | None = None,
        candidates: tuple[CandidateVerdict, ...] = (),
        chosen_agent_id: str | None = None,
        mode: WorkDistribution = WorkDistribution.PUSH,
    ) -> None:
        await self._store.record_routing_decision(
            RoutingDecision(
                id=uuid.uuid4().hex,
                item_id=item.id,
                conversation_id=item.conversation_id,
                queue_id=item.queue_id,
                decided_at=self._clock.now(),
                method=method,
                mode=mode,
                candidates=candidates,
                chosen_agent_id=chosen_agent_id,
                reason=reason,
            )
        )
