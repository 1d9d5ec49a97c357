"""Topic names and message keys: which partition owns which state (single writer per key)."""

from dataclasses import dataclass
from typing import Any, Final

from models.base import WireModel
from models.codec import INPUT_TYPES
from models.outputs import Alert, DeadLetter, Decision

# The key field of each input type. Indicators, payments and settlements are keyed by the
# indicator so its ledger has one writer; an allocation's debit on its parent runs as a step on
# the parent's partition (agents/validation/budget.py). Reference data is keyed by its id.
INPUT_KEYS: Final[dict[str, str]] = {
    "indicator": "indicator_id",
    "project": "project_id",
    "payment": "indicator_id",
    "settlement": "indicator_id",
    "treasury_balance": "treasury_code",
    "treasury_flow": "treasury_code",
    "payee_block": "account",
    "clock": "now",
}
# Inputs every partition needs whole: each message is written to *every* partition of its topic,
# so each partition reads them in event-time order with its own payments (no cross-worker race).
BROADCAST_INPUTS: Final = ("project", "payee_block", "clock")
# What the validation agent reads, co-partitioned and merged by event time; on equal times the
# reference data goes first, as it does in a file.
# `clock` moves each partition's event time (the tracing deadlines: ARCHITECTURE.md, "Lanes").
LEDGER_INPUTS: Final = ("project", "payee_block", "clock", "indicator", "payment", "settlement")
OUTPUTS: Final = ("decision", "alert", "deadletter")
# Header carrying the source's own message order (the file's line number from `treasury produce`).
SEQ_HEADER: Final = "treasury-seq"
# Header carrying the partition sequence: `treasury produce` numbers every message it writes to
# partition p of the LEDGER_INPUTS topics 1, 2, 3, … (one counter per partition over all those
# topics, continued across runs), so the worker merges them back exactly (stream/kafka/align.py).
PSEQ_HEADER: Final = "treasury-pseq"
# Internal: allocation steps handed from one indicator's partition to another's.
STEPS: Final = "indicator-step"
# Internal: indicator balances after each batch, for the Postgres ledger_state table.
LEDGER: Final = "ledger"
# Internal: chain rows (nodes and payments) each worker writes, for chain_nodes/chain_payments.
CHAIN_ROWS: Final = "chain-row"
# Internal: operator commands to the owning partition, and their answers (stream/kafka/operator.py).
OPERATOR: Final = "operator"
OPERATOR_RESULT: Final = "operator-result"
# Internal: each batch's state changes, whole, before its changelog messages (stream/kafka/wal.py).
JOURNAL: Final = "state-journal"
# The workers' state tables (faust names each one's changelog `<app id>-<name>-changelog`);
# `treasury worker` creates those topics before it starts (stream/kafka/admin.py).
STATE_TABLES: Final = ("alert-book", "deadlines", "sequences", "accounts", "indicators", "direct-fund", "roots",
                       "allocations", "pending", "early-debits", "projects", "blocklist", "payments", "parked",
                       "early-settlements", "payee-history")


def changelog_topics(app_id: str) -> list[str]:
    return [f"{app_id}-{name}-changelog" for name in STATE_TABLES]


@dataclass(frozen=True, slots=True)
class Topics:
    """Topic names under one prefix (`treasury.` by default: `treasury.payment`, …)."""

    prefix: str

    def name(self, kind: str) -> str:
        return f"{self.prefix}{kind}"

    def kind(self, topic: str) -> str | None:
        """The contract type a topic carries, or None for a topic not ours."""
        if not topic.startswith(self.prefix):
            return None
        kind = topic[len(self.prefix):]
        internal = (STEPS, LEDGER, CHAIN_ROWS, OPERATOR, OPERATOR_RESULT, JOURNAL)
        return kind if kind in INPUT_TYPES or kind in OUTPUTS or kind in internal else None


def key_of(kind: str, data: Any) -> str | None:
    """The routing key of an input's `data` object, or None when it cannot be routed."""
    if not isinstance(data, dict):
        return None
    field = INPUT_KEYS.get(kind)
    if field is None:
        return None
    value = data.get(field)
    return value if isinstance(value, str) and 0 < len(value) <= 256 else None


def output_key(model: WireModel) -> bytes:
    """The key an output is written with: what it is about (a payment, an alert, a source)."""
    if isinstance(model, Decision):
        return model.payment_id.encode()
    if isinstance(model, Alert):
        return model.alert_id.encode()
    if isinstance(model, DeadLetter):
        return model.source.encode()
    return b""


def sequence_of(headers: Any, name: str = SEQ_HEADER) -> int:
    """A positive number from a message's header (the line number by default), 0 when absent or bad."""
    pairs = headers.items() if isinstance(headers, dict) else headers or ()
    for key, value in pairs:
        if key == name and value:
            try:
                number = int(value)
            except (TypeError, ValueError):
                return 0
            return number if 0 < number < 1 << 63 else 0
    return 0


def pseq_of(headers: Any) -> int:
    """The partition sequence number `treasury produce` gave a message, 0 when it has none."""
    return sequence_of(headers, PSEQ_HEADER)
