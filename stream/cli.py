"""The `treasury` console script: thin entry points over the embedded and Kafka runtimes."""

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from models.errors import TreasuryError
from stream.embedded import RunStats, replay_file
from stream.engine import Engine
from stream.gctune import tune_for_engine
from stream.progress import TerminalProgress, summary
from stream.settings import Settings
from stream.sinks import FileSink, Sink


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="treasury", description="Treasury payment and direct-funds monitoring engine."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    replay = commands.add_parser("replay", help="process a JSON-lines file in order; write the outputs to a directory")
    replay.add_argument("file", type=Path, help="input JSON-lines file")
    replay.add_argument("--out", type=Path, required=True, help="output directory (created if missing)")
    replay.add_argument("--quiet", action="store_true", help="no progress and no summary")
    replay.add_argument("--db", action="store_true", help="also write the outputs to PostgreSQL at DATABASE_URL")

    backtest = commands.add_parser("backtest", help="replay a file; score its cash forecasts per horizon against "
                                                    "a naive forecast (the last balance carried forward)")
    backtest.add_argument("file", type=Path, help="input JSON-lines file")

    commands.add_parser("migrate", help="apply the SQL migrations to the database at DATABASE_URL")

    worker = commands.add_parser("worker", help="run a faust worker on Kafka (KAFKA_BOOTSTRAP_SERVERS)")
    worker.add_argument("--web-port", type=int, default=None, help="serve health and metrics on this port")
    worker.add_argument("--loglevel", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])

    produce = commands.add_parser("produce", help="send a JSON-lines file to the Kafka input topics, keyed")
    produce.add_argument("file", type=Path, help="input JSON-lines file")
    produce.add_argument("--quiet", action="store_true", help="no progress and no summary")

    generate = commands.add_parser("generate", help="write a generated region's event stream to a file")
    generate.add_argument("file", type=Path, help="output JSON-lines file")
    _scenario_options(generate)
    generate.add_argument("--cash-history", action="store_true",
                          help="instead: two years of one treasury's flows and balances (for `backtest`)")

    trace = commands.add_parser("trace", help="print a fund chain as a tree, from a replay directory or PostgreSQL")
    trace.add_argument("root", help="the chain's root: a direct_fund_code, or a top indicator_id")
    source = trace.add_mutually_exclusive_group(required=True)
    source.add_argument("--out", type=Path, help="a `treasury replay --out` directory")
    source.add_argument("--db", action="store_true", help="read PostgreSQL at DATABASE_URL")
    trace.add_argument("--json", action="store_true", help="print the chain object (DESIGN §3) instead of the tree")
    trace.add_argument("--unmask", action="store_true", help="show payee accounts whole (supervisors only)")

    serve = commands.add_parser("serve", help="serve the HTTP API over PostgreSQL (DATABASE_URL, else bundled)")
    serve.add_argument("--port", type=int, default=None, help="port (default TREASURY_WEB_PORT, else 6066)")

    token = commands.add_parser("token", help="make an API bearer token for a role; prints the config entry")
    token.add_argument("role", choices=["operator", "supervisor", "viewer"])
    token.add_argument("--name", default=None, help="who acts with it (audit log, alert history)")

    live = commands.add_parser("live", help="stream a file through the embedded engine and serve the API with "
                                            "operator actions and the alert stream")
    live.add_argument("file", type=Path, help="input JSON-lines file")
    live.add_argument("--port", type=int, default=None, help="port (default TREASURY_WEB_PORT, else 6066)")
    live.add_argument("--rate", type=float, default=None, help="lines per second (default: as fast as it goes)")
    live.add_argument("--db", action="store_true", help="keep the record in PostgreSQL (DATABASE_URL, else bundled)")

    listing = commands.add_parser("alerts", help="list alerts from PostgreSQL (default: open and acknowledged)")
    listing.add_argument("--status", choices=["open", "acknowledged", "resolved", "unresolved", "all"],
                         default="unresolved")
    listing.add_argument("--code", default=None, help="only this rule code, e.g. F001")
    listing.add_argument("--severity", choices=["info", "warning", "critical"], default=None)
    listing.add_argument("--treasury", default=None, help="only alerts about this 6-digit treasury")
    listing.add_argument("--limit", type=int, default=50, help="at most this many, newest first (1-500)")
    listing.add_argument("--json", action="store_true", help="one alert object per line instead of a table")

    demo = commands.add_parser("demo", help="stream a generated region in real time through the embedded engine, "
                                            "with the console, API and /metrics served")
    _demo_options(demo)
    return parser


