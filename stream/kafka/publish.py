"""What a worker tells Postgres after each batch: the balances and chain rows that changed.

Balances go on `<prefix>ledger` (ledger_state), chain rows on `<prefix>chain-row` (chain_nodes,
chain_payments), each keyed by what it describes and carrying its version or stage, so the
store keeps the newest copy whatever order copies from different workers arrive in.
"""

from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka.partitioner import DefaultPartitioner

from agents.validation.reference import ReferenceState
from stream.kafka.chainrows import node_message, payment_message
from stream.kafka.tables import PinnedTable
from stream.kafka.topics import CHAIN_ROWS, LEDGER

# The producers' partitioner (`treasury produce` and the workers): which partition owns a key.
_PARTITIONER = DefaultPartitioner()


class Publisher:
    """Sends the changes the accounts and payments tables recorded since the last `send()`."""

    def __init__(self, outputs: dict[str, Any], accounts: PinnedTable, payments: PinnedTable, state: ReferenceState,
                 partitions: int) -> None:
        self._outputs = outputs
        self._accounts = accounts
        self._payments = payments
        self._state = state
        self._every = list(range(partitions))

    def touch_partitions(self, partitions: set[int]) -> None:
        """Count every balance of these partitions as changed (a new owner publishes them once).

        A worker that died may have had a balance's last change committed before its message went
        out (nothing is redelivered then); publishing it again is harmless: the higher version wins.
        """
        for indicator_id in list(self._accounts):
            if _PARTITIONER(indicator_id.encode(), self._every, self._every) in partitions:
                self._accounts.touch(indicator_id)

    async def send(self) -> None:
        """Each changed balance (with its chain node), then each changed payment's chain row.

        The wall-clock stamp (an adapter's, not the core's) only orders copies of one version.
        """
        at = datetime.now(UTC).isoformat()
        indicators, roots = self._state.indicators, self._state.roots
        for indicator_id in sorted(self._accounts.take_dirty()):
            account = self._accounts.get(indicator_id)
            if account is None:
                continue
            key = indicator_id.encode()
            await self._outputs[LEDGER].send(key=key, value=orjson.dumps(
                [indicator_id, account.amount, account.allocated, account.reserved, account.spent, at,
                 account.version]))
            indicator, root = indicators.get(indicator_id), roots.get(indicator_id)
            if indicator is not None and root is not None:
                await self._outputs[CHAIN_ROWS].send(key=key, value=node_message(indicator, root, account))
        for payment_id in sorted(self._payments.take_dirty()):
            record = self._payments.get(payment_id)
            root = roots.get(record.indicator_id) if record is not None else None
            value = payment_message(payment_id, record, root) if root is not None else None
            if value is not None:
                await self._outputs[CHAIN_ROWS].send(key=payment_id.encode(), value=value)
