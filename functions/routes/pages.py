"""The static pages: the agent console at /agent/ and the supervisor page at /supervisor/, each
a page, its script and its style (no build step), served with the same security headers. They
talk to the API with the user's bearer token, like any other client."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import Response

from functions.routes.chat import PAGE_HEADERS
from shared.errors import NotFound

router = APIRouter(tags=["console"])

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
# The files each page serves ("" is the page), as (folder in the `shared` package, file): its
# own, and what the staff pages share from shared/web/.
_COMMON = {"common.js": ("web", "common.js"), "common.css": ("web", "common.css")}
PAGES = {
    "agent": {
        "": ("console", "index.html"),
        "console.js": ("console", "console.js"),
        "console.css": ("console", "console.css"),
        **_COMMON,
    },
    "supervisor": {
        "": ("supervisor", "index.html"),
        "supervisor.js": ("supervisor", "supervisor.js"),
        "supervisor.css": ("supervisor", "supervisor.css"),
        **_COMMON,
    },
}


def _serve(page: str, name: str) -> Response:
    found = PAGES[page].get(name)
    if found is None:
        raise NotFound(f"no {page} page file {name!r}")
    folder, file_name = found
    return Response(
        (resources.files("shared") / folder / file_name).read_text(encoding="utf-8"),
        media_type=_TYPES[file_name[file_name.rindex(".") :]],
        headers={**PAGE_HEADERS, "Cache-Control": "no-cache"},
    )


@router.get("/agent/", include_in_schema=False)
@router.get("/agent/{name}", include_in_schema=False)
async def console_file(name: str = "") -> Response:
    return _serve("agent", name)


@router.get("/supervisor/", include_in_schema=False)
@router.get("/supervisor/{name}", include_in_schema=False)
async def supervisor_file(name: str = "") -> Response:
    return _serve("supervisor", name)