def _demo_options(demo: argparse.ArgumentParser) -> None:
    demo.add_argument("--out", type=Path, default=None, help="keep the scenario and outputs here (default: a temp dir)")
    _scenario_options(demo)
    demo.add_argument("--day-seconds", type=_non_negative, default=1.0,
                      help="wall seconds per event-time day (default 1: a year in about 6 minutes; 0: no pacing)")
    demo.add_argument("--duration", type=_non_negative, default=None,
                      help="stop after this many seconds (default: run until Ctrl-C)")
    demo.add_argument("--port", type=int, default=None, help="console port (default TREASURY_WEB_PORT, else 6066)")
    demo.add_argument("--memory", action="store_true", help="no PostgreSQL: the API reads outputs kept in memory")


def _scenario_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--payments", type=_payments, default=5000,
                        help="payments to generate, 10 to 10,000,000 (default 5000)")
    parser.add_argument("--seed", type=int, default=7, help="random seed; the same seed gives the same stream")


def _payments(text: str) -> int:
    """A region needs a few payments to carry one injected anomaly of every kind."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 10 <= value <= 10_000_000:
        raise argparse.ArgumentTypeError("must be between 10 and 10,000,000")
    return value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 1e7:
        raise argparse.ArgumentTypeError("must be between 0 and 10,000,000")
    return value


def _replay(
    path: Path, out: Path, settings: Settings, quiet: bool, force_progress: bool = False, top_reasons: int = 8,
    db: bool = False,
) -> RunStats:
    if not path.is_file():
        raise TreasuryError(f"input file {path} does not exist or is not a file")
    sink: Sink = FileSink(out)
    if db:  # asyncpg is imported only here: a file-only replay never loads it
        from stream.store.wiring import file_and_database_sink, run_migrations, with_database

        # no DATABASE_URL: the bundled PostgreSQL under TREASURY_DATA_DIR, started here
        settings = with_database(settings, announce=None if quiet else print)
        report = asyncio.run(run_migrations(settings))
        if not quiet:
            print(report)
        sink = file_and_database_sink(out, settings)
    engine = Engine(settings.load_rules(), max_line_bytes=settings.max_line_bytes)
    progress = TerminalProgress(force=force_progress) if not quiet else None
    stats = asyncio.run(
        replay_file(
            path, engine, sink,
            batch_lines=settings.batch_lines, queue_batches=settings.queue_batches, on_progress=progress,
        )
    )
    if progress is not None:
        progress.done()
    if not quiet:
        print(summary(stats, top=top_reasons))
        print(f"outputs       {out}/")
    return stats


def _demo(args: argparse.Namespace, settings: Settings) -> None:
    from stream.demo.generator import write_scenario

    workdir = args.out or Path(tempfile.mkdtemp(prefix="treasury-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    scenario = workdir / "scenario.jsonl"
    lines = write_scenario(scenario, seed=args.seed, payments=args.payments)
    print(f"generated     {lines:,} events for Inner Mongolia (150000), 12 leagues/cities -> {scenario}", flush=True)
    from stream.demo.live import Pace
    from stream.demo.showcase import ShowOptions, open_store, show

    def say(text: str) -> None:
        print(text, flush=True)

    options = ShowOptions(scenario=scenario, out=workdir / "out", host=settings.web_bind,
                          port=args.port or settings.web_port or 6066, pace=Pace(day_s=args.day_seconds),
                          duration_s=args.duration, memory=args.memory)
    store, release = open_store(settings, args.memory, say)
    try:
        stats = asyncio.run(show(options, settings, store, say))
    finally:
        release()
    print(summary(stats, top=40))
    print(f"outputs       {options.out}/")
    # The command as this process was started (`.venv/bin/treasury` from ops/demo.sh), so it can be pasted.
    command = sys.argv[0] if Path(sys.argv[0]).name == "treasury" else "treasury"
    print(f"next          {command} trace ZD2022-0001 --out {options.out}   # a direct-fund chain as a tree")


def _trace(args: argparse.Namespace, settings: Settings) -> None:
    from stream.trace import from_directory, render_json, render_tree

    if args.db:
        from stream.store.wiring import trace_view

        view = asyncio.run(trace_view(settings, args.root))
    else:
        view = from_directory(args.out, args.root)
    print(render_json(view, args.unmask) if args.json else render_tree(view, args.unmask))


def _serve(args: argparse.Namespace, settings: Settings) -> None:
    from stream.api.server import make_app, serve
    from stream.store.postgres import PostgresStore
    from stream.store.wiring import require_database_url, run_migrations, with_database

    tokens = settings.load_tokens()
    settings = with_database(settings, announce=print)
    print(asyncio.run(run_migrations(settings)))
    store = PostgresStore.from_settings(settings, require_database_url(settings))
    port = args.port or settings.web_port or 6066
    if not tokens.by_hash:
        print("warning: TREASURY_API_TOKENS is empty, every /api request gets 401; make one with `treasury token`")
    print(f"serving       http://{settings.web_bind}:{port}/api/ (Ctrl-C stops)")
    from stream.console.routes import add_console

    app = make_app(store, tokens)
    add_console(app)  # the console's pages over the same API (no balance history: treasury view shows forecasts)
    print(f"console       http://{settings.web_bind}:{port}/console/")
    asyncio.run(serve(app, settings.web_bind, port))


def _backtest(args: argparse.Namespace, settings: Settings) -> None:
    from stream.backtest import backtest_file, report

    engine = Engine(settings.load_rules(), max_line_bytes=settings.max_line_bytes)
    print(report(backtest_file(args.file, engine)))


def _generate(args: argparse.Namespace, settings: Settings) -> None:
    if args.cash_history:
        from stream.demo.cash_history import cash_history

        lines = cash_history(seed=args.seed)
        args.file.write_bytes(b"".join(lines))
        count = len(lines)
    else:
        from stream.demo.generator import write_scenario

        count = write_scenario(args.file, seed=args.seed, payments=args.payments)
    print(f"wrote {count:,} events to {args.file}")


def _token(args: argparse.Namespace, settings: Settings) -> None:
    from stream.api.auth import new_token

    secret, entry = new_token(args.role, args.name)
    print(f"token (give it to the {args.role}; it is not stored anywhere): {secret}")
    print(f"add to TREASURY_API_TOKENS (comma-separated):  {entry}")


def _live(args: argparse.Namespace, settings: Settings) -> None:
    from stream.livecmd import run_live

    asyncio.run(run_live(args.file, settings, args.port or settings.web_port or 6066, args.rate, args.db))


def _alerts(args: argparse.Namespace, settings: Settings) -> None:
    from stream.livecmd import list_alerts, render_alerts
    from stream.store.queries import AlertFilter

    if args.treasury is not None and not (len(args.treasury) == 6 and args.treasury.isdigit()):
        raise TreasuryError("--treasury must be a 6-digit division code")
    if not 1 <= args.limit <= 500:
        raise TreasuryError("--limit must be from 1 to 500")
    status = None if args.status in ("all", "unresolved") else args.status
    wanted = AlertFilter(status, args.code, args.severity, args.treasury, None, args.limit)
    print(render_alerts(asyncio.run(list_alerts(settings, wanted, args.status == "unresolved")), args.json))


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in ("replay", "demo", "worker", "backtest", "live"):
        tune_for_engine()
    try:
        settings = Settings()
        simple = {"backtest": _backtest, "generate": _generate, "token": _token, "live": _live, "alerts": _alerts}
        if args.command in simple:
            simple[args.command](args, settings)
        elif args.command == "replay":
            _replay(args.file, args.out, settings, args.quiet, db=args.db)
        elif args.command == "migrate":
            from stream.store.wiring import run_migrations

            print(asyncio.run(run_migrations(settings)))
        elif args.command == "worker":
            from stream.kafka.commands import run_worker

            if args.web_port is not None:
                settings = settings.model_copy(update={"web_port": args.web_port})
            run_worker(settings, loglevel=args.loglevel)
        elif args.command == "produce":
            from stream.kafka.commands import produce

            produce(args.file, settings, quiet=args.quiet)
        elif args.command == "demo":
            _demo(args, settings)
        elif args.command == "trace":
            _trace(args, settings)
        elif args.command == "serve":
            _serve(args, settings)
    except TreasuryError as error:
        print(f"treasury: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("treasury: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
