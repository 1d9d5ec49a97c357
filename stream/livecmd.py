"""`treasury live` and `treasury alerts`: the live embedded runtime behind the API, and the alert list.

`live` streams a JSON-lines file through the embedded engine (as fast as it goes, or paced), and
serves the API beside it with operator actions, the alert stream and the configured alert sinks;
it keeps serving after the file ends until stopped. `alerts` lists alerts from PostgreSQL.
"""

import asyncio
import time
from pathlib import Path
from typing import Any

from models.errors import TreasuryError
from stream.embedded import Overlong, read_lines
from stream.live import LiveRuntime
from stream.settings import Settings
from stream.store.port import Store
from stream.store.queries import AlertFilter
from stream.store.rows import Row


async def feed(runtime: LiveRuntime, path: Path, batch_lines: int, max_line_bytes: int,
               lines_per_s: float | None = None) -> int:
    """Push a file's lines into the runtime, in order; paced to `lines_per_s` when given."""
    sent, started = 0, time.monotonic()
    step = batch_lines if lines_per_s is None else max(1, min(batch_lines, int(lines_per_s / 10) or 1))
    batch: list[bytes] = []
    with path.open("rb") as handle:
        for _, item in read_lines(handle, max_line_bytes):
            batch.append(item.prefix if isinstance(item, Overlong) else item)  # a prefix: a dead letter
            if len(batch) >= step:
                await runtime.push(batch)
                sent += len(batch)
                batch = []
                if lines_per_s is not None:
                    await asyncio.sleep(max(0.0, started + sent / lines_per_s - time.monotonic()))
    if batch:
        await runtime.push(batch)
        sent += len(batch)
    return sent


async def run_live(path: Path, settings: Settings, port: int, lines_per_s: float | None, db: bool) -> None:
    """Serve the API on the live engine while the file streams in; until cancelled."""
    from stream.api.hub import AlertHub
    from stream.api.server import make_app, serve
    from stream.engine import Engine
    from stream.live import LiveOperator
    from stream.store.memory import MemoryStore

    if not path.is_file():
        raise TreasuryError(f"input file {path} does not exist or is not a file")
    store: Store = MemoryStore()
    if db:
        from stream.store.postgres import PostgresStore
        from stream.store.wiring import require_database_url, run_migrations, with_database

        settings = with_database(settings, announce=print)
        print(await run_migrations(settings))
        store = PostgresStore.from_settings(settings, require_database_url(settings))
    await store.open()
    sinks = settings.alert_sinks()
    hub = AlertHub(settings.sse_queue)
    runtime = LiveRuntime(Engine(settings.load_rules(), max_line_bytes=settings.max_line_bytes), store, hub,
                          store=store, outlets=list(sinks), queue_batches=settings.queue_batches,
                          source=path.name)

    async def running() -> tuple[bool, dict[str, Any]]:
        return runtime.running, {"engine": "running" if runtime.running else "stopped",
                                 "lines_applied": runtime.applied_lines}

    app = make_app(store, settings.load_tokens(), manage_store=False,
                   operator=LiveOperator(runtime, settings.operator_timeout_s), hub=hub, ready=[running],
                   keepalive_s=settings.sse_keepalive_s)
    for sink in sinks:
        await sink.start()
    engine_task = asyncio.create_task(runtime.run())
    server_task = asyncio.create_task(serve(app, settings.web_bind, port))
    print(f"serving       http://{settings.web_bind}:{port}/api/ (Ctrl-C stops)")
    try:
        sent = await feed(runtime, path, settings.batch_lines, settings.max_line_bytes, lines_per_s)
        print(f"streamed      {sent:,} lines from {path}; still serving")
        await server_task
    finally:
        runtime.finish()
        hub.close()
        server_task.cancel()
        await asyncio.gather(engine_task, server_task, return_exceptions=True)
        for sink in sinks:
            await sink.close()
        await store.close()


async def list_alerts(settings: Settings, wanted: AlertFilter, unresolved: bool) -> list[Row]:
    """Alerts from PostgreSQL by the filter; `unresolved`: open and acknowledged ones, newest first."""
    from stream.store.postgres import PostgresStore
    from stream.store.wiring import require_database_url

    store = PostgresStore.from_settings(settings, require_database_url(settings))
    await store.open()
    try:
        if not unresolved:
            return await store.alert_page(wanted)
        found = [row for status in ("open", "acknowledged")
                 for row in await store.alert_page(AlertFilter(status, wanted.code, wanted.severity,
                                                               wanted.treasury, None, wanted.limit))]
    finally:
        await store.close()
    found.sort(key=lambda r: r["alert_id"])
    found.sort(key=lambda r: r["opened_at"], reverse=True)
    return found[:wanted.limit]


def render_alerts(found: list[Row], as_json: bool) -> str:
    """A table (or JSON lines of the alert objects) for the terminal."""
    from models.codec import encode_data
    from stream.store.rows import alert_of

    if as_json:
        return "\n".join(encode_data(alert_of(row)).decode() for row in found)
    if not found:
        return "no alerts"
    header = ("OPENED", "SEVERITY", "CODE", "STATUS", "SUBJECT", "BY", "MESSAGE")
    rows = [(r["opened_at"].isoformat(timespec="minutes"), r["severity"], r["code"], r["status"],
             f"{r['subject_kind']}:{r['subject_id']}", r["actor"], r["message"]["zh"][:60]) for r in found]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header) - 1)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1]
             for row in [header, *rows]]
    return "\n".join(lines) + f"\n{len(found)} alert(s)"
