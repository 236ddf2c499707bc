"""The agent console: a static page, its script and its style, served at /agent/ (no build
step). It talks to the agent API with the agent's bearer token, like any other client."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import Response

from functions.http_chat import PAGE_HEADERS
from shared.errors import NotFound

router = APIRouter(tags=["console"])

_STATIC = resources.files("shared") / "console"
FILES = {
    "": ("index.html", "text/html; charset=utf-8"),
    "console.js": ("console.js", "text/javascript; charset=utf-8"),
    "console.css": ("console.css", "text/css; charset=utf-8"),
}


@router.get("/agent/", include_in_schema=False)
@router.get("/agent/{name}", include_in_schema=False)
async def console_file(name: str = "") -> Response:
    found = FILES.get(name)
    if found is None:
        raise NotFound(f"no console file {name!r}")
    file_name, media_type = found
    return Response(
        (_STATIC / file_name).read_text(encoding="utf-8"),
        media_type=media_type,
        headers={**PAGE_HEADERS, "Cache-Control": "no-cache"},
    )
