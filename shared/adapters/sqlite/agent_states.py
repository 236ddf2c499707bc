"""AgentStateStore on SQLite: presence, capacity in use and presence spans."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date, datetime

from shared.adapters.sqlite.tables import (
    HOLDING_PLACEHOLDERS,
    HOLDING_STATUSES,
    SqliteBase,
    doc_json,
    parse_agent,
)
from shared.domain.presence import (
    Presence,
    PresenceChange,
    PresenceSpan,
    PresenceState,
)
from shared.domain.routing import idle_since
from shared.domain.work import AgentState
from shared.ports import PresenceUpdate


class SqliteAgentStates(SqliteBase):
    # An agent's record with its live state in one row: used capacity is summed from its
    # items through the items_by_agent index.
    _AGENT_STATE_SQL = (
        "SELECT a.doc, p.presence, p.last_assigned_at, p.released_at, "  # noqa: S608
        "json_extract(p.state, '$.since') AS presence_since, "
        "(SELECT COALESCE(SUM(w.capacity_units), 0) FROM work_items w "
        f"WHERE w.agent_id = a.id AND w.status IN ({HOLDING_PLACEHOLDERS})) AS used "
        "FROM agents a LEFT JOIN agent_presence p ON p.agent_id = a.id "
    )

    @staticmethod
    def _agent_state(row: sqlite3.Row) -> AgentState:
        agent = parse_agent(row["doc"])
        used = int(row["used"])
        last, released = row["last_assigned_at"], row["released_at"]
        since = row["presence_since"]
        # Every part is validated already (the agent's document, the columns parsed here).
        return AgentState.model_construct(
            presence_since=datetime.fromisoformat(since) if since else None,
            agent=agent,
            presence=Presence(row["presence"]) if row["presence"] else agent.default_presence,
            used_capacity=used,
            last_assigned_at=datetime.fromisoformat(last) if last else None,
            idle_since=idle_since(used, datetime.fromisoformat(released) if released else None),
        )

    async def queue_agents(self, queue_id: str) -> Sequence[AgentState]:
        return await self._db.atomic(
            lambda db: [
                self._agent_state(row)
                for row in db.execute(
                    self._AGENT_STATE_SQL + "JOIN agent_queues q ON q.agent_id = a.id "
                    "WHERE q.queue_id = ? ORDER BY a.id",
                    (*HOLDING_STATUSES, queue_id),
                ).fetchall()
            ]
        )

    async def agent_state(self, agent_id: str) -> AgentState | None:
        def read(db: sqlite3.Connection) -> AgentState | None:
            row = db.execute(
                self._AGENT_STATE_SQL + "WHERE a.id = ?", (*HOLDING_STATUSES, agent_id)
            ).fetchone()
            return None if row is None else self._agent_state(row)

        return await self._db.atomic(read)

    async def set_presence(self, agent_id: str, presence: Presence) -> None:
        await self._db.atomic(
            lambda db: db.execute(
                "INSERT INTO agent_presence (agent_id, presence) VALUES (?, ?) "
                "ON CONFLICT (agent_id) DO UPDATE SET presence = excluded.presence",
                (agent_id, presence),
            )
        )

    async def reconcile_capacity(self) -> int:
        # Used capacity is summed from the items in the same transaction as each assignment:
        # there is no second record to drift.
        return 0

    async def change_presence(self, agent_id: str, change: PresenceUpdate) -> PresenceChange | None:
        def apply(db: sqlite3.Connection) -> PresenceChange | None:
            row = db.execute(
                self._AGENT_STATE_SQL + "WHERE a.id = ?", (*HOLDING_STATUSES, agent_id)
            ).fetchone()
            if row is None:
                return None
            live = self._agent_state(row)
            stored = db.execute(
                "SELECT state FROM agent_presence WHERE agent_id = ?", (agent_id,)
            ).fetchone()
            state = PresenceState.model_validate_json(stored[0]) if stored and stored[0] else None
            new = change(state, live)
            if new is None:
                return PresenceChange(before=live.presence, after=live.presence, state=state)
            db.execute(
                "INSERT INTO agent_presence (agent_id, presence, state) VALUES (?, ?, ?) "
                "ON CONFLICT (agent_id) DO UPDATE SET presence = excluded.presence, "
                "state = excluded.state",
                (agent_id, new.presence, doc_json(new)),
            )
            return PresenceChange(before=live.presence, after=new.presence, state=new)

        return await self._db.atomic(apply)

    async def list_agent_states(self, *, after: str | None, limit: int) -> Sequence[AgentState]:
        return await self._db.atomic(
            lambda db: [
                self._agent_state(row)
                for row in db.execute(
                    self._AGENT_STATE_SQL + "WHERE a.id > ? ORDER BY a.id LIMIT ?",
                    (*HOLDING_STATUSES, after or "", limit),
                ).fetchall()
            ]
        )

    async def put_presence_span(self, day: date, span: PresenceSpan) -> None:
        await self._db.atomic(
            lambda db: db.execute(
                "INSERT INTO presence_spans (day, id, doc) VALUES (?, ?, ?) "
                "ON CONFLICT (day, id) DO UPDATE SET doc = excluded.doc",
                (day.isoformat(), span.id, doc_json(span)),
            )
        )

    async def presence_spans(self, day: date) -> Sequence[PresenceSpan]:
        return await self._query(
            PresenceSpan,
            "SELECT doc FROM presence_spans WHERE day = ? ORDER BY id",
            (day.isoformat(),),
        )
