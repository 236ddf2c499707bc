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
# Each page's folder in the `shared` package and the files it serves ("" is the page).
PAGES = {
    "agent": (
        "console",
        {"": "index.html", "console.js": "console.js", "console.css": "console.css"},
    ),
    "supervisor": (
        "supervisor",
        {"": "index.html", "supervisor.js": "supervisor.js", "supervisor.css": "supervisor.css"},
    ),
}


def _serve(page: str, name: str) -> Response:
    folder, files = PAGES[page]
    file_name = files.get(name)
    if file_name is None:
        raise NotFound(f"no {page} page file {name!r}")
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
