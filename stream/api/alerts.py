"""Alert endpoints: the filtered, paginated list, one alert with its history, the live stream (SSE)."""

from typing import Any, Final, get_args

import orjson
from aiohttp import web

from alerts.catalogue import CATALOGUE
from models.codec import encode_data
from models.outputs import AlertStatus, Severity
from stream.api.auth import Role
from stream.api.hub import AlertHub
from stream.api.paging import BadQuery, decode_cursor, encode_cursor, known_only, limit_of, one_of
from stream.api.views import STORE_KEY, error, json_response, path_id
from stream.store.queries import AlertFilter
from stream.store.rows import Row, alert_of

HUB_KEY: Final = web.AppKey("alert-hub", AlertHub)
KEEPALIVE_KEY: Final = web.AppKey("sse-keepalive-s", float)
_TREASURY_CHARS = frozenset("0123456789")
FILTERS: Final = ("status", "code", "severity", "treasury", "limit", "cursor")


def alert_json(row: Row) -> Any:
    return orjson.loads(encode_data(alert_of(row)))


def filter_of(query: Any) -> AlertFilter:
    """The list's filters from a query string (BadQuery, a 400, when one is wrong)."""
    known_only(query, FILTERS)
    treasury = query.get("treasury")
    if treasury is not None and (len(treasury) != 6 or not set(treasury) <= _TREASURY_CHARS):
        raise BadQuery("treasury must be a 6-digit division code")
    return AlertFilter(
        status=one_of(query, "status", get_args(AlertStatus)),
        code=one_of(query, "code", CATALOGUE),
        severity=one_of(query, "severity", get_args(Severity)),
        treasury=treasury,
        after=decode_cursor(query),
        limit=limit_of(query),
    )


async def list_alerts(request: web.Request, role: Role) -> web.StreamResponse:
    """`{"alerts": [...], "next_cursor": ...}`: newest occurrence first; next_cursor null on the last page."""
    wanted = filter_of(request.query)
    found = await request.app[STORE_KEY].alert_page(wanted)
    cursor = encode_cursor(found[-1]["opened_at"], found[-1]["alert_id"]) if len(found) == wanted.limit else None
    return json_response({"alerts": [alert_json(row) for row in found], "next_cursor": cursor})


async def one_alert(request: web.Request, role: Role) -> web.StreamResponse:
    """The alert, its history (who did what, when) and its rule (title, clause, runbook)."""
    alert_id = path_id(request, "alert_id")
    if alert_id is None:
        return error(400, "alert_id must be 1-64 characters without control characters")
    store = request.app[STORE_KEY]
    row = await store.alert(alert_id)
    if row is None:
        return error(404, f"no alert {alert_id}")
    history = [{"at": h["updated_at"].isoformat(), "status": h["status"], "action": h["action"],
                "actor": h["actor"], "evidence": h["evidence"]} for h in await store.alert_history(alert_id)]
    rule = CATALOGUE.get(row["code"])
    about = None if rule is None else {"title_zh": rule.title_zh, "title_en": rule.title_en, "clause": rule.clause,
                                       "runbook": rule.runbook}
    return json_response({"alert": alert_json(row), "history": history, "rule": about})


async def stream_alerts(request: web.Request, role: Role) -> web.StreamResponse:
    """Server-sent events: `event: alert` with the alert JSON for each state change; keep-alive comments."""
    hub = request.app.get(HUB_KEY)
    if hub is None:
        return error(503, "no live engine here: alert streaming needs the embedded runtime (treasury live)")
    known_only(request.query, ())
    keepalive_s = request.app.get(KEEPALIVE_KEY, 15.0)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "X-Accel-Buffering": "no"})
    subscription = hub.subscribe()
    try:
        await response.prepare(request)
        await response.write(b"retry: 3000\n: connected\n\n")
        while True:
            try:
                item = await subscription.next(keepalive_s)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if item is None:
                break  # dropped (fell behind) or the hub closed: the client reconnects
            await response.write(b"event: alert\ndata: " + encode_data(item) + b"\n\n")
    except ConnectionResetError:
        pass  # the client went away
    finally:
        hub.unsubscribe(subscription)
    return response
