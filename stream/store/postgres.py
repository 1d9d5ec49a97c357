"""PostgresStore: the Store port on an asyncpg pool, one transaction per batch, idempotent writes."""

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import asyncpg
import orjson

from models.base import WireModel
from models.outputs import AlertStatus, Chain
from stream.settings import Settings
from stream.store import rows, sql
from stream.store.errors import StoreError, translate
from stream.store.merge import Grouped, add_chain_rows, group, group_ledger
from stream.store.migrate import latest_version, schema_version
from stream.store.port import PaymentPath
from stream.store.queries import AlertFilter, AuditEntry, HeldFilter, check_limit
from stream.store.rows import LedgerTuple, Row


class PostgresStore:
    """Writes each batch grouped by table, one `INSERT … SELECT unnest(…) ON CONFLICT` per chunk."""

    def __init__(
        self,
        dsn: str,
        *,
        pool_min: int = 1,
        pool_max: int = 4,
        command_timeout_s: float = 30.0,
        connect_timeout_s: float = 10.0,
        batch_rows: int = 5000,
    ) -> None:
        if not 1 <= pool_min <= pool_max:
            raise StoreError(f"pool limits must satisfy 1 <= min <= max, got min {pool_min}, max {pool_max}")
        if command_timeout_s <= 0 or connect_timeout_s <= 0 or batch_rows < 1:
            raise StoreError("timeouts must be positive and batch_rows at least 1")
        self.dsn = dsn
        self.pool_min, self.pool_max = pool_min, pool_max
        self.command_timeout_s, self.connect_timeout_s = command_timeout_s, connect_timeout_s
        self.batch_rows = batch_rows
        self.rows_written = 0  # rows sent (including those the rules then left unchanged)
        self._pool: Any = None

    @classmethod
    def from_settings(cls, settings: Settings, dsn: str) -> "PostgresStore":
        return cls(
            dsn, pool_min=settings.db_pool_min, pool_max=settings.db_pool_max,
            command_timeout_s=settings.db_command_timeout_s, connect_timeout_s=settings.db_connect_timeout_s,
            batch_rows=settings.db_batch_rows,
        )

    async def open(self) -> None:
        """Create the pool and check the schema is exactly the one this code writes."""
        if self._pool is not None:
            return
        try:
            self._pool = await asyncio.wait_for(
                asyncpg.create_pool(
                    self.dsn, min_size=self.pool_min, max_size=self.pool_max, timeout=self.connect_timeout_s,
                    command_timeout=self.command_timeout_s, max_inactive_connection_lifetime=300.0,
                    server_settings={"application_name": "treasury"},
                ),
                timeout=self.connect_timeout_s * (self.pool_min + 1),
            )
        except Exception as error:
            raise translate(error, "connecting", self.dsn) from None
        try:
            async with self._connection("checking the schema version") as conn:
                version = await schema_version(conn)
            if version != latest_version():
                advice = "upgrade treasury-engine" if version > latest_version() else "run `treasury migrate`"
                needed = latest_version()
                raise StoreError(f"database schema is at version {version}, this code needs {needed}: {advice}")
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), timeout=self.command_timeout_s)
        except Exception:  # closing must not hide the error that led here
            pool.terminate()

    @asynccontextmanager
    async def _connection(self, doing: str) -> AsyncIterator[Any]:
        if self._pool is None:
            raise StoreError("the store is not open")
        try:
            async with self._pool.acquire(timeout=self.connect_timeout_s) as conn:
                yield conn
        except StoreError:
            raise
        except Exception as error:
            raise translate(error, doing, self.dsn) from None

    async def write(self, batch: Sequence[WireModel]) -> None:
        """Write one batch of outputs in one transaction; replaying it changes nothing."""
        grouped = group(batch)
        if not len(grouped):
            return
        async with self._connection("writing a batch") as conn, conn.transaction():
            for name, table in grouped.tables().items():
                statement, columns = sql.WRITES[name]
                await self._execute(conn, statement, columns, list(table.values()))

    async def write_ledger(self, ledger: Iterable[LedgerTuple]) -> None:
        """Upsert indicator balances; a row older (lower version) than the stored one is ignored."""
        found = group_ledger(rows.ledger_rows(ledger))
        if found:
            async with self._connection("writing the ledger") as conn, conn.transaction():
                await self._execute(conn, sql.UPSERT_LEDGER, rows.LEDGER_COLUMNS, list(found.values()))

    async def write_chain_rows(self, nodes: Iterable[Row], payments: Iterable[Row]) -> None:
        """Upsert chain rows written by the workers; an older copy of a row is ignored."""
        batch = Grouped()
        add_chain_rows(batch, nodes, payments)
        if not len(batch):
            return
        async with self._connection("writing chain rows") as conn, conn.transaction():
            for name in ("chain_nodes", "chain_payments"):
                table = batch.tables()[name]
                if table:
                    statement, columns = sql.WRITES[name]
                    await self._execute(conn, statement, columns, [table[k] for k in sorted(table)])

    async def _execute(self, conn: Any, statement: str, columns: Sequence[str], table: list[Row]) -> None:
        for start in range(0, len(table), self.batch_rows):
            chunk = table[start : start + self.batch_rows]
            arrays = [
                [_json(row[c]) for row in chunk] if c in sql.JSON_COLUMNS else [row[c] for row in chunk]
                for c in columns
            ]
            await conn.execute(statement, *arrays)
            self.rows_written += len(chunk)

    async def decision(self, payment_id: str) -> Row | None:
        return await self._one(sql.SELECT_DECISION, payment_id)

    async def decision_count(self) -> int:
        return await self._count("decisions")

    async def decision_history(self, payment_id: str) -> list[Row]:
        return await self._all(sql.SELECT_DECISION_HISTORY, payment_id)

    async def alerts(self, status: AlertStatus | None = None) -> list[Row]:
        return await self._all(sql.SELECT_ALERTS, status)

    async def alert_history(self, alert_id: str) -> list[Row]:
        return await self._all(sql.SELECT_ALERT_HISTORY, alert_id)

    async def alert(self, alert_id: str) -> Row | None:
        return await self._one(sql.SELECT_ALERT, alert_id)

    async def alert_page(self, wanted: AlertFilter) -> list[Row]:
        after_at, after_id = wanted.after or (None, None)
        return await self._all(sql.SELECT_ALERT_PAGE, wanted.status, wanted.code, wanted.severity, wanted.treasury,
                               after_at, after_id, check_limit(wanted.limit))

    async def held_page(self, wanted: HeldFilter) -> list[Row]:
        after_at, after_id = wanted.after or (None, None)
        return await self._all(sql.SELECT_HELD_PAGE, wanted.treasury, after_at, after_id, check_limit(wanted.limit))

    async def write_audit(self, entry: AuditEntry) -> int:
        async with self._connection("writing the audit log") as conn:
            return int(await conn.fetchval(sql.INSERT_AUDIT, entry.at, entry.actor, entry.role, entry.action,
                                           entry.target, entry.outcome, entry.status, entry.detail))

    async def audit_log(self, target: str | None = None, limit: int = 100) -> list[Row]:
        return await self._all(sql.SELECT_AUDIT, target, check_limit(limit))

    async def ping(self) -> None:
        """Raises StoreError unless the database answers."""
        async with self._connection("checking the database") as conn:
            await conn.fetchval("SELECT 1")

    async def deadletter_count(self) -> int:
        return await self._count("deadletters")

    async def forecast(self, treasury_code: str, as_of: date | None = None) -> Row | None:
        return await self._one(sql.SELECT_FORECAST, treasury_code, as_of)

    async def chain(self, root: str) -> Chain | None:
        async with self._connection("walking a chain") as conn, conn.transaction(readonly=True,
                                                                                  isolation="repeatable_read"):
            nodes = [dict(r) for r in await conn.fetch(sql.SELECT_CHAIN_NODES, root)]
            ids = [n["indicator_id"] for n in nodes]
            payments = [dict(r) for r in await conn.fetch(sql.SELECT_CHAIN_PAYMENTS, ids)] if ids else []
        return rows.chain_of(root, nodes, payments) if nodes else None

    async def payment_path(self, payment_id: str) -> PaymentPath | None:
        async with self._connection("walking a payment up") as conn, conn.transaction(readonly=True,
                                                                                       isolation="repeatable_read"):
            payment = await conn.fetchrow(sql.SELECT_CHAIN_PAYMENT, payment_id)
            path = await conn.fetch(sql.SELECT_PAYMENT_PATH, payment_id)
        if payment is None:
            return None
        return payment["root"], rows.payment_of(dict(payment)), [rows.node_of(dict(r)) for r in path]

    async def ledger(self, indicator_id: str) -> Row | None:
        return await self._one(sql.SELECT_LEDGER, indicator_id)

    async def _count(self, table: str) -> int:
        async with self._connection(f"counting {table}") as conn:
            return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))  # noqa: S608 - fixed names

    async def _one(self, query: str, *args: Any) -> Row | None:
        found = await self._all(query, *args)
        return found[0] if found else None

    async def _all(self, query: str, *args: Any) -> list[Row]:
        async with self._connection("querying") as conn:
            records = await conn.fetch(query, *args)
        return [{k: orjson.loads(v) if k in sql.JSON_COLUMNS else v for k, v in r.items()} for r in records]


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()
