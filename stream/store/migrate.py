"""Versioned SQL migrations (package data `migrations/NNNN_name.sql`), applied once each, in order.

`migrate` takes a session advisory lock (concurrent migrators wait for each other), creates
`schema_migrations` if missing, refuses a database newer than this code or one whose applied
file was changed since, then applies each pending file in its own transaction.
"""

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

import asyncpg

from stream.store.errors import StoreError, translate

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 0x7472_6561_7375_7279 & 0x7FFF_FFFF_FFFF_FFFF  # "treasury", fits a bigint
_BOOTSTRAP = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    sha256     text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@cache
def known_migrations() -> tuple[Migration, ...]:
    """The migrations shipped with this code, by version; versions run 1, 2, 3... without gaps."""
    found = []
    for entry in files("stream.store").joinpath("migrations").iterdir():
        match = _FILE.match(entry.name)
        if match is not None:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise StoreError(f"packaged migrations are not numbered 1..n: {[m.version for m in found]}")
    return tuple(found)


def latest_version() -> int:
    return known_migrations()[-1].version


async def connect(dsn: str, connect_timeout_s: float, command_timeout_s: float, doing: str) -> Any:
    """One asyncpg connection, with every failure translated into StoreError."""
    try:
        return await asyncpg.connect(
            dsn, timeout=connect_timeout_s, command_timeout=command_timeout_s,
            server_settings={"application_name": "treasury-migrate"},
        )
    except Exception as error:
        raise translate(error, doing, dsn) from None


async def migrate(dsn: str, *, connect_timeout_s: float = 10.0, command_timeout_s: float = 300.0) -> list[int]:
    """Apply the pending migrations; return their versions (empty when the schema is current)."""
    conn = await connect(dsn, connect_timeout_s, command_timeout_s, "connecting to migrate")
    doing = "migrating"
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        try:
            await conn.execute(_BOOTSTRAP)
            applied = {r["version"]: r for r in await conn.fetch("SELECT version, name, sha256 FROM schema_migrations")}
            pending = _pending(applied)
            done = []
            for migration in pending:
                doing = f"applying migration {migration.version:04d}_{migration.name}"
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name, sha256) VALUES ($1, $2, $3)",
                        migration.version, migration.name, migration.sha256,
                    )
                done.append(migration.version)
            return done
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    except Exception as error:
        raise translate(error, doing, dsn) from None
    finally:
        try:
            await conn.close(timeout=connect_timeout_s)
        except Exception:  # a broken connection: drop it, keep the error that broke it
            conn.terminate()


def _pending(applied: dict[int, Any]) -> list[Migration]:
    known = {m.version: m for m in known_migrations()}
    newer = sorted(v for v in applied if v not in known)
    if newer:
        raise StoreError(
            f"the database has schema version {newer[-1]}, newer than this code knows ({latest_version()}): "
            "upgrade treasury-engine before using this database"
        )
    for version, row in sorted(applied.items()):
        if row["sha256"] != known[version].sha256:
            raise StoreError(
                f"migration {version:04d}_{row['name']} was changed after it was applied: "
                "never edit an applied migration, add a new numbered file"
            )
    return [m for version, m in sorted(known.items()) if version not in applied]


async def schema_version(conn: Any) -> int:
    """The highest applied version, or 0 when the database was never migrated."""
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return 0
    return int(await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations"))
