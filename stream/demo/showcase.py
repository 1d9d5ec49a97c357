"""`treasury demo`: the generated region streamed in real time, with the console, API and /metrics served.

The embedded engine writes to the output files and to a store (the bundled PostgreSQL in its own
`treasury_demo` database, emptied each run; or DATABASE_URL; or memory with `--memory`), which
the API and the console read while the stream plays. Fresh tokens for every role are printed.
Ctrl-C (or `--duration`) stops the stream and the server cleanly.
"""

import asyncio
import contextlib
import importlib.util
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from alerts.delivery import Delivery
from models.base import WireModel
from stream.api.auth import ROLES, Tokens, new_token
from stream.api.hub import AlertHub
from stream.api.server import make_app
from stream.console.balances import MemoryBalanceHistory
from stream.console.routes import add_console
from stream.demo.live import ObservedRuntime, Pace, feed_paced
from stream.embedded import RunStats
from stream.engine import Engine
from stream.live import LiveOperator
from stream.metrics import EngineMetrics
from stream.settings import Settings
from stream.sinks import FileSink, Sink
from stream.store.port import Store
from stream.store.tee import TeeSink

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
    """One fresh token per role (printed, never stored), besides any configured ones."""
    fresh = {role: new_token(role, name=f"demo-{role}") for role in sorted(ROLES)}
    entries = [settings.api_tokens.strip(), *(entry for _, entry in fresh.values())]
    return Tokens.parse(",".join(e for e in entries if e)), {role: token for role, (token, _) in fresh.items()}


def open_store(settings: Settings, memory: bool, say: Say) -> tuple[Store, Callable[[], None]]:
    """The store the demo writes and serves, migrated; and what releases it at the end."""
    from stream.store.memory import MemoryStore

    if memory:
        say("database      none (--memory): the API reads the outputs kept in memory")
        return MemoryStore(), lambda: None
    if not (settings.database_url or "").strip() and importlib.util.find_spec("pgserver") is None:
        # A demo should run anywhere: without the optional server it still shows everything.
        say("database      none: no DATABASE_URL and the bundled PostgreSQL is not installed "
            "(pip install 'treasury-engine[bundled]'); the API reads the outputs kept in memory")
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


@dataclass(slots=True)
class Showcase:
    """The running pieces: the engine task with its operator and alert hub, and the web app over them."""

    runtime: ObservedRuntime
    app: web.Application
    hub: AlertHub
    sinks: list[Delivery]  # the configured alert sinks (webhook, Alertmanager), not started yet


def build(settings: Settings, store: Store, files: Sink, tokens: Tokens, metrics: EngineMetrics | None = None,
          balances: MemoryBalanceHistory | None = None, source: str = "live") -> Showcase:
    """The live runtime writing to `files` and `store`, and the API, console and /metrics over them."""
    hub = AlertHub(settings.sse_queue)
    engine = Engine(settings.load_rules(), max_line_bytes=settings.max_line_bytes)
    balances = MemoryBalanceHistory() if balances is None else balances
    sinks = settings.alert_sinks()
    runtime = ObservedRuntime(engine, TeeSink(files, store), hub, store=store, outlets=list(sinks),
                              queue_batches=settings.queue_batches, metrics=metrics or EngineMetrics(),
                              balances=balances, source=source)

    async def running() -> tuple[bool, dict[str, Any]]:
        return runtime.running, {"engine": "running" if runtime.running else "stopped",
                                 "lines_applied": runtime.applied_lines}

    app = make_app(store, tokens, manage_store=False, operator=LiveOperator(runtime, settings.operator_timeout_s),
                   hub=hub, ready=[running], keepalive_s=settings.sse_keepalive_s)
    add_console(app, balances)
    return Showcase(runtime, app, hub, sinks)


async def show(options: ShowOptions, settings: Settings, store: Store, say: Say) -> RunStats:
    """Serve, stream, and stop on Ctrl-C or after the duration; the store is opened and closed here."""
    tokens, plain = demo_tokens(settings)
    files = FileSink(options.out)
    shown = build(settings, store, files, tokens, source=options.scenario.name)
    runtime = shown.runtime
    stop = asyncio.Event()
    _on_interrupt(stop)
    await store.open()
    await files.open()
    for sink in shown.sinks:
        await sink.start()
    web_runner = web.AppRunner(shown.app, access_log=None)
    engine_task = asyncio.create_task(runtime.run())
    try:
        await web_runner.setup()
        await web.TCPSite(web_runner, options.host, options.port).start()
        _announce(options, plain, say)
        if options.duration_s is not None:
            asyncio.get_running_loop().call_later(options.duration_s, stop.set)
        reporter = asyncio.create_task(_report(runtime, stop, say))
        sent = await feed_paced(runtime, options.scenario, options.pace, stop, settings.max_line_bytes)
        while runtime.applied_lines < sent and runtime.running and not stop.is_set():
            await asyncio.sleep(0.05)
        runtime.stats.finished = time.monotonic()  # the summary's events/s: the stream, not the serving after
        if not stop.is_set():
            say("stream        all sent; the console stays up (Ctrl-C stops)")
            await stop.wait()
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter
    finally:
        runtime.finish()
        shown.hub.close()
        await engine_task
        await web_runner.cleanup()
        await files.write(list[WireModel](runtime.engine.chains()))  # each chain's final state, as replay
        await files.close()
        for sink in shown.sinks:
            await sink.close()
        await store.close()
    if runtime.stats.finished is None:
        runtime.stats.finished = time.monotonic()
    return runtime.stats


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


async def _report(runtime: ObservedRuntime, stop: asyncio.Event, say: Say) -> None:
    """A progress line every few seconds: event day, events, outcomes, alerts."""
    last, lines = time.monotonic(), -1
    while not stop.is_set():
        await asyncio.sleep(0.5)
        if time.monotonic() - last < _PROGRESS_S or runtime.stats.lines == lines:
            continue  # nothing new: say nothing
        last, lines = time.monotonic(), runtime.stats.lines
        stats, engine = runtime.stats, runtime.engine
        day = engine.now.date().isoformat() if engine.now is not None else "-"
        outcomes = " ".join(f"{k} {v:,}" for k, v in sorted(stats.outcomes.items()))
        say(f"event day     {day} · {stats.lines:,} events · {outcomes} · {stats.alerts:,} alert changes")
