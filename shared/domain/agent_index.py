"""An index of one queue's eligible agents, ordered by the queue's assignment method, so a
routing decision takes the best agent off the top instead of ranking every member.

Built once per routing pass from the queue's members (one store query); agents whose presence
the workstream does not allow, or with no capacity left, are left out at build time.

Agents are kept in one order per required-skill set (`_SkillView`), so a decision looks only
at agents its item's skills allow and ranks them without sorting:
- no required skills: every eligible agent, in the method's order;
- exact matching: only the agents with every required skill at the required proficiency, in
  the method's order (the others never come up, instead of being walked past one by one);
- closest matching: every eligible agent, in tiers by skill gap (`skill_gap`, best first),
  each tier in the method's order.
The view for the items without skills is built with the index; the others lazily, from the
eligible agents, the first time an item asks for that skill set. An agent's new state
(`update`, `assigned`) is applied to every view built so far, so capacity an agent takes for
one item is seen by items of every other skill set.

Each order is, per method:
- highest capacity, least active, most idle: a binary heap on the method's key (the key of
  `rank_agents`), with lazy deletion: a decision pops O(log n), an assignment re-keys one agent;
- round robin: the agents sorted by their place in the rotation; a decision bisects to the
  place after the cursor, O(log n).
A decision walks past only the agents it must skip (too little capacity for this item, skipped
after a decline): each such agent is a recorded verdict.

Pure: it chooses, the store assigns. The choice equals the head of `rank_agents`.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Generator, Iterable
from datetime import datetime

from shared.domain.routing import method_key, rotation_key, skill_gap
from shared.domain.routing_config import AssignmentMethod, Queue, Skill, SkillMatching, Workstream
from shared.domain.work import AgentState, CandidateVerdict, WorkItem

_Key = tuple[object, ...]
_Gap = tuple[int, int]
_SkillSet = tuple[tuple[str, int], ...]
"""Required skills as a sorted multiset of (case-folded name, proficiency): items asking for
the same skills, however spelled or ordered, share a view (`skill_gap` depends on nothing
else)."""

_NO_SKILLS: _SkillSet = ()
_EXACT: _Gap = (0, 0)
LACKS_SKILL = "lacks a required skill at the required proficiency"


def exclusion(agent: AgentState, queue: Queue, workstream: Workstream) -> str | None:
    """Why a member can take no work of this workstream now; None if it may."""
    if queue.id not in agent.agent.queue_ids:
        return "not a member of the queue"
    if agent.presence not in workstream.allowed_presences:
        return f"presence {agent.presence} is not allowed by the workstream"
    if agent.remaining_capacity <= 0:
        return "no capacity left"
    return None


def skill_set(required: Iterable[Skill]) -> _SkillSet:
    return tuple(sorted((skill.name.casefold(), skill.proficiency) for skill in required))


class _Order:
    """A set of agents in the queue's order: a heap on the method's key with lazy deletion,
    or the rotation (round robin), a sorted list."""

    def __init__(self, round_robin: bool) -> None:
        self._round_robin = round_robin
        self._keys: dict[str, _Key] = {}
        self._heap: list[tuple[_Key, str]] = []
        self._rotation: list[tuple[_Key, str]] = []

    def __len__(self) -> int:
        return len(self._keys)

    def put(self, agent_id: str, key: _Key) -> None:
        """Adds the agent, or moves it to its new key."""
        if self._keys.get(agent_id) == key:
            return
        self.remove(agent_id)
        self._keys[agent_id] = key
        if self._round_robin:
            bisect.insort(self._rotation, (key, agent_id))
        else:
            heapq.heappush(self._heap, (key, agent_id))

    def remove(self, agent_id: str) -> None:
        old_key = self._keys.pop(agent_id, None)
        if old_key is not None and self._round_robin:
            self._rotation.pop(bisect.bisect_left(self._rotation, (old_key, agent_id)))
        # A heap entry whose key is not the agent's current one is stale: skipped when met.

    def walk(self, cursor: _Key | None) -> Generator[str]:
        """The agents best first; round robin starts after the cursor."""
        if self._round_robin:
            start = (
                0 if cursor is None else bisect.bisect_right(self._rotation, (cursor, "\U0010ffff"))
            )
            for _, agent_id in self._rotation[start:] + self._rotation[:start]:
                yield agent_id
            return
        # Pops lazily; whatever was popped goes back when the walk stops.
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


class _SkillView:
    """The eligible agents an item with these required skills may go to, in tiers by skill
    gap (exact matching keeps only the exact tier), each tier an `_Order`."""

    def __init__(self, required: tuple[Skill, ...], *, closest: bool, round_robin: bool) -> None:
        self._required = required
        self._closest = closest
        self._round_robin = round_robin
        self._tiers: dict[_Gap, _Order] = {}
        self._tier_of: dict[str, _Gap] = {}
        self._gaps: dict[str, tuple[tuple[Skill, ...], _Gap]] = {}

    def put(self, agent: AgentState, key: _Key) -> None:
        agent_id = agent.agent.id
        gap = self._gap(agent)
        if gap != _EXACT and not self._closest:
            self.remove(agent_id)
            return
        old_gap = self._tier_of.get(agent_id)
        if old_gap is not None and old_gap != gap:
            self._tiers[old_gap].remove(agent_id)
        self._tier_of[agent_id] = gap
        tier = self._tiers.get(gap)
        if tier is None:
            tier = self._tiers[gap] = _Order(self._round_robin)
        tier.put(agent_id, key)

    def _gap(self, agent: AgentState) -> _Gap:
        """The agent's skill gap, computed again only if its skills are not the ones it was
        computed for (an assignment's new state shares the agent's skills)."""
        if not self._required:
            return _EXACT
        skills = agent.agent.skills
        known = self._gaps.get(agent.agent.id)
        if known is not None and known[0] is skills:
            return known[1]
        gap = skill_gap(agent.agent, self._required)
        self._gaps[agent.agent.id] = (skills, gap)
        return gap

    def remove(self, agent_id: str) -> None:
        gap = self._tier_of.pop(agent_id, None)
        if gap is not None:
            self._tiers[gap].remove(agent_id)

    def __contains__(self, agent_id: str) -> bool:
        return agent_id in self._tier_of

    def walk(self, cursor: _Key | None) -> Generator[str]:
        for gap in sorted(self._tiers):
            yield from self._tiers[gap].walk(cursor)


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
        self._closest = queue.skill_matching == SkillMatching.CLOSEST
        self._cursor: _Key | None = None
        self._agents: dict[str, AgentState] = {}
        self._keys: dict[str, _Key] = {}
        self._views: dict[_SkillSet, _SkillView] = {
            _NO_SKILLS: _SkillView((), closest=self._closest, round_robin=self._round_robin)
        }
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
        """Take the agent's current state, in every view: re-keyed, or left out if no longer
        eligible."""
        agent_id = agent.agent.id
        reason = exclusion(agent, self._queue, self._workstream)
        if reason is not None:
            self._agents.pop(agent_id, None)
            self._keys.pop(agent_id, None)
            for view in self._views.values():
                view.remove(agent_id)
            self.left_out[agent_id] = reason
            return
        self.left_out.pop(agent_id, None)
        key = self._key(agent)
        self._agents[agent_id] = agent
        self._keys[agent_id] = key
        for view in self._views.values():
            view.put(agent, key)

    def assigned(self, agent: AgentState) -> None:
        """The agent just got work: its new state, and the rotation moves past it."""
        self.update(agent)
        self._cursor = rotation_key(self._queue, agent.agent.id)

    def _view(self, item: WorkItem) -> _SkillView:
        """The item's view, built from the eligible agents the first time its skills come up."""
        skills = skill_set(item.required_skills)
        view = self._views.get(skills)
        if view is None:
            view = self._views[skills] = _SkillView(
                item.required_skills, closest=self._closest, round_robin=self._round_robin
            )
            for agent_id, agent in self._agents.items():
                view.put(agent, self._keys[agent_id])
        return view

    def _verdict(self, agent: AgentState, item: WorkItem, now: datetime) -> str | None:
        skipped_until = item.skipped_agents.get(agent.agent.id)
        if skipped_until is not None and skipped_until > now:
            return f"declined it or let its offer lapse; skipped until {skipped_until.isoformat()}"
        if agent.remaining_capacity < item.capacity_units:
            return (
                f"{agent.remaining_capacity} capacity units left, "
                f"the item needs {item.capacity_units}"
            )
        return None

    def choose(
        self, item: WorkItem, now: datetime, *, passed: Iterable[str] = ()
    ) -> tuple[AgentState | None, list[CandidateVerdict]]:
        """The best agent for the item, with the verdicts on every agent looked at before it.
        `passed`: agents already tried for this item (the store refused them). Agents exact
        matching rules out for their skills are not looked at (`lacking_skills` lists them)."""
        verdicts: list[CandidateVerdict] = []
        passed = set(passed)
        walk = self._view(item).walk(self._cursor)
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
            walk.close()  # puts popped heap entries back
        return None, verdicts

    def lacking_skills(self, item: WorkItem) -> list[CandidateVerdict]:
        """The eligible agents exact matching passes over for the item's skills, and why: what
        a decision that finds no one reports (a decision that finds someone never looks at
        them)."""
        view = self._view(item)
        return [
            CandidateVerdict(agent_id=agent_id, skipped=LACKS_SKILL)
            for agent_id in sorted(self._agents)
            if agent_id not in view
        ]
