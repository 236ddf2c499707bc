"""An index of one queue's eligible agents, ordered by the queue's assignment method, so a
routing decision takes the best agent off the top instead of ranking every member.

Built once per routing pass from the queue's members (one store query); agents whose presence
the workstream does not allow, or with no capacity left, are left out at build time. Then:
- highest capacity, least active, most idle: a binary heap on the method's key (the key of
  `rank_agents`), with lazy deletion: a decision pops O(log n), an assignment re-keys one agent;
- round robin: the eligible agents sorted by their place in the rotation; a decision bisects
  to the place after the cursor, O(log n).
A decision walks past only the agents it must skip (missing skills for exact matching, too
little capacity for this item, skipped after a decline): each such agent is a recorded verdict.
Closest skill matching with required skills ranks by skill gap first, which no single key
orders: it ranks the eligible agents of the index (never the ineligible members).

Pure: it chooses, the store assigns. The choice equals the head of `rank_agents`.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterable, Iterator
from datetime import datetime

from shared.domain.routing import method_key, rotation_key, skill_gap
from shared.domain.routing_config import AssignmentMethod, Queue, SkillMatching, Workstream
from shared.domain.work import AgentState, CandidateVerdict, WorkItem

_Key = tuple[object, ...]


def exclusion(agent: AgentState, queue: Queue, workstream: Workstream) -> str | None:
    """Why a member can take no work of this workstream now; None if it may."""
    if queue.id not in agent.agent.queue_ids:
        return "not a member of the queue"
    if agent.presence not in workstream.allowed_presences:
        return f"presence {agent.presence} is not allowed by the workstream"
    if agent.remaining_capacity <= 0:
        return "no capacity left"
    return None


class AgentIndex:
    def __init__(
        self,
        queue: Queue,
        workstream: Workstream,
        members: Iterable[AgentState],
        *,
        last_assigned_agent_id: str | None,
    ) -> None:
        self._queue = queue
        self._workstream = workstream
        self._round_robin = queue.assignment_method == AssignmentMethod.ROUND_ROBIN
        self._cursor: _Key | None = None
        self._agents: dict[str, AgentState] = {}
        self._keys: dict[str, _Key] = {}
        self._heap: list[tuple[_Key, str]] = []
        self._rotation: list[tuple[_Key, str]] = []
        self.left_out: dict[str, str] = {}
        """Members not in the index, and why: what a decision that finds no one reports."""
        member_ids = set()
        for member in members:
            member_ids.add(member.agent.id)
            self.update(member)
        # The rotation resumes after the agent assigned last, if still a member (eligible or
        # not); otherwise from the start.
        if last_assigned_agent_id in member_ids:
            self._cursor = rotation_key(queue, last_assigned_agent_id)

    def __len__(self) -> int:
        return len(self._agents)

    def _key(self, agent: AgentState) -> _Key:
        if self._round_robin:
            return (*rotation_key(self._queue, agent.agent.id),)
        return (*method_key(self._queue.assignment_method, agent), agent.agent.id)

    def update(self, agent: AgentState) -> None:
        """Take the agent's current state: re-keyed, or left out if no longer eligible."""
        agent_id = agent.agent.id
        reason = exclusion(agent, self._queue, self._workstream)
        if reason is None and self._keys.get(agent_id) == self._key(agent):
            self._agents[agent_id] = agent  # same place in the order: nothing to move
            return
        old_key = self._keys.pop(agent_id, None)
        self._agents.pop(agent_id, None)
        if old_key is not None and self._round_robin:
            self._rotation.pop(bisect.bisect_left(self._rotation, (old_key, agent_id)))
        # A heap entry whose key is not the agent's current one is stale: skipped when met.
        if reason is not None:
            self.left_out[agent_id] = reason
            return
        self.left_out.pop(agent_id, None)
        key = self._key(agent)
        self._agents[agent_id] = agent
        self._keys[agent_id] = key
        if self._round_robin:
            bisect.insort(self._rotation, (key, agent_id))
        else:
            heapq.heappush(self._heap, (key, agent_id))

    def assigned(self, agent: AgentState) -> None:
        """The agent just got work: its new state, and the rotation moves past it."""
        self.update(agent)
        self._cursor = rotation_key(self._queue, agent.agent.id)

    def _in_rotation_order(self) -> Iterator[str]:
        start = (
            0
            if self._cursor is None
            else bisect.bisect_right(self._rotation, (self._cursor, "\U0010ffff"))
        )
        for _, agent_id in self._rotation[start:] + self._rotation[:start]:
            yield agent_id

    def _in_heap_order(self) -> Iterator[str]:
        """Pops lazily; whatever was popped goes back when the walk stops."""
        popped: list[tuple[_Key, str]] = []
        try:
            while self._heap:
                entry = heapq.heappop(self._heap)
                key, agent_id = entry
                if self._keys.get(agent_id) != key:
                    continue  # stale
                popped.append(entry)
                yield agent_id
        finally:
            for entry in popped:
                heapq.heappush(self._heap, entry)

    def _ordered(self, item: WorkItem) -> Iterator[str]:
        if self._queue.skill_matching == SkillMatching.CLOSEST and item.required_skills:
            in_order = (
                list(self._in_rotation_order())
                if self._round_robin
                else sorted(self._agents, key=self._keys.__getitem__)
            )
            gaps = {a: skill_gap(self._agents[a].agent, item.required_skills) for a in in_order}
            return iter(sorted(in_order, key=gaps.__getitem__))  # stable: method order kept
        return self._in_rotation_order() if self._round_robin else self._in_heap_order()

    def _verdict(self, agent: AgentState, item: WorkItem, now: datetime) -> str | None:
        skipped_until = item.skipped_agents.get(agent.agent.id)
        if skipped_until is not None and skipped_until > now:
            return f"declined it or let its offer lapse; skipped until {skipped_until.isoformat()}"
        if agent.remaining_capacity < item.capacity_units:
            return (
                f"{agent.remaining_capacity} capacity units left, "
                f"the item needs {item.capacity_units}"
            )
        if self._queue.skill_matching == SkillMatching.EXACT and skill_gap(
            agent.agent, item.required_skills
        ) != (0, 0):
            return "lacks a required skill at the required proficiency"
        return None

    def choose(
        self, item: WorkItem, now: datetime, *, passed: Iterable[str] = ()
    ) -> tuple[AgentState | None, list[CandidateVerdict]]:
        """The best agent for the item, with the verdicts on every agent looked at before it.
        `passed`: agents already tried for this item (the store refused them)."""
        verdicts: list[CandidateVerdict] = []
        passed = set(passed)
        walk = self._ordered(item)
        try:
            for agent_id in walk:
                if agent_id in passed:
                    continue
                agent = self._agents[agent_id]
                reason = self._verdict(agent, item, now)
                if reason is None:
                    return agent, verdicts
                verdicts.append(CandidateVerdict(agent_id=agent_id, skipped=reason))
        finally:
            close = getattr(walk, "close", None)
            if close is not None:
                close()  # puts popped heap entries back
        return None, verdicts
