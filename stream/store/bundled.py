"""The bundled PostgreSQL: a private server from the `pgserver` wheel, for `replay --db` without DATABASE_URL.

Its cluster is `<data dir>/pg` (TREASURY_DATA_DIR, default ~/.local/share/treasury) and keeps its data
between runs; the outputs go to its database `treasury`. The server listens only on a Unix socket in
that directory (no TCP port, trust authentication: only local users who can reach the socket get
in). It starts when a command needs it, is shared by commands running at the same time, and stops
when the last of them exits; one left running by a killed command is reused by the next.

As root, pgserver runs PostgreSQL (which refuses root) as the system user `pgserver`, creating it if
missing, gives it the data directory, and makes the data directory's parents traversable by others
(chmod o+rx up to /) so that user can reach it.

Importing this module does not import pgserver (an optional dependency: `treasury-engine[bundled]`).
"""

import asyncio
import subprocess
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stream.settings import Settings
from stream.store.errors import StoreError, translate

DATABASE = "treasury"
_DUPLICATE = ("42P04", "23505")  # duplicate_database; unique_violation when two creators race


def data_dir(settings: Settings) -> Path:
    """TREASURY_DATA_DIR, else ~/.local/share/treasury (absolute)."""
    chosen = settings.data_dir
    if chosen is None:
        try:
            chosen = Path.home() / ".local" / "share" / "treasury"
        except RuntimeError:
            raise StoreError("cannot find the home directory: set TREASURY_DATA_DIR (or DATABASE_URL)") from None
    return chosen.expanduser().absolute()


@dataclass(frozen=True, slots=True)
class BundledPostgres:
    """A running bundled server; `url` reaches its `treasury` database over the Unix socket."""

    url: str
    pgdata: Path
    version: str
    _server: Any = field(repr=False, compare=False)

    def describe(self) -> str:
        return (f"database      bundled PostgreSQL {self.version} in {self.pgdata} "
                "(Unix socket only; set DATABASE_URL to use another server)")

    def close(self) -> None:
        """Give up this process's use of the server: it stops if no other process uses it."""
        self._server.cleanup()


def start(settings: Settings, database: str = DATABASE, fresh: bool = False) -> BundledPostgres:
    """Start the bundled server (or join the one running on the same data directory); create `database`.

    `fresh` drops the database first (the demo starts from an empty one each run).
    """
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset: noise to a user
        warnings.filterwarnings("ignore", module="platformdirs")
        try:
            from pgserver.postgres_server import get_server
        except ImportError:
            raise StoreError(
                "DATABASE_URL is not set and the bundled PostgreSQL is not installed: "
                "pip install 'treasury-engine[bundled]', or export "
                "DATABASE_URL=postgresql://USER[:PASSWORD]@HOST:PORT/DATABASE"
            ) from None
    pgdata = data_dir(settings) / "pg"
    try:
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = get_server(pgdata, cleanup_mode="stop")
    except subprocess.TimeoutExpired:
        raise StoreError(
            f"the bundled PostgreSQL in {pgdata} did not start in time; its log: {pgdata / 'log'}"
        ) from None
    except (OSError, subprocess.SubprocessError, AssertionError, RuntimeError) as error:
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise StoreError(
            f"cannot start the bundled PostgreSQL in {pgdata}: {reason}; its log: {pgdata / 'log'}"
        ) from None
    try:
        asyncio.run(_ensure_database(server.get_uri(), settings.db_connect_timeout_s, database, fresh))
        version = (pgdata / "PG_VERSION").read_text(encoding="ascii").strip()
    except BaseException:
        server.cleanup()
        raise
    return BundledPostgres(url=server.get_uri(database), pgdata=pgdata, version=version, _server=server)


async def _ensure_database(admin_url: str, timeout_s: float, database: str, fresh: bool) -> None:
    import asyncpg

    doing = f"creating the database {database} in the bundled server"
    try:
        conn = await asyncpg.connect(admin_url, timeout=timeout_s, command_timeout=60)
    except Exception as error:
        raise translate(error, doing, admin_url) from None
    try:
        if fresh:
            await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database) is None:
            try:
                await conn.execute(f'CREATE DATABASE "{database}"')
            except Exception as error:
                if getattr(error, "sqlstate", None) not in _DUPLICATE:
                    raise
    except Exception as error:
        raise translate(error, doing, admin_url) from None
    finally:
        await conn.close()
