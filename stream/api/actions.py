"""Operator actions over HTTP (acknowledge, resolve, release, reject) and the held-payment queue.

Each write names who asks (the token's name), goes to the engine through the Operator port, and
is audited whatever its outcome (done, refused, failed) in the append-only `operator_audit`,
with the wall-clock time of the request (the engine stamps the action with its event time).
"""

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from aiohttp import web

from agents.tracing.chain import mask_account
from models.codec import encode_data
from models.money import format_fen
from stream.api.auth import Caller, Role
from stream.api.ops import OPERATOR_ACTIONS
from stream.api.paging import BadQuery, decode_cursor, encode_cursor, known_only, limit_of
from stream.api.views import OPERATE, STORE_KEY, TOKENS_KEY, error, json_response, path_id
from stream.operator.port import Action, Command, Operator, OperatorResult
from stream.store.errors import StoreError
from stream.store.queries import AuditEntry, AuditOutcome, HeldFilter
from stream.store.rows import Row

log = logging.getLogger(__name__)
OPERATOR_KEY: Final = web.AppKey("operator", Operator)
_STATUS = {"done": 200, "pending": 202, "unknown": 404, "conflict": 409, "unavailable": 503}


def action(name: Action, param: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The handler of one write: 401 without a token, else audited: 403, 400, then the engine's answer."""

    async def run(request: web.Request) -> web.StreamResponse:
        caller = request.app[TOKENS_KEY].caller(request.headers.get("Authorization"))
        if caller is None:
            response = error(401, "a bearer token is required")
            response.headers["WWW-Authenticate"] = 'Bearer realm="treasury"'
            return response
        target = path_id(request, param)
        if caller.role not in OPERATE:
            response = error(403, f"the {caller.role} role may not {name}")
        elif target is None:
            response = error(400, f"{param} must be 1-64 characters without control characters")
        else:
            response = await _perform(request, name, param, target, caller)
        await _audit(request, caller, name, target or request.match_info.get(param, "")[:64], response)
        return response

    return run


async def _perform(request: web.Request, name: Action, param: str, target: str, caller: Caller) -> web.Response:
    operator = request.app.get(OPERATOR_KEY)
    if operator is None:
        return error(503, "operator actions need the live engine; this server only reads the store")
    result = await operator.submit(Command(name, target, caller.name))
    return _answer(result, param, target, caller.role)


def _answer(result: OperatorResult, param: str, target: str, role: Role) -> web.Response:
    status = _STATUS[result.status]
    body: dict[str, Any] = {"result": result.status, "message": result.message}
    if result.state is not None:
        body["alert" if param == "alert_id" else "decision"] = orjson.loads(encode_data(result.state))
    if result.status == "pending":
        body["poll"] = f"/api/alerts/{target}" if param == "alert_id" else f"/api/payments/{target}"
    if status >= 400:
        body["error"] = result.message
    response = json_response(body)
    response.set_status(status)
    return response


async def _audit(request: web.Request, caller: Caller, name: Action, target: str, response: web.Response) -> None:
    outcome: AuditOutcome = "done" if response.status < 300 else "refused" if response.status < 500 else "failed"
    if response.status == 202:
        outcome = "done"  # accepted: queued in the engine, applied in order
    detail = orjson.loads(response.body)  # type: ignore[arg-type]  # our own JSON bytes
    entry = AuditEntry(datetime.now(UTC), caller.name, caller.role, name, target, outcome, response.status,
                       str(detail.get("message") or detail.get("error") or "")[:500])
    OPERATOR_ACTIONS.labels(name, str(response.status)).inc()
    try:
        await request.app[STORE_KEY].write_audit(entry)
    except StoreError as failure:  # the action stands; the failure is loud in the log
        log.error("audit row not written (%s %s by %s, %d): %s", name, target, caller.name, response.status, failure)


HELD_FILTERS: Final = ("treasury", "limit", "cursor")


async def held(request: web.Request, role: Role) -> web.StreamResponse:
    """The held-payment queue in arrival order: `{"held": [...], "next_cursor": ...}`."""
    query = request.query
    known_only(query, HELD_FILTERS)
    treasury = query.get("treasury")
    if treasury is not None and not (len(treasury) == 6 and treasury.isdigit()):
        raise BadQuery("treasury must be a 6-digit division code")
    wanted = HeldFilter(treasury=treasury, after=decode_cursor(query), limit=limit_of(query))
    found = await request.app[STORE_KEY].held_page(wanted)
    cursor = encode_cursor(found[-1]["decided_at"], found[-1]["payment_id"]) if len(found) == wanted.limit else None
    return json_response({"held": [_held(row, role) for row in found], "next_cursor": cursor})


def _held(row: Row, role: Role) -> dict[str, Any]:
    account = row.get("payee_account")
    if account is not None and role != "supervisor":
        account = mask_account(account)
    amount = row.get("amount_fen")
    return {"payment_id": row["payment_id"], "indicator_id": row["indicator_id"],
            "treasury_code": row.get("treasury_code"), "amount": format_fen(amount) if amount is not None else None,
            "payee_name": row.get("payee_name"), "payee_account": account, "payee_kind": row.get("payee_kind"),
            "reasons": row["reasons"], "decided_at": row["decided_at"].isoformat()}
