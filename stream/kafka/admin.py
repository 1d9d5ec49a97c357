"""Topic set-up against the broker (aiokafka admin client): faust only creates its own topics."""

from collections.abc import Sequence
from contextlib import suppress
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.structs import TopicPartition

from models.codec import INPUT_TYPES
from models.errors import TreasuryError
from stream.kafka.topics import CHAIN_ROWS, JOURNAL, LEDGER, OPERATOR, OPERATOR_RESULT, OUTPUTS, STEPS, Topics

# The state journal is read only at its tail (the last batches), but that tail must survive any
# outage: deleted by size, never by age; 64 MiB segments keep the kept size near the limit.
JOURNAL_CONFIG = {"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": str(1 << 30),
                  "segment.bytes": str(64 << 20), "max.message.bytes": str(8 << 20)}


# What faust gives the changelog topics it creates (a table's changelog keeps each key's last value).
CHANGELOG_CONFIG = {"cleanup.policy": "compact"}


class KafkaSetupError(TreasuryError):
    """Topics could not be created or inspected."""


def all_topic_kinds() -> tuple[str, ...]:
    return (*INPUT_TYPES, *OUTPUTS, STEPS, LEDGER, CHAIN_ROWS, OPERATOR, OPERATOR_RESULT, JOURNAL)


async def ensure_topics(bootstrap_servers: str, topics: Topics, partitions: int, replication: int,
                        changelogs: Sequence[str] = ()) -> list[str]:
    """Create every topic of the contract that does not exist yet, and the workers' changelogs.

    faust would create the changelog topics itself, but after the worker joined its group: the
    consumer's next metadata refresh (5 min later) then sees new subscribed topics, the group
    rebalances, and the in-memory tables are recovered again from scratch (minutes of nothing
    decided, found by the soak benchmark). Created here, before the worker starts, they exist
    from the first join.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=30_000)
    try:
        await admin.start()
    except KafkaError as error:
        raise KafkaSetupError(f"cannot reach Kafka at {bootstrap_servers}: {error}") from None
    try:
        existing = set(await admin.list_topics())
        configs: dict[str, dict[str, str]] = {topics.name(kind): {} for kind in all_topic_kinds()}
        configs[topics.name(JOURNAL)] = JOURNAL_CONFIG
        configs.update({name: CHANGELOG_CONFIG for name in changelogs})
        missing = [name for name in configs if name not in existing]
        if missing:
            with suppress(TopicAlreadyExistsError):  # another worker created it first
                await admin.create_topics(
                    [NewTopic(name, num_partitions=partitions, replication_factor=replication,
                              topic_configs=configs[name]) for name in missing]
                )
        return missing
    finally:
        await admin.close()


async def committed_offsets(bootstrap_servers: str, group_id: str, partitions: set[Any]) -> dict[Any, int]:
    """Where the group starts reading each topic partition: its committed offset, else 0."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group_id)
    finally:
        await admin.close()
    starts = {}
    for tp in partitions:
        meta = committed.get(TopicPartition(tp.topic, tp.partition))
        starts[tp] = meta.offset if meta is not None and meta.offset >= 0 else 0
    return starts
