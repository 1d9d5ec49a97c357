"""The console's routes: its static pages at /console/, and the treasury balance read endpoints.

The pages are plain files shipped in the package (stream/console/static/): no CDN, no build step.
They hold no data; everything they show comes from the token-guarded /api routes, with the token
the operator enters (kept in the browser's sessionStorage).
"""

import re
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Final

from aiohttp import web

from models.money import format_fen
from stream.api import views
from stream.api.auth import Role
from stream.console.balances import BalanceHistory, BalancePoint

STATIC: Final = Path(str(files("stream.console") / "static"))
BALANCES_KEY: Final = web.AppKey("balances", BalanceHistory)
_TREASURY = re.compile(r"[0-9]{6}")
MAX_DAYS: Final = 400
# The pages change with the code, never under a running server: a short cache is plenty.
_CACHE = "no-cache"


def add_console(app: web.Application, balances: BalanceHistory | None = None, *, root: bool = True) -> None:
    """/console/ serves the pages (and / leads there, unless `root` is False: the faust worker owns /);
    with a balance history, /api/treasuries reads it."""
    if root:
        app.router.add_get("/", _to_console)
    app.router.add_get("/console", _to_console)
    app.router.add_get("/console/", _index)
    app.router.add_static("/console/static/", STATIC, append_version=False)
    if balances is not None:
        app[BALANCES_KEY] = balances
        app.router.add_get("/api/treasuries", views.guarded(views.READ, treasuries))
        app.router.add_get("/api/treasuries/{treasury}/balances", views.guarded(views.READ, balance_history))


async def _to_console(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/console/")


async def _index(request: web.Request) -> web.StreamResponse:
    response = web.FileResponse(STATIC / "index.html")
    response.headers["Cache-Control"] = _CACHE
    return response


async def treasuries(request: web.Request, role: Role) -> web.StreamResponse:
    """Every treasury with a balance statement, with its latest one."""
    found = request.app[BALANCES_KEY].treasuries()
    return views.json_response({"treasuries": [{"treasury_code": code, **_point(point)} for code, point in found]})


async def balance_history(request: web.Request, role: Role) -> web.StreamResponse:
    """A treasury's daily balance statements (and floors), oldest first; `?days=N` (default 90)."""
    treasury = request.match_info.get("treasury", "")
    if not _TREASURY.fullmatch(treasury):
        return views.error(400, "treasury must be a 6-digit division code")
    text = request.query.get("days", "90")
    if not text.isdigit() or not 1 <= int(text) <= MAX_DAYS:
        return views.error(400, f"days must be a whole number from 1 to {MAX_DAYS}")
    points = request.app[BALANCES_KEY].history(treasury, int(text))
    if points is None:
        return views.error(404, f"no balance statement for treasury {treasury}")
    return views.json_response({"treasury_code": treasury, "points": [_point(p) for p in points]})


def _point(point: BalancePoint) -> dict[str, str | None]:
    return {"date": date.isoformat(point.day), "balance": format_fen(point.balance_fen),
            "floor": format_fen(point.floor_fen) if point.floor_fen is not None else None}
