"""`treasury demo`: the generated region streamed in real time, with the console, API and /metrics served.

The embedded engine writes to the output files and to a store (the bundled PostgreSQL in its own
`treasury_demo` database, emptied each run; or DATABASE_URL; or memory with `--memory`), which
the API and the console read while the stream plays. Fresh tokens for every role are printed.
Ctrl-C (or `--duration`) stops the stream and the server cleanly.
"""

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from stream.api.auth import ROLES, Tokens, new_token
from stream.api.server import make_app
from stream.console.balances import MemoryBalanceHistory
from stream.console.routes import add_console
from stream.demo.live import LiveRun, Pace
from stream.embedded import RunStats
from stream.engine import Engine
from stream.metrics import EngineMetrics
from stream.settings import Settings
from stream.sinks import FileSink
from stream.store.port import Store

DEMO_DATABASE = "treasury_demo"
_PROGRESS_S = 5.0
Say = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class ShowOptions:
    """What `treasury demo` was asked for."""

    scenario: Path
    out: Path
    host: str
    port: int
    pace: Pace
    duration_s: float | None  # None: until Ctrl-C
    memory: bool  # no database: the API reads a MemoryStore


def demo_tokens(settings: Settings) -> tuple[Tokens, dict[str, str]]:
    """One fresh token per role (printed, never stored), plus any configured ones."""
    fresh = {role: new_token(role) for role in sorted(ROLES)}
    configured = settings.load_tokens().by_hash
    entries = ",".join(entry for _, entry in fresh.values())
    tokens = Tokens({**configured, **Tokens.parse(entries).by_hash})
    return tokens, {role: token for role, (token, _) in fresh.items()}


def open_store(settings: Settings, memory: bool, say: Say) -> tuple[Store, Callable[[], None]]:
    """The store the demo writes and serves, migrated; and what releases it at the end."""
    if memory:
        from stream.store.memory import MemoryStore

        say("database      none (--memory): the API reads the outputs kept in memory")
        return MemoryStore(), lambda: None
    from stream.store.postgres import PostgresStore
    from stream.store.wiring import require_database_url, run_migrations

    release: Callable[[], None] = lambda: None  # noqa: E731
    if not (settings.database_url or "").strip():
        from stream.store.bundled import start

        bundled = start(settings, database=DEMO_DATABASE, fresh=True)
        say(f"{bundled.describe()}; database {DEMO_DATABASE}, emptied for this run")
        settings = settings.model_copy(update={"database_url": bundled.url})
        release = bundled.close
    else:
        say("database      DATABASE_URL (the demo's outputs are added to what is there)")
    say(asyncio.run(run_migrations(settings)))
    return PostgresStore.from_settings(settings, require_database_url(settings)), release


def web_app(store: Store, tokens: Tokens, balances: MemoryBalanceHistory) -> web.Application:
    """The API over the store, the console beside it, and the process's /metrics."""
    app = make_app(store, tokens, manage_store=False)
    add_console(app, balances)
    if not any(getattr(r, "canonical", None) == "/metrics" for r in app.router.resources()):
        app.router.add_get("/metrics", _metrics)
    return app


async def _metrics(request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def show(options: ShowOptions, settings: Settings, store: Store, say: Say) -> RunStats:
    """Serve, stream, and stop on Ctrl-C or after the duration; the store is opened and closed here."""
    tokens, plain = demo_tokens(settings)
    balances = MemoryBalanceHistory()
    metrics = EngineMetrics()
    engine = Engine(settings.load_rules(), max_line_bytes=settings.max_line_bytes)
    run = LiveRun(engine, FileSink(options.out), store, metrics, balances)
    stop = asyncio.Event()
    _on_interrupt(stop)
    await store.open()
    runner = web.AppRunner(web_app(store, tokens, balances), access_log=None)
    try:
        await runner.setup()
        await web.TCPSite(runner, options.host, options.port).start()
        _announce(options, plain, say)
        if options.duration_s is not None:
            asyncio.get_running_loop().call_later(options.duration_s, stop.set)
        reporter = asyncio.create_task(_report(run, engine, stop, say))
        stats = await run.run(options.scenario, options.pace, stop)
        if not stop.is_set():
            say("stream        finished; the console stays up (Ctrl-C stops)")
            await stop.wait()
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter
    finally:
        await runner.cleanup()
        await store.close()
    return stats


def _on_interrupt(stop: asyncio.Event) -> None:
    """Ctrl-C ends the stream and the server cleanly (outputs flushed, chains written)."""
    with contextlib.suppress(NotImplementedError):  # no signal handlers on some platforms
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)


def _announce(options: ShowOptions, tokens: dict[str, str], say: Say) -> None:
    base = f"http://{options.host}:{options.port}"
    say(f"console       {base}/console/   (zh-CN; EN at the top right)")
    say(f"metrics       {base}/metrics")
    for role, token in tokens.items():
        say(f"token         {role:<10} {token}")
    pace = "as fast as it goes" if options.pace.day_s <= 0 else f"{options.pace.day_s:g} s per event-time day"
    until = "Ctrl-C" if options.duration_s is None else f"{options.duration_s:g} s"
    say(f"streaming     {options.scenario.name} at {pace}; stops on {until}")


async def _report(run: LiveRun, engine: Engine, stop: asyncio.Event, say: Say) -> None:
    """A progress line every few seconds: event day, events, outcomes, alerts."""
    last = time.monotonic()
    while not stop.is_set():
        await asyncio.sleep(0.5)
        if time.monotonic() - last < _PROGRESS_S:
            continue
        last = time.monotonic()
        stats = run.stats
        day = engine.now.date().isoformat() if engine.now is not None else "-"
        outcomes = " ".join(f"{k} {v:,}" for k, v in sorted(stats.outcomes.items()))
        say(f"event day     {day} · {stats.lines:,} events · {outcomes} · {stats.alerts:,} alert changes")
