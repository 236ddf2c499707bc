"""Admin routes, one module per resource: channels, campaigns, routing configuration, settings."""

from __future__ import annotations

from fastapi import APIRouter

from functions.dependencies import require
from shared.auth import Role


def admin_router(*tags: str) -> APIRouter:
    """A router for admin routes: under /api/admin, and for the admin role only."""
    return APIRouter(prefix="/api/admin", tags=["admin", *tags], dependencies=[require(Role.ADMIN)])
