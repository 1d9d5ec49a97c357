"""Wire models as plain table rows: the one representation both stores keep and return.

Times are UTC, money is integer fen, JSON columns are plain Python values. PostgreSQL refuses NUL
in text and jsonb, so NUL characters of free text become U+FFFD here, for both stores alike.
"""

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from pydantic_core import to_jsonable_python

from agents.tracing.chain import assemble
from models.base import trusted
from models.outputs import Alert, Chain, ChainNode, ChainPayment, DeadLetter, Decision, Forecast, Message, Subject

Row = dict[str, Any]
# (indicator_id, amount, allocated, reserved, spent, updated_at, version): see merge.ledger_supersedes.
LedgerTuple = tuple[str, int, int, int, int, datetime, int]

DECISION_COLUMNS = ("payment_id", "outcome", "reasons", "indicator_id", "available_after_fen", "decided_at",
                    "provisional")
DECISION_HISTORY_COLUMNS = ("payment_id", "decided_at", "outcome", "reasons", "indicator_id", "available_after_fen")
ALERT_COLUMNS = ("alert_id", "code", "severity", "subject_kind", "subject_id", "status", "message", "evidence",
                 "opened_at", "updated_at", "action", "actor")
ALERT_HISTORY_COLUMNS = ("alert_id", "updated_at", "status", "evidence", "action", "actor")
DEADLETTER_COLUMNS = ("source", "offset", "error_code", "error", "payment_id", "raw", "raw_bytes", "raw_truncated",
                      "raw_sha256")
FORECAST_COLUMNS = ("treasury_code", "as_of", "payload")
CHAIN_NODE_COLUMNS = ("indicator_id", "root", "parent_indicator_id", "treasury_code", "agency_code", "amount_fen",
                      "allocated_fen", "reserved_fen", "spent_fen", "issued_at", "version")
CHAIN_PAYMENT_COLUMNS = ("payment_id", "indicator_id", "root", "payee_name", "payee_account", "payee_kind",
                         "amount_fen", "status", "stage")
# A payment's status only moves forward: held -> accepted -> settled -> returned; rejected ends
# a hold. The stage orders copies of one payment's row written by different workers.
PAYMENT_STAGE = {"held": 0, "accepted": 1, "settled": 2, "returned": 3, "rejected": 3}
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
        "action": alert.action,
        "actor": clean(alert.actor),
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


def chain_node_rows(chain: Chain) -> list[Row]:
    return [
        {"indicator_id": n.indicator_id, "root": chain.root, "parent_indicator_id": n.parent_indicator_id,
         "treasury_code": n.treasury_code, "agency_code": n.agency_code, "amount_fen": n.amount,
         "allocated_fen": n.allocated, "reserved_fen": n.reserved, "spent_fen": n.spent, "issued_at": utc(n.issued_at),
         "version": 0}  # a replay writes each chain once, at the end
        for n in chain.nodes
    ]


def chain_payment_rows(chain: Chain) -> list[Row]:
    return [
        {"payment_id": p.payment_id, "indicator_id": p.indicator_id, "root": chain.root,
         "payee_name": clean(p.payee_name), "payee_account": p.payee_account, "payee_kind": p.payee_kind,
         "amount_fen": p.amount, "status": p.status, "stage": PAYMENT_STAGE[p.status]}
        for p in chain.payments
    ]


def node_of(r: Row) -> ChainNode:
    return trusted(ChainNode, indicator_id=r["indicator_id"], parent_indicator_id=r["parent_indicator_id"],
                   treasury_code=r["treasury_code"], agency_code=r["agency_code"], amount=r["amount_fen"],
                   allocated=r["allocated_fen"], reserved=r["reserved_fen"], spent=r["spent_fen"],
                   issued_at=r["issued_at"])


def payment_of(r: Row) -> ChainPayment:
    return trusted(ChainPayment, payment_id=r["payment_id"], indicator_id=r["indicator_id"],
                   payee_name=r["payee_name"], payee_account=r["payee_account"], payee_kind=r["payee_kind"],
                   amount=r["amount_fen"], status=r["status"])


def chain_of(root: str, node_rows: Iterable[Row], payment_rows: Iterable[Row]) -> Chain:
    """A chain back from its rows, in the canonical order."""
    return assemble(root, [node_of(r) for r in node_rows], [payment_of(r) for r in payment_rows])


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


def alert_history_key(row: Row) -> tuple[str, datetime, str, str]:
    return row["alert_id"], row["updated_at"], row["status"], row["action"]


def deadletter_key(row: Row) -> tuple[str, int, str]:
    return row["source"], row["offset"], row["raw_sha256"]


def forecast_key(row: Row) -> tuple[str, date]:
    return row["treasury_code"], row["as_of"]


def alert_of(row: Row) -> Alert:
    """An alert row back as the wire model."""
    return trusted(
        Alert, alert_id=row["alert_id"], code=row["code"], severity=row["severity"],
        subject=trusted(Subject, kind=row["subject_kind"], id=row["subject_id"]),
        message=trusted(Message, zh=row["message"]["zh"], en=row["message"]["en"]), evidence=row["evidence"],
        opened_at=row["opened_at"], updated_at=row["updated_at"], status=row["status"], action=row["action"],
        actor=row["actor"],
    )


# Lifecycle order of the states of one instant (history rows at the same event time).
STATUS_RANK = {"open": 0, "acknowledged": 1, "resolved": 2}


def alert_history_order(row: Row) -> tuple[datetime, int, str]:
    return row["updated_at"], STATUS_RANK[row["status"]], row["action"]
