"""Who is calling: a principal (the token's subject) and its roles."""

from __future__ import annotations

from enum import StrEnum

from shared.domain.base import Model


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Principal(Model):
    subject: str
    roles: frozenset[Role]
    name: str | None = None
