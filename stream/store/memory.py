"""MemoryStore: the Store port in plain dicts, with exactly the PostgreSQL store's semantics."""

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from models.base import WireModel
from models.outputs import AlertStatus, Chain
from stream.store import rows
from stream.store.merge import (
    Grouped,
    add_chain_rows,
    alert_supersedes,
    chain_node_supersedes,
    chain_payment_supersedes,
    group,
    group_ledger,
    ledger_supersedes,
    supersedes,
)
from stream.store.port import PaymentPath
from stream.store.queries import (
    AlertFilter,
    AuditEntry,
    HeldFilter,
    alert_matches,
    alert_treasury,
    check_limit,
    newest_first,
)
from stream.store.rows import LedgerTuple, Row


class MemoryStore:
    """For tests and small embedded runs; the rules live in `stream.store.merge`."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[Any, Row]] = {
            name: {} for name in ("decisions", "decision_history", "alerts", "alert_history", "deadletters",
                                  "forecasts", "chain_nodes", "chain_payments", "ledger_state", "operator_audit")
        }
        self.batches = 0

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def ping(self) -> None:
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
        self._chain_rows(grouped.chain_nodes.values(), grouped.chain_payments.values())
        self.batches += 1

    async def write_ledger(self, ledger: Iterable[LedgerTuple]) -> None:
        table = self.tables["ledger_state"]
        for indicator_id, row in group_ledger(rows.ledger_rows(ledger)).items():
            stored = table.get(indicator_id)
            if stored is None or ledger_supersedes(row, stored):
                table[indicator_id] = row

    async def write_chain_rows(self, nodes: Iterable[Row], payments: Iterable[Row]) -> None:
        batch = Grouped()
        add_chain_rows(batch, nodes, payments)
        self._chain_rows(batch.chain_nodes.values(), batch.chain_payments.values())

    def _chain_rows(self, nodes: Iterable[Row], payments: Iterable[Row]) -> None:
        for table, key, wins, found in (("chain_nodes", "indicator_id", chain_node_supersedes, nodes),
                                        ("chain_payments", "payment_id", chain_payment_supersedes, payments)):
            for row in found:
                stored = self.tables[table].get(row[key])
                if stored is None or wins(row, stored):
                    self.tables[table][row[key]] = row

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
        return [dict(row) for row in sorted(found, key=rows.alert_history_order)]

    async def alert(self, alert_id: str) -> Row | None:
        return _copy(self.tables["alerts"].get(alert_id))

    async def alert_page(self, wanted: AlertFilter) -> list[Row]:
        check_limit(wanted.limit)
        node_treasury = {k: r["treasury_code"] for k, r in self.tables["chain_nodes"].items()}
        paid_from = {k: r["indicator_id"] for k, r in self.tables["decisions"].items()}
        found = [row for row in self.tables["alerts"].values()
                 if alert_matches(row, wanted, alert_treasury(row, node_treasury, paid_from))]
        return [dict(row) for row in newest_first(found)[:wanted.limit]]

    async def held_page(self, wanted: HeldFilter) -> list[Row]:
        check_limit(wanted.limit)
        nodes, paid = self.tables["chain_nodes"], self.tables["chain_payments"]
        found = []
        for row in self.tables["decisions"].values():
            node, payment = nodes.get(row["indicator_id"]), paid.get(row["payment_id"])
            treasury = node["treasury_code"] if node is not None else None
            if row["outcome"] != "held" or (wanted.treasury is not None and treasury != wanted.treasury):
                continue
            if wanted.after is not None and (row["decided_at"], row["payment_id"]) <= wanted.after:
                continue
            extra = {name: payment[name] if payment is not None else None
                     for name in ("amount_fen", "payee_name", "payee_account", "payee_kind")}
            found.append({**row, "treasury_code": treasury, **extra})
        found.sort(key=lambda r: (r["decided_at"], r["payment_id"]))
        return found[:wanted.limit]

    async def write_audit(self, entry: AuditEntry) -> int:
        table = self.tables["operator_audit"]
        audit_id = len(table) + 1
        table[audit_id] = {"audit_id": audit_id, **entry.row()}
        return audit_id

    async def audit_log(self, target: str | None = None, limit: int = 100) -> list[Row]:
        check_limit(limit)
        found = [r for r in self.tables["operator_audit"].values() if target is None or r["target"] == target]
        return [dict(r) for r in sorted(found, key=lambda r: -r["audit_id"])[:limit]]

    async def deadletter_count(self) -> int:
        return len(self.tables["deadletters"])

    async def forecast(self, treasury_code: str, as_of: date | None = None) -> Row | None:
        if as_of is not None:
            return _copy(self.tables["forecasts"].get((treasury_code, as_of)))
        days = [key[1] for key in self.tables["forecasts"] if key[0] == treasury_code]
        return _copy(self.tables["forecasts"][(treasury_code, max(days))]) if days else None

    async def chain(self, root: str) -> Chain | None:
        nodes = self.tables["chain_nodes"]
        found = [row for row in nodes.values() if row["root"] == root and row["parent_indicator_id"] is None]
        frontier = list(found)
        while frontier and len(found) <= len(nodes):  # down the parent links, as the recursive SQL does
            ids = {row["indicator_id"] for row in frontier}
            frontier = [row for row in nodes.values() if row["parent_indicator_id"] in ids]
            found.extend(frontier)
        ids = {row["indicator_id"] for row in found}
        payments = [row for row in self.tables["chain_payments"].values() if row["indicator_id"] in ids]
        return rows.chain_of(root, found, payments) if found else None

    async def payment_path(self, payment_id: str) -> PaymentPath | None:
        payment = self.tables["chain_payments"].get(payment_id)
        if payment is None:
            return None
        nodes = self.tables["chain_nodes"]
        path: list[Row] = []
        current = nodes.get(payment["indicator_id"])
        while current is not None and len(path) <= len(nodes):
            path.append(current)
            current = nodes.get(current["parent_indicator_id"]) if current["parent_indicator_id"] else None
        return payment["root"], rows.payment_of(payment), [rows.node_of(row) for row in path]

    async def ledger(self, indicator_id: str) -> Row | None:
        return _copy(self.tables["ledger_state"].get(indicator_id))


def _copy(row: Row | None) -> Row | None:
    return dict(row) if row is not None else None
