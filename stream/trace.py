"""`treasury trace ROOT`: one fund chain as a tree, with amounts, percent spent, age and anomalies.

The chain comes from a replay's output directory (chains.jsonl, alerts.jsonl, decisions.jsonl) or
from PostgreSQL. Payee accounts are masked to their last four digits unless asked otherwise.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import orjson

from agents.tracing.chain import masked, reconcile
from models.codec import decode_output
from models.errors import TreasuryError
from models.outputs import Alert, Chain, ChainNode, ChainPayment

# Alerts whose subject is a chain's indicator or payment are the chain's anomalies.
_LIVE = ("open", "acknowledged")
_M = TypeVar("_M", Chain, Alert)


@dataclass(slots=True)
class TraceView:
    """A chain with the unresolved alerts about its nodes and payments, as of an event time."""

    chain: Chain
    as_of: datetime | None
    anomalies: dict[str, list[Alert]] = field(default_factory=dict)  # subject id -> alerts


def from_directory(directory: Path, root: str) -> TraceView:
    """The chain `root` as a replay left it in `directory`."""
    chains = directory / "chains.jsonl"
    if not chains.is_file():
        raise TreasuryError(f"{directory} has no chains.jsonl: is it a `treasury replay --out` directory?")
    found = next((c for c in _records(chains, Chain) if c.root == root), None)
    if found is None:
        raise TreasuryError(f"no chain with root {root!r} in {chains}")
    latest: dict[str, Alert] = {}
    for alert in _records(directory / "alerts.jsonl", Alert):
        latest[alert.alert_id] = alert  # every state change in order: the last one is the state
    as_of = None
    for line in _lines(directory / "decisions.jsonl"):
        # Only one field is needed: orjson, not a full decision model per line.
        decided_at = datetime.fromisoformat(orjson.loads(line)["data"]["decided_at"])
        as_of = decided_at if as_of is None or decided_at > as_of else as_of
    return view_of(found, latest.values(), as_of)


def view_of(chain: Chain, alerts: Iterable[Alert], as_of: datetime | None) -> TraceView:
    """The chain with the unresolved alerts about its indicators and payments."""
    subjects = {n.indicator_id for n in chain.nodes} | {p.payment_id for p in chain.payments}
    anomalies: dict[str, list[Alert]] = defaultdict(list)
    for alert in alerts:
        if alert.status in _LIVE and alert.subject.id in subjects:
            anomalies[alert.subject.id].append(alert)
    return TraceView(chain, as_of, dict(anomalies))


def _lines(path: Path) -> Iterator[bytes]:
    if not path.is_file():
        return
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                yield line


def _records(path: Path, model: type[_M]) -> Iterator[_M]:
    for line in _lines(path):
        record = decode_output(line)
        if isinstance(record, model):
            yield record


def render_json(view: TraceView, unmask: bool) -> str:
    chain = view.chain if unmask else masked(view.chain)
    return chain.model_dump_json(exclude_none=True)


def render_tree(view: TraceView, unmask: bool = False, payments_per_node: int = 5) -> str:
    """The chain top-down as a tree; each node with its totals, each anomaly marked with its code."""
    chain = view.chain if unmask else masked(view.chain)
    children: dict[str | None, list[ChainNode]] = defaultdict(list)
    ids = {n.indicator_id for n in chain.nodes}
    for node in chain.nodes:  # already top-down; a parent outside the chain makes a top node
        parent = node.parent_indicator_id if node.parent_indicator_id in ids else None
        children[parent].append(node)
    paid: dict[str, list[ChainPayment]] = defaultdict(list)
    for payment in chain.payments:
        paid[payment.indicator_id].append(payment)
    spent_below = _subtree_spent(chain, children)
    lines = [_headline(view, chain, children)]
    ctx = _Render(view, paid, spent_below, children, payments_per_node, lines)
    tops = children[None]
    for i, node in enumerate(tops):
        ctx.node(node, "", i == len(tops) - 1)
    mismatches = reconcile(view.chain)
    lines.append("reconciles: every allocation equals its children, every ledger its payments" if not mismatches
                 else "DOES NOT RECONCILE:\n" + "\n".join(f"  {m.describe()}" for m in mismatches))
    return "\n".join(lines)


@dataclass(slots=True)
class _Render:
    view: TraceView
    paid: dict[str, list[ChainPayment]]
    spent_below: dict[str, int]
    children: dict[str | None, list[ChainNode]]
    payments_per_node: int
    lines: list[str]

    def node(self, node: ChainNode, prefix: str, last: bool) -> None:
        branch, below = ("└─ ", "   ") if last else ("├─ ", "│  ")
        self.lines.append(f"{prefix}{branch}{_node_line(node, self.spent_below[node.indicator_id], self.view)}")
        inner = prefix + below
        kids = self.children.get(node.indicator_id, [])
        payments = self.paid.get(node.indicator_id, [])
        if payments:
            self.lines.append(f"{inner}{'│  ' if kids else '   '}{_payments_line(payments)}")
            flagged = [p for p in payments if p.payment_id in self.view.anomalies]
            for p in flagged[: self.payments_per_node]:
                self.lines.append(f"{inner}{'│  ' if kids else '   '}{_payment_line(p, self.view)}")
            if len(flagged) > self.payments_per_node:
                more = len(flagged) - self.payments_per_node
                self.lines.append(f"{inner}{'│  ' if kids else '   '}… {more} more flagged payments")
        for i, kid in enumerate(kids):
            self.node(kid, inner, i == len(kids) - 1)


def _subtree_spent(chain: Chain, children: dict[str | None, list[ChainNode]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for node in reversed(chain.nodes):  # bottom-up: children come after their parents
        total[node.indicator_id] = node.spent + sum(total[k.indicator_id] for k in children.get(node.indicator_id, []))
    return total


def _headline(view: TraceView, chain: Chain, children: dict[str | None, list[ChainNode]]) -> str:
    amount = sum(n.amount for n in children[None])
    settled = sum(p.amount for p in chain.payments if p.status == "settled")
    flagged = sum(len(a) for a in view.anomalies.values())
    as_of = f" · as of {view.as_of.date().isoformat()}" if view.as_of is not None else ""
    return (f"{chain.root} · {len(chain.nodes)} indicators · {len(chain.payments)} payments{as_of}\n"
            f"amount {yuan(amount)} · settled to recipients {yuan(settled)} ({_percent(settled, amount)})"
            f" · {flagged} open anomalies")


def _node_line(node: ChainNode, spent_below: int, view: TraceView) -> str:
    age = ""
    if view.as_of is not None:
        age = f" ({(view.as_of - node.issued_at).days} d)"
    marks = "".join(f"  ⚠ {a.code}" for a in view.anomalies.get(node.indicator_id, []))
    return (f"{node.indicator_id}  {node.treasury_code}/{node.agency_code}  amount {yuan(node.amount)}"
            f"  allocated {_percent(node.allocated, node.amount)}  spent {_percent(spent_below, node.amount)}"
            f"  issued {node.issued_at.date().isoformat()}{age}{marks}")


def _payments_line(payments: list[ChainPayment]) -> str:
    by_status: Counter[str] = Counter()
    amounts: Counter[str] = Counter()
    for p in payments:
        by_status[p.status] += 1
        amounts[p.status] += p.amount
    parts = [f"{status} {by_status[status]} ({yuan(amounts[status])})" for status in sorted(by_status)]
    return f"payments {len(payments)}: " + " · ".join(parts)


def _payment_line(payment: ChainPayment, view: TraceView) -> str:
    codes = " ".join(a.code for a in view.anomalies[payment.payment_id])
    return (f"⚠ {codes} {payment.payment_id} → {payment.payee_name} {payment.payee_account}"
            f" ({payment.payee_kind}) {yuan(payment.amount)} {payment.status}")


def yuan(fen: int) -> str:
    """Fen as yuan with thousands separators: 1234567 -> '12,345.67'."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def _percent(part: int, whole: int) -> str:
    if whole <= 0:
        return "—"
    tenths = part * 1000 // whole  # integer arithmetic: no float near money
    return f"{tenths // 10}.{tenths % 10}%"
