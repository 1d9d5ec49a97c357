"""MemoryStore: the Store port in plain dicts, with exactly the PostgreSQL store's semantics."""

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from models.base import WireModel
from models.outputs import AlertStatus
from stream.store import rows
from stream.store.merge import alert_supersedes, group, group_ledger, ledger_supersedes, supersedes
from stream.store.rows import LedgerTuple, Row


class MemoryStore:
    """For tests and small embedded runs; the rules live in `stream.store.merge`."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[Any, Row]] = {
            name: {} for name in ("decisions", "decision_history", "alerts", "alert_history", "deadletters",
                                  "forecasts", "chains", "ledger_state")
        }
        self.batches = 0

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def write(self, batch: Sequence[WireModel]) -> None:
        grouped = group(batch)
        t = self.tables
        for payment_id, row in grouped.decisions.items():
            stored = t["decisions"].get(payment_id)
            if stored is None or supersedes(row, stored):
                t["decisions"][payment_id] = row
        for payment_id, row in grouped.fill_only.items():
            t["decisions"].setdefault(payment_id, row)
        for alert_id, row in grouped.alerts.items():
            stored = t["alerts"].get(alert_id)
            if stored is None or alert_supersedes(row, stored):
                t["alerts"][alert_id] = row
        for name in ("decision_history", "alert_history", "deadletters"):
            for key, row in getattr(grouped, name).items():
                t[name].setdefault(key, row)
        t["forecasts"].update(grouped.forecasts)
        t["chains"].update(grouped.chains)
        self.batches += 1

    async def write_ledger(self, ledger: Iterable[LedgerTuple]) -> None:
        table = self.tables["ledger_state"]
        for indicator_id, row in group_ledger(rows.ledger_rows(ledger)).items():
            stored = table.get(indicator_id)
            if stored is None or ledger_supersedes(row, stored):
                table[indicator_id] = row

    async def decision(self, payment_id: str) -> Row | None:
        return _copy(self.tables["decisions"].get(payment_id))

    async def decision_count(self) -> int:
        return len(self.tables["decisions"])

    async def decision_history(self, payment_id: str) -> list[Row]:
        found = [row for key, row in self.tables["decision_history"].items() if key[0] == payment_id]
        return [dict(row) for row in sorted(found, key=lambda r: (r["decided_at"], r["outcome"]))]

    async def alerts(self, status: AlertStatus | None = None) -> list[Row]:
        found = [row for row in self.tables["alerts"].values() if status is None or row["status"] == status]
        return [dict(row) for row in sorted(found, key=lambda r: r["alert_id"])]

    async def alert_history(self, alert_id: str) -> list[Row]:
        found = [row for key, row in self.tables["alert_history"].items() if key[0] == alert_id]
        return [dict(row) for row in sorted(found, key=lambda r: (r["updated_at"], r["status"]))]

    async def deadletter_count(self) -> int:
        return len(self.tables["deadletters"])

    async def forecast(self, treasury_code: str, as_of: date) -> Row | None:
        return _copy(self.tables["forecasts"].get((treasury_code, as_of)))

    async def chain(self, root: str) -> Row | None:
        return _copy(self.tables["chains"].get(root))

    async def ledger(self, indicator_id: str) -> Row | None:
        return _copy(self.tables["ledger_state"].get(indicator_id))


def _copy(row: Row | None) -> Row | None:
    return dict(row) if row is not None else None
