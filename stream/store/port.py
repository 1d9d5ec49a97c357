"""The Store port: a Sink (open / write / close) that also keeps the ledger and answers queries."""

from collections.abc import Iterable
from datetime import date
from typing import Protocol

from models.outputs import AlertStatus, Chain, ChainNode, ChainPayment
from stream.sinks import Sink
from stream.store.queries import AlertFilter, AuditEntry, HeldFilter
from stream.store.rows import LedgerTuple, Row

# (root, the payment, its indicator and every indicator above it)
PaymentPath = tuple[str, ChainPayment, list[ChainNode]]


class Store(Sink, Protocol):
    """Where the runtimes persist their outputs; every write is idempotent (see `merge`)."""

    async def write_ledger(self, ledger: Iterable[LedgerTuple]) -> None: ...

    async def write_chain_rows(self, nodes: Iterable[Row], payments: Iterable[Row]) -> None:
        """Chain rows from the Kafka workers (see merge.py for which copy wins)."""
        ...

    async def decision(self, payment_id: str) -> Row | None: ...

    async def decision_count(self) -> int: ...

    async def decision_history(self, payment_id: str) -> list[Row]: ...

    async def alerts(self, status: AlertStatus | None = None) -> list[Row]: ...

    async def alert_history(self, alert_id: str) -> list[Row]: ...

    async def alert(self, alert_id: str) -> Row | None: ...

    async def alert_page(self, wanted: AlertFilter) -> list[Row]:
        """At most `wanted.limit` alerts after `wanted.after`, newest occurrence first."""
        ...

    async def held_page(self, wanted: HeldFilter) -> list[Row]:
        """Held payments in arrival order, with treasury_code and the chain payment's columns when known."""
        ...

    async def write_audit(self, entry: AuditEntry) -> int:
        """Append one audit row; its id."""
        ...

    async def audit_log(self, target: str | None = None, limit: int = 100) -> list[Row]:
        """The latest audit rows first, of one target or all."""
        ...

    async def ping(self) -> None:
        """Raises StoreError unless the store can answer (readiness)."""
        ...

    async def deadletter_count(self) -> int: ...

    async def forecast(self, treasury_code: str, as_of: date | None = None) -> Row | None:
        """The forecast a treasury got on `as_of`, or its latest one."""
        ...

    async def chain(self, root: str) -> Chain | None:
        """The chain walked down from its top indicators, with the payments made from it."""
        ...

    async def payment_path(self, payment_id: str) -> PaymentPath | None:
        """A payment out of a chain and the indicators above it, its own first."""
        ...

    async def ledger(self, indicator_id: str) -> Row | None: ...
