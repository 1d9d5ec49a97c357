"""The store as the CLI needs it: the database URL from settings, migrations, a file+database sink."""

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from stream.settings import Settings
from stream.sinks import FileSink, Sink
from stream.store.errors import StoreError, describe_dsn
from stream.store.migrate import migrate
from stream.store.postgres import PostgresStore
from stream.store.rows import alert_of
from stream.store.tee import TeeSink

if TYPE_CHECKING:
    from stream.trace import TraceView


def require_database_url(settings: Settings) -> str:
    """DATABASE_URL, or a StoreError saying how to set it."""
    url = (settings.database_url or "").strip()
    if not url:
        raise StoreError(
            "DATABASE_URL is not set: export DATABASE_URL=postgresql://USER[:PASSWORD]@HOST:PORT/DATABASE"
        )
    return url


def with_database(settings: Settings, announce: Callable[[str], None] | None = None) -> Settings:
    """Settings naming a database: DATABASE_URL when set, else the bundled PostgreSQL, started now.

    The bundled server (stream.store.bundled) stops when the last process using it exits.
    """
    if (settings.database_url or "").strip():
        return settings
    from stream.store.bundled import start

    bundled = start(settings)
    if announce is not None:
        announce(bundled.describe())
    return settings.model_copy(update={"database_url": bundled.url})


async def run_migrations(settings: Settings) -> str:
    """Apply pending migrations; a one-line report for the terminal."""
    url = require_database_url(settings)
    # A migration may rewrite a large table: at least five minutes per statement.
    timeout = max(settings.db_command_timeout_s, 300.0)
    applied = await migrate(url, connect_timeout_s=settings.db_connect_timeout_s, command_timeout_s=timeout)
    where = describe_dsn(url)
    if not applied:
        return f"database      {where}: schema up to date"
    return f"database      {where}: applied migration(s) {', '.join(f'{v:04d}' for v in applied)}"


def file_and_database_sink(out: Path, settings: Settings) -> Sink:
    """The output files plus the PostgreSQL store (migrate first: `run_migrations`)."""
    store = PostgresStore.from_settings(settings, require_database_url(settings))
    return TeeSink(FileSink(out), store)


async def trace_view(settings: Settings, root: str) -> "TraceView":
    """`treasury trace --db`: the chain and its unresolved alerts from PostgreSQL."""
    from stream.trace import view_of

    store = PostgresStore.from_settings(settings, require_database_url(settings))
    await store.open()
    try:
        chain = await store.chain(root)
        if chain is None:
            raise StoreError(f"no chain with root {root!r} in {describe_dsn(store.dsn)}")
        alerts = [alert_of(row) for status in ("open", "acknowledged") for row in await store.alerts(status)]
    finally:
        await store.close()
    return view_of(chain, alerts, None)

__all__ = [
    "alert_of", "file_and_database_sink", "require_database_url", "run_migrations", "trace_view", "with_database",
]
