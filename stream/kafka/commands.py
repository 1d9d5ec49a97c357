"""`treasury worker` and `treasury produce`: the Kafka runtime's entry points, kept thin."""

import asyncio
from pathlib import Path
from typing import Any

from models.errors import TreasuryError
from stream.kafka.admin import ensure_topics
from stream.kafka.produce import ProduceStats, produce_file
from stream.kafka.topics import Topics, changelog_topics
from stream.progress import TerminalProgress
from stream.settings import Settings


def run_worker(settings: Settings, loglevel: str = "WARNING") -> None:
    """Block running one faust worker until it is stopped (SIGTERM/SIGINT); topics created first."""
    from faust.worker import Worker  # heavy: only when a worker really starts

    from stream.kafka.app import create_app

    topics = Topics(settings.topic_prefix)
    created = asyncio.run(ensure_topics(settings.kafka_bootstrap_servers, topics, settings.kafka_partitions,
                                        settings.kafka_replication,
                                        changelogs=changelog_topics(settings.kafka_app_id)))
    if created:
        print(f"created topics {', '.join(created)}")
    if settings.database_url:
        from stream.store.wiring import run_migrations

        print(asyncio.run(run_migrations(settings)))
    # After the asyncio.run() calls: faust's app binds to the event loop current when it is built,
    # and each asyncio.run() closes its own.
    treasury = create_app(settings)
    quiet_worker(Worker(treasury.app, loglevel=loglevel, quiet=True)).execute_from_commandline()


def quiet_worker(worker: Any) -> Any:
    """The worker without faust's start-up spinner.

    With a spinner, faust sets the root logger to DEBUG for good (the spinner turns on every
    record), so every `log.debug` in faust and aiokafka builds a record per message sent (9 % of
    a worker's time in the profile, BENCHMARKS.md) for the handler to drop. Without it the root
    logger stays at `loglevel`.
    """
    worker.spinner = None
    return worker


def produce(path: Path, settings: Settings, quiet: bool = False) -> ProduceStats:
    """Send a JSON-lines file to the input topics, with progress; print what was sent."""
    if not path.is_file():
        raise TreasuryError(f"input file {path} does not exist or is not a file")
    topics = Topics(settings.topic_prefix)
    asyncio.run(ensure_topics(settings.kafka_bootstrap_servers, topics, settings.kafka_partitions,
                              settings.kafka_replication))
    progress = TerminalProgress() if not quiet else None

    def show(stats: ProduceStats) -> None:
        if progress is not None and progress.enabled:
            share = 100 * stats.bytes_read / stats.total_bytes if stats.total_bytes else 100.0
            progress.out.write(f"\r\x1b[K{share:5.1f}% {stats.lines:,} lines sent")
            progress.out.flush()

    stats = asyncio.run(produce_file(path, settings.kafka_bootstrap_servers, topics, settings.max_line_bytes,
                                     on_progress=show))
    if progress is not None:
        progress.done()
    if not quiet:
        sent = ", ".join(f"{kind} {n:,}" for kind, n in sorted(stats.sent_by_type.items()))
        print(f"sent          {stats.lines - stats.dead_letters:,} lines to {settings.kafka_bootstrap_servers}: {sent}")
        print(f"dead letters  {stats.dead_letters:,} (unroutable, sent to {topics.name('deadletter')})")
    return stats
