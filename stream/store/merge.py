"""The idempotency rules of the store, pure: which row wins, and a batch reduced to one row per key.

Both stores apply these rules; the PostgreSQL statements encode the same ones in their WHERE
clauses, and the contract test checks that both give identical results, replays included.

Decisions (one effective row per payment_id):
- a conflicting resend (only reason V002) is never stored;
- a redelivered copy (`duplicate_delivery`) only fills an empty slot, never overwrites;
- otherwise the row with the greater key wins, ties keep the stored row:
  key = (not provisional, decided_at, 0 if held else 1). A V001-only (provisional) decision thus
  never replaces a real one, any real one replaces it, and a later decision (the release or
  rejection of a held payment) replaces the earlier one; a replayed decision changes nothing.
Alerts: the state with the greater or equal `updated_at` wins (a replayed suffix ends the same).
Histories and dead letters: append-only, the first row of a key is kept. Forecasts, chains:
the latest written snapshot wins.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from models.base import WireModel
from models.outputs import Alert, Chain, DeadLetter, Decision, Forecast
from stream.store import rows
from stream.store.rows import Row


def decision_key(row: Row) -> tuple[bool, datetime, int]:
    return (not row["provisional"], row["decided_at"], 0 if row["outcome"] == "held" else 1)


def supersedes(incoming: Row, stored: Row) -> bool:
    """Whether an effective decision replaces the stored one for its payment."""
    return decision_key(incoming) > decision_key(stored)


def alert_supersedes(incoming: Row, stored: Row) -> bool:
    return bool(incoming["updated_at"] >= stored["updated_at"])


@dataclass(slots=True)
class Grouped:
    """One batch reduced by the rules above: at most one row per key and table."""

    decisions: dict[str, Row] = field(default_factory=dict)  # effective: upsert by decision_key
    fill_only: dict[str, Row] = field(default_factory=dict)  # redelivered copies: insert if absent
    decision_history: dict[Any, Row] = field(default_factory=dict)
    alerts: dict[str, Row] = field(default_factory=dict)
    alert_history: dict[Any, Row] = field(default_factory=dict)
    deadletters: dict[Any, Row] = field(default_factory=dict)
    forecasts: dict[Any, Row] = field(default_factory=dict)
    chain_nodes: dict[str, Row] = field(default_factory=dict)
    chain_payments: dict[str, Row] = field(default_factory=dict)

    def __len__(self) -> int:
        return sum(len(table) for table in self.tables().values())

    def tables(self) -> dict[str, dict[Any, Row]]:
        return {
            "decisions": self.decisions, "fill_only": self.fill_only, "decision_history": self.decision_history,
            "alerts": self.alerts, "alert_history": self.alert_history, "deadletters": self.deadletters,
            "forecasts": self.forecasts, "chain_nodes": self.chain_nodes, "chain_payments": self.chain_payments,
        }


def group(batch: Sequence[WireModel]) -> Grouped:
    """Reduce a batch of outputs, in order, to the rows to write (sorted keys: a fixed lock order)."""
    out = Grouped()
    for model in batch:
        kind = type(model)
        if kind is Decision:
            _decision(out, model)  # type: ignore[arg-type]
        elif kind is Alert:
            row = rows.alert_row(model)  # type: ignore[arg-type]
            stored = out.alerts.get(row["alert_id"])
            if stored is None or alert_supersedes(row, stored):
                out.alerts[row["alert_id"]] = row
            out.alert_history.setdefault(rows.alert_history_key(row), _pick(row, rows.ALERT_HISTORY_COLUMNS))
        elif kind is DeadLetter:
            row = rows.deadletter_row(model)  # type: ignore[arg-type]
            out.deadletters.setdefault(rows.deadletter_key(row), row)
        elif kind is Forecast:
            row = rows.forecast_row(model)  # type: ignore[arg-type]
            out.forecasts[rows.forecast_key(row)] = row
        elif kind is Chain:
            out.chain_nodes.update((r["indicator_id"], r) for r in rows.chain_node_rows(model))  # type: ignore[arg-type]
            out.chain_payments.update((r["payment_id"], r) for r in rows.chain_payment_rows(model))  # type: ignore[arg-type]
        else:
            raise TypeError(f"the store does not keep {kind.__name__} models")
    for table in out.tables().values():
        ordered = sorted(table.items())
        table.clear()
        table.update(ordered)
    return out


def _decision(out: Grouped, decision: Decision) -> None:
    if rows.codes(decision) == ("V002",):
        return
    row = rows.decision_row(decision)
    payment_id = row["payment_id"]
    if decision.duplicate_delivery:
        if payment_id not in out.decisions:
            out.fill_only.setdefault(payment_id, row)
        return
    out.fill_only.pop(payment_id, None)
    stored = out.decisions.get(payment_id)
    if stored is None or supersedes(row, stored):
        out.decisions[payment_id] = row
    out.decision_history.setdefault(rows.history_key(row), _pick(row, rows.DECISION_HISTORY_COLUMNS))


def _pick(row: Row, columns: Sequence[str]) -> Row:
    return {name: row[name] for name in columns}
