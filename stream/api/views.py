"""The API's handlers over the Store port: chains, a payment with its path up, the recipients CSV.

Every handler checks the bearer token first (401 without one, 403 for a role that may not), then
the path parameter (400), then reads the store (503 when it cannot). Payee accounts are masked to
their last four digits for every role but `supervisor`.
"""

import csv
import io
import re
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, Final

import orjson
from aiohttp import web

from agents.tracing.chain import mask_account, masked
from models.codec import encode_data
from models.money import format_fen
from models.outputs import Chain, ChainNode, ChainPayment
from stream.api.auth import Role, Tokens
from stream.api.paging import BadQuery
from stream.store.errors import StoreError
from stream.store.port import Store
from stream.store.rows import Row

# Who may do what (DESIGN §5): everyone signed in reads; exporting the real-name ledger is for
# supervisors, and for operators with the accounts masked.
READ: Final = frozenset({"viewer", "operator", "supervisor"})
EXPORT: Final = frozenset({"operator", "supervisor"})
# An id in a path: what the wire contract accepts for codes (1-64 characters, no control characters).
_ID = re.compile(r"[^\x00-\x1f\x7f]{1,64}")
_TREASURY = re.compile(r"[0-9]{6}")
OPERATE: Final = frozenset({"operator"})
STORE_KEY: Final = web.AppKey("store", Store)
TOKENS_KEY: Final = web.AppKey("tokens", Tokens)

Handler = Callable[[web.Request, Role], Awaitable[web.StreamResponse]]


def error(status: int, message: str) -> web.Response:
    return web.Response(status=status, body=orjson.dumps({"error": message}), content_type="application/json")


def json_response(value: Any) -> web.Response:
    return web.Response(body=orjson.dumps(value), content_type="application/json")


