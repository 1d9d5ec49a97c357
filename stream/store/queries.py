"""What the API asks the store beyond single rows: filtered alert and held-payment pages, the audit log.

The filters and the audit entry are plain values; both stores apply them with the same meaning
(the in-memory one in Python below, PostgreSQL in stream/store/sql.py), held to it by one
contract test. Pages are keyset pages: `after` is the last row's sort key, never an offset.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from stream.store.rows import Row

AuditOutcome = Literal["done", "refused", "failed"]
MAX_PAGE = 500  # the most rows one page may ask for (the API bounds `limit` to this)


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """Alerts by status, code, severity and treasury; newest occurrence first (opened_at, then id)."""

    status: str | None = None
    code: str | None = None
    severity: str | None = None
    treasury: str | None = None
    after: tuple[datetime, str] | None = None  # the last row of the previous page: (opened_at, alert_id)
    limit: int = 50


@dataclass(frozen=True, slots=True)
class HeldFilter:
    """Held payments in arrival order (decided_at, then payment_id), optionally of one treasury."""

    treasury: str | None = None
    after: tuple[datetime, str] | None = None  # (decided_at, payment_id) of the previous page's last row
    limit: int = 50


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One write through the API: who (actor, role), what (action, target), when (wall clock), outcome."""

    at: datetime
    actor: str
    role: str
    action: str
    target: str
    outcome: AuditOutcome
    status: int
    detail: str

    def row(self) -> Row:
        return {"at": self.at, "actor": self.actor, "role": self.role, "action": self.action, "target": self.target,
                "outcome": self.outcome, "status": self.status, "detail": self.detail}


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"a page holds 1 to {MAX_PAGE} rows, not {limit}")
    return limit


def alert_treasury(alert: Row, node_treasury: Mapping[str, str], payment_indicator: Mapping[str, Any]) -> str | None:
    """The treasury an alert is about: its subject, the subject indicator's, or the paying indicator's."""
    kind, subject = alert["subject_kind"], alert["subject_id"]
    if kind == "treasury":
        return str(subject)
    if kind == "indicator":
        return node_treasury.get(subject)
    indicator = payment_indicator.get(subject)
    return node_treasury.get(indicator) if indicator is not None else None


def alert_matches(alert: Row, wanted: AlertFilter, treasury: str | None) -> bool:
    if wanted.status is not None and alert["status"] != wanted.status:
        return False
    if wanted.code is not None and alert["code"] != wanted.code:
        return False
    if wanted.severity is not None and alert["severity"] != wanted.severity:
        return False
    if wanted.treasury is not None and treasury != wanted.treasury:
        return False
    if wanted.after is not None:
        opened_at, alert_id = wanted.after
        opened = alert["opened_at"]
        return bool(opened < opened_at or (opened == opened_at and alert["alert_id"] > alert_id))
    return True


def newest_first(alerts: list[Row]) -> list[Row]:
    """Newest opened_at first, then alert_id ascending (code-point order: UTF-8 bytes, as COLLATE "C")."""
    by_id = sorted(alerts, key=lambda a: a["alert_id"])
    return sorted(by_id, key=lambda a: a["opened_at"], reverse=True)  # stable: ids stay ascending
