"""The OpenAPI 3.1 document of the API, built here beside the routes; a test checks they match."""

from typing import Any, Final, get_args

from alerts.catalogue import CATALOGUE
from models.outputs import AlertAction, AlertStatus, Severity
from stream.store.queries import MAX_PAGE

_ID = {"type": "string", "minLength": 1, "maxLength": 64}
_TREASURY = {"type": "string", "pattern": "^[0-9]{6}$"}
_MONEY = {"type": "string", "pattern": r"^-?[0-9]{1,15}\.[0-9]{2}$", "description": "yuan, two decimals"}
_TIME = {"type": "string", "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    texts = {400: "bad input (the message says which)", 401: "no token or an unknown one",
             403: "the token's role may not do this", 404: "no such id", 409: "not in a state this applies to",
             503: "the store or the engine is unavailable"}
    return {str(code): _json(_ref("Error"), texts[code]) for code in codes}


def _path(name: str, schema: dict[str, Any] | None = None, description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema or _ID, "description": description}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


_PAGING = [
    _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 50}, "rows per page"),
    _query("cursor", {"type": "string"}, "next_cursor of the previous page, unchanged (opaque)"),
]


def _read(summary: str, ok: dict[str, Any], *, params: list[dict[str, Any]] | None = None,
          errors: tuple[int, ...] = (400, 401, 404, 503), tag: str = "read") -> dict[str, Any]:
    return {"get": {"summary": summary, "tags": [tag], "parameters": params or [],
                    "responses": {"200": ok, **_errors(*errors)}}}


def _write(summary: str, param: dict[str, Any], state: str) -> dict[str, Any]:
    done = _json(_ref("ActionResult"), f"applied; `{state}` is the new state")
    pending = _json(_ref("ActionResult"), "queued in the engine, not applied within the wait: poll `poll`")
    return {"post": {"summary": summary, "tags": ["operate"], "parameters": [param],
                     "description": "Role operator. Audited (who, role, what, when, outcome) whatever the answer.",
                     "responses": {"200": done, "202": pending, **_errors(400, 401, 403, 404, 409, 503)}}}


def _public(summary: str, ok: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"summary": summary, "tags": ["ops"], "security": [], "responses": {"200": ok}}}


_ALERT_ID = _path("alert_id", description="CODE-<digest of the subject>")
_PAYMENT_ID = _path("payment_id")
_ALERT_FILTERS = [
    _query("status", {"enum": list(get_args(AlertStatus))}, "only alerts in this state"),
    _query("code", {"enum": sorted(CATALOGUE)}, "only this rule code"),
    _query("severity", {"enum": list(get_args(Severity))}, "only this severity"),
    _query("treasury", _TREASURY, "only alerts about this treasury, its indicators or their payments"),
    *_PAGING,
]

