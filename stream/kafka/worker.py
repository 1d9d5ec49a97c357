"""`treasury worker`: one faust worker process on Kafka, topics created first."""

import asyncio

from stream.kafka.admin import ensure_topics
from stream.kafka.app import create_app
from stream.kafka.topics import Topics
from stream.settings import Settings


def run_worker(settings: Settings, loglevel: str = "WARNING") -> None:
    """Block running a worker until it is stopped (SIGTERM/SIGINT)."""
    from faust.worker import Worker  # heavy import: only when a worker really starts

    asyncio.run(ensure_topics(settings.kafka_bootstrap_servers, Topics(settings.topic_prefix),
                              settings.kafka_partitions, settings.kafka_replication))
    treasury = create_app(settings)
    Worker(treasury.app, loglevel=loglevel).execute_from_commandline()
