"""Wire models as plain table rows: the one representation both stores keep and return.

Times are UTC, money is integer fen, JSON columns are plain Python values. PostgreSQL refuses NUL
in text and jsonb, so NUL characters of free text become U+FFFD here, for both stores alike.
"""

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from pydantic_core import to_jsonable_python

from models.outputs import Alert, Chain, DeadLetter, Decision, Forecast

Row = dict[str, Any]
# (indicator_id, amount, allocated, reserved, spent, updated_at, version): see merge.ledger_supersedes.
LedgerTuple = tuple[str, int, int, int, int, datetime, int]

DECISION_COLUMNS = ("payment_id", "outcome", "reasons", "indicator_id", "available_after_fen", "decided_at",
                    "provisional")
DECISION_HISTORY_COLUMNS = ("payment_id", "decided_at", "outcome", "reasons", "indicator_id", "available_after_fen")
ALERT_COLUMNS = ("alert_id", "code", "severity", "subject_kind", "subject_id", "status", "message", "evidence",
                 "opened_at", "updated_at")
ALERT_HISTORY_COLUMNS = ("alert_id", "updated_at", "status", "evidence")
DEADLETTER_COLUMNS = ("source", "offset", "error_code", "error", "payment_id", "raw", "raw_bytes", "raw_truncated",
                      "raw_sha256")
FORECAST_COLUMNS = ("treasury_code", "as_of", "payload")
CHAIN_COLUMNS = ("root", "payload")
LEDGER_COLUMNS = ("indicator_id", "amount_fen", "allocated_fen", "reserved_fen", "spent_fen", "updated_at",
                  "version")


def clean(value: Any) -> Any:
    """The value with every NUL in its strings (keys too) replaced by U+FFFD."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(item) for item in value]
    return value


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def codes(decision: Decision) -> tuple[str, ...]:
    return tuple(reason.code for reason in decision.reasons)


def decision_row(decision: Decision) -> Row:
    return {
        "payment_id": decision.payment_id,
        "outcome": decision.outcome,
        "reasons": clean([reason.model_dump() for reason in decision.reasons]),
        "indicator_id": decision.indicator_id,
        "available_after_fen": decision.available_after,
        "decided_at": utc(decision.decided_at),
        # Only V001: the message was malformed; a valid instruction with the same id replaces it.
        "provisional": codes(decision) == ("V001",),
    }


def alert_row(alert: Alert) -> Row:
    return {
        "alert_id": alert.alert_id,
        "code": alert.code,
        "severity": alert.severity,
        "subject_kind": alert.subject.kind,
        "subject_id": alert.subject.id,
        "status": alert.status,
        "message": clean({"zh": alert.message.zh, "en": alert.message.en}),
        "evidence": clean(to_jsonable_python(alert.evidence)),
        "opened_at": utc(alert.opened_at),
        "updated_at": utc(alert.updated_at),
    }


def deadletter_row(letter: DeadLetter) -> Row:
    return {
        "source": clean(letter.source),
        "offset": letter.offset,
        "error_code": letter.error_code,
        "error": clean(letter.error),
        "payment_id": letter.payment_id,
        "raw": clean(letter.raw),
        "raw_bytes": letter.raw_bytes,
        "raw_truncated": letter.raw_truncated,
        "raw_sha256": letter.raw_sha256,
    }


def forecast_row(forecast: Forecast) -> Row:
    payload = forecast.model_dump(mode="json", exclude_none=True)
    return {"treasury_code": forecast.treasury_code, "as_of": forecast.as_of, "payload": payload}


def chain_row(chain: Chain) -> Row:
    return {"root": chain.root, "payload": clean(chain.model_dump(mode="json", exclude_none=True))}


def ledger_rows(rows: Iterable[LedgerTuple]) -> list[Row]:
    out = []
    for indicator_id, amount, allocated, reserved, spent, updated_at, version in rows:
        values = (amount, allocated, reserved, spent)
        if any(type(fen) is not int for fen in values):
            raise TypeError("ledger amounts must be integer fen")
        if type(version) is not int or version < 0:
            raise TypeError("a ledger version is a non-negative integer")
        out.append(dict(zip(LEDGER_COLUMNS, (indicator_id, *values, utc(updated_at), version), strict=True)))
    return out


def history_key(row: Row) -> tuple[str, datetime, str]:
    return row["payment_id"], row["decided_at"], row["outcome"]


def alert_history_key(row: Row) -> tuple[str, datetime, str]:
    return row["alert_id"], row["updated_at"], row["status"]


def deadletter_key(row: Row) -> tuple[str, int, str]:
    return row["source"], row["offset"], row["raw_sha256"]


def forecast_key(row: Row) -> tuple[str, date]:
    return row["treasury_code"], row["as_of"]