PATHS: Final[dict[str, Any]] = {
    "/health": _public("Liveness: the process serves", _json({"type": "object"}, "alive")),
    "/ready": {"get": {**_public("Readiness: the store answers, the engine runs", _json(
        {"type": "object"}, "ready"))["get"], "responses": {"200": _json({"type": "object"}, "ready"),
                                                            "503": _json({"type": "object"}, "not ready")}}},
    "/metrics": _public("Prometheus metrics (text exposition format)",
                        {"description": "metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}),
    "/api/openapi.json": _public("This document", _json({"type": "object"}, "OpenAPI 3.1")),
    "/api/alerts": _read("Alerts, newest occurrence first (opened_at, then alert_id)",
                         _json(_ref("AlertPage"), "one page"), params=_ALERT_FILTERS, errors=(400, 401, 503)),
    "/api/alerts/stream": _read(
        "Server-sent events: `event: alert` with the alert JSON per state change; `: keep-alive` comments",
        {"description": "an endless event stream", "content": {"text/event-stream": {"schema": {"type": "string"}}}},
        errors=(400, 401, 503)),
    "/api/alerts/{alert_id}": _read("One alert with its history (who did what, when) and its rule",
                                    _json(_ref("AlertDetail"), "the alert"), params=[_ALERT_ID]),
    "/api/alerts/{alert_id}/ack": _write("Acknowledge an open alert", _ALERT_ID, "alert"),
    "/api/alerts/{alert_id}/resolve": _write("Resolve an open or acknowledged alert", _ALERT_ID, "alert"),
    "/api/held": _read("Held payments in arrival order", _json(_ref("HeldPage"), "one page"),
                       params=[_query("treasury", _TREASURY, "only this treasury's"), *_PAGING],
                       errors=(400, 401, 503)),
    "/api/payments/{payment_id}": _read(
        "A payment: its effective decision (reasons with clause), ledger effect, history, chain path",
        _json({"type": "object"}, "the payment"), params=[_PAYMENT_ID]),
    "/api/payments/{payment_id}/release": _write("Release a held payment (a second decision: accepted)",
                                                 _PAYMENT_ID, "decision"),
    "/api/payments/{payment_id}/reject": _write("Reject a held payment (its reservation released)",
                                                _PAYMENT_ID, "decision"),
    "/api/chains/{root}": _read("A fund chain from its root to every recipient (accounts masked but for "
                                "supervisors)", _json({"type": "object"}, "the chain"), params=[_path("root")]),
    "/api/chains/{root}/recipients.csv": _read(
        "The real-name ledger (实名台账) of a chain as CSV; operators and supervisors",
        {"description": "CSV, UTF-8 with BOM", "content": {"text/csv": {"schema": {"type": "string"}}}},
        params=[_path("root")], errors=(400, 401, 403, 404, 503), tag="export"),
    "/api/forecasts/{treasury}": _read(
        "A treasury's latest cash forecast, or the one made on as_of", _json({"type": "object"}, "the forecast"),
        params=[_path("treasury", _TREASURY), _query("as_of", {"type": "string", "format": "date"}, "YYYY-MM-DD")]),
}

_ALERT_SCHEMA = {
    "type": "object",
    "required": ["alert_id", "code", "severity", "subject", "message", "evidence", "opened_at", "updated_at",
                 "status", "action", "actor"],
    "properties": {
        "alert_id": _ID, "code": {"type": "string"}, "severity": {"enum": list(get_args(Severity))},
        "subject": {"type": "object", "properties": {"kind": {"enum": ["payment", "indicator", "treasury"]},
                                                     "id": _ID}},
        "message": {"type": "object", "properties": {"zh": {"type": "string"}, "en": {"type": "string"}}},
        "evidence": {"type": "object"}, "opened_at": _TIME, "updated_at": _TIME,
        "status": {"enum": list(get_args(AlertStatus))}, "action": {"enum": list(get_args(AlertAction))},
        "actor": {"type": "string", "description": "engine, or the operator's name"},
    },
}
SCHEMAS: Final[dict[str, Any]] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    "Alert": _ALERT_SCHEMA,
    "AlertPage": {"type": "object", "properties": {"alerts": {"type": "array", "items": _ref("Alert")},
                                                   "next_cursor": {"type": ["string", "null"]}}},
    "AlertDetail": {"type": "object", "properties": {
        "alert": _ref("Alert"),
        "history": {"type": "array", "items": {"type": "object", "properties": {
            "at": _TIME, "status": {"type": "string"}, "action": {"type": "string"}, "actor": {"type": "string"},
            "evidence": {"type": "object"}}}},
        "rule": {"type": ["object", "null"]}}},
    "HeldPage": {"type": "object", "properties": {
        "held": {"type": "array", "items": {"type": "object", "properties": {
            "payment_id": _ID, "indicator_id": _ID, "treasury_code": {"type": ["string", "null"]},
            "amount": {"oneOf": [_MONEY, {"type": "null"}]}, "payee_name": {"type": ["string", "null"]},
            "payee_account": {"type": ["string", "null"]}, "reasons": {"type": "array"}, "decided_at": _TIME}}},
        "next_cursor": {"type": ["string", "null"]}}},
    "ActionResult": {"type": "object", "required": ["result", "message"], "properties": {
        "result": {"enum": ["done", "pending", "unknown", "conflict", "unavailable"]},
        "message": {"type": "string"}, "alert": _ref("Alert"), "decision": {"type": "object"},
        "poll": {"type": "string", "description": "where to read the outcome of a pending action"}}},
}


def document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Treasury monitoring engine API", "version": "1",
                 "description": "Roles: viewer reads; operator reads, acknowledges, resolves, releases and "
                                "rejects held payments; supervisor reads, exports, and sees accounts whole."},
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}, "schemas": SCHEMAS},
        "paths": PATHS,
    }
