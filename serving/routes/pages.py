"""The static pages (owned by the pages engineer under serving/static/), served when present."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from serving import messages
from serving.errors import ApiError

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
PAGES = {"/": "index.html", "/console": "console.html", "/admin": "admin.html", "/login": "login.html"}

router = APIRouter(tags=["pages"], include_in_schema=False)


def _page(name: str) -> FileResponse:
    path = STATIC_DIR / name
    if not path.is_file():
        raise ApiError(404, "not_found", messages.NOT_FOUND)
    return FileResponse(path, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})


def _register(route: str, filename: str) -> None:
    async def page() -> FileResponse:
        return _page(filename)

    page.__name__ = f"page_{filename.split('.')[0]}"
    router.add_api_route(route, page, methods=["GET"])


for _route, _file in PAGES.items():
    _register(_route, _file)
