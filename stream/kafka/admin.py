"""Topic set-up against the broker (aiokafka admin client): faust only creates its own topics."""

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


class KafkaSetupError(TreasuryError):
    """Topics could not be created or inspected."""


def all_topic_kinds() -> tuple[str, ...]:
    return (*INPUT_TYPES, *OUTPUTS, STEPS, LEDGER, CHAIN_ROWS, OPERATOR, OPERATOR_RESULT, JOURNAL)


async def ensure_topics(bootstrap_servers: str, topics: Topics, partitions: int, replication: int) -> list[str]:
    """Create every topic of the contract that does not exist yet (faust only makes its own)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=30_000)
    try:
        await admin.start()
    except KafkaError as error:
        raise KafkaSetupError(f"cannot reach Kafka at {bootstrap_servers}: {error}") from None
    try:
        existing = set(await admin.list_topics())
        wanted = [topics.name(kind) for kind in all_topic_kinds()]
        missing = [name for name in wanted if name not in existing]
        if missing:
            with suppress(TopicAlreadyExistsError):  # another worker created it first
                await admin.create_topics(
                    [NewTopic(name, num_partitions=partitions, replication_factor=replication,
                              topic_configs=JOURNAL_CONFIG if name == topics.name(JOURNAL) else {})
                     for name in missing]
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