def guarded(allowed: frozenset[str], handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The handler behind the token check; store failures become 503, never a traceback."""

    async def run(request: web.Request) -> web.StreamResponse:
        role = request.app[TOKENS_KEY].role_of(request.headers.get("Authorization"))
        if role is None:
            response = error(401, "a bearer token is required")
            response.headers["WWW-Authenticate"] = 'Bearer realm="treasury"'
            return response
        if role not in allowed:
            return error(403, f"the {role} role may not do this")
        try:
            return await handler(request, role)
        except StoreError as failure:
            return error(503, f"the store is unavailable: {failure}")
        except BadQuery as bad:
            return error(400, str(bad))

    return run


def path_id(request: web.Request, name: str) -> str | None:
    """The path parameter when it is a valid id (1-64 characters, no control characters), else None."""
    return _path_id(request, name)


def _path_id(request: web.Request, name: str) -> str | None:
    value = request.match_info.get(name, "")
    return value if _ID.fullmatch(value) else None


async def _chain_of(request: web.Request) -> tuple[str, Chain] | web.Response:
    """The chain named in the path, or the 400/404 response saying why not."""
    root = _path_id(request, "root")
    if root is None:
        return error(400, "root must be 1-64 characters without control characters")
    found = await request.app[STORE_KEY].chain(root)
    if found is None:
        return error(404, f"no chain with root {root}")
    return root, found


async def chain(request: web.Request, role: Role) -> web.StreamResponse:
    looked_up = await _chain_of(request)
    if isinstance(looked_up, web.Response):
        return looked_up
    _, found = looked_up
    return web.Response(body=encode_data(found if role == "supervisor" else masked(found)),
                        content_type="application/json")


async def payment(request: web.Request, role: Role) -> web.StreamResponse:
    payment_id = _path_id(request, "payment_id")
    if payment_id is None:
        return error(400, "payment_id must be 1-64 characters without control characters")
    store = request.app[STORE_KEY]
    decision, history, path = (await store.decision(payment_id), await store.decision_history(payment_id),
                               await store.payment_path(payment_id))
    if decision is None and path is None:
        return error(404, f"no payment {payment_id}")
    body: dict[str, Any] = {"payment_id": payment_id, "decision": _decision(decision),
                            "history": [_decision(row) for row in history], "chain": None,
                            "ledger_effect": _ledger_effect(decision, history, path[1] if path else None)}
    if path is not None:
        root, paid, nodes = path
        body["chain"] = {"root": root, "payment": _payment(paid, role),
                         "path": [_node(node) for node in nodes]}
    return json_response(body)


async def forecast(request: web.Request, role: Role) -> web.StreamResponse:
    """A treasury's latest forecast, or the one made on `?as_of=YYYY-MM-DD`."""
    treasury = request.match_info.get("treasury", "")
    if not _TREASURY.fullmatch(treasury):
        return error(400, "treasury must be a 6-digit division code")
    as_of = None
    if "as_of" in request.query:
        try:
            as_of = date.fromisoformat(request.query["as_of"])
        except ValueError:
            return error(400, "as_of must be a date, YYYY-MM-DD")
    found = await request.app[STORE_KEY].forecast(treasury, as_of)
    if found is None:
        return error(404, f"no forecast for treasury {treasury}" + (f" on {as_of}" if as_of else ""))
    return json_response(found["payload"])


async def recipients_csv(request: web.Request, role: Role) -> web.StreamResponse:
    """The real-name ledger (实名台账) of a chain: who received what, from which indicator."""
    looked_up = await _chain_of(request)
    if isinstance(looked_up, web.Response):
        return looked_up
    root, found = looked_up
    nodes = {node.indicator_id: node for node in found.nodes}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["root", "indicator_id", "treasury_code", "agency_code", "payment_id", "payee_name",
                     "payee_account", "payee_kind", "amount", "status"])
    for p in found.payments:
        if p.status == "rejected":
            continue  # never paid: not a recipient
        node = nodes[p.indicator_id]
        account = p.payee_account if role == "supervisor" else mask_account(p.payee_account)
        writer.writerow([root, p.indicator_id, node.treasury_code, node.agency_code, p.payment_id,
                         _cell(p.payee_name), account, p.payee_kind, format_fen(p.amount), p.status])
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", root)
    # A byte-order mark: spreadsheet programs on Chinese Windows read the names as UTF-8 then.
    return web.Response(body=b"\xef\xbb\xbf" + out.getvalue().encode(), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="recipients-{safe}.csv"'})


def _cell(text: str) -> str:
    """A spreadsheet never runs a payee's name as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _decision(row: Row | None) -> dict[str, Any] | None:
    if row is None:
        return None
    available = row.get("available_after_fen")
    return {"outcome": row["outcome"], "reasons": row["reasons"], "indicator_id": row["indicator_id"],
            "available_after": format_fen(available) if available is not None else None,
            "decided_at": row["decided_at"].isoformat()}


def _ledger_effect(decision: Row | None, history: list[Row], paid: ChainPayment | None) -> dict[str, Any] | None:
    """What the decision did to its indicator (DESIGN §3): reserve (accepted, held), void (a held payment
    rejected), or nothing (rejected outright); with the payment's status since (settled: spent)."""
    if decision is None:
        return None
    outcome = decision["outcome"]
    was_held = any(row["outcome"] == "held" for row in history)
    effect = "reserve" if outcome in ("accepted", "held") else "void" if was_held else "none"
    available = decision.get("available_after_fen")
    return {"indicator_id": decision["indicator_id"], "effect": effect,
            "amount": format_fen(paid.amount) if paid is not None else None,
            "available_after": format_fen(available) if available is not None else None,
            "status": paid.status if paid is not None else outcome}


def _payment(paid: ChainPayment, role: Role) -> Any:
    shown = paid if role == "supervisor" else paid.model_copy(
        update={"payee_account": mask_account(paid.payee_account)})
    return orjson.loads(encode_data(shown))


def _node(node: ChainNode) -> Any:
    return orjson.loads(encode_data(node))

