"""Topic set-up and consumer-lag reading against the broker (aiokafka admin client)."""

from contextlib import suppress

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.structs import TopicPartition

from models.codec import INPUT_TYPES
from models.errors import TreasuryError
from stream.kafka.topics import LEDGER, OUTPUTS, STEPS, Topics


class KafkaSetupError(TreasuryError):
    """Topics could not be created or inspected."""


def all_topic_kinds() -> tuple[str, ...]:
    return (*INPUT_TYPES, *OUTPUTS, STEPS, LEDGER)


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
                    [NewTopic(name, num_partitions=partitions, replication_factor=replication) for name in missing]
                )
        return missing
    finally:
        await admin.close()


async def group_lag(bootstrap_servers: str, group_id: str, topic_names: list[str]) -> int:
    """Messages on `topic_names` the consumer group has not committed yet (end − committed)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group_id)
        partitions = [
            TopicPartition(name, p) for name in topic_names for p in (consumer.partitions_for_topic(name) or ())
        ]
        if not partitions:
            for name in topic_names:
                await consumer._client.force_metadata_update()
                partitions += [TopicPartition(name, p) for p in (consumer.partitions_for_topic(name) or ())]
        ends = await consumer.end_offsets(partitions)
        lag = 0
        for tp, end in ends.items():
            meta = committed.get(tp)
            lag += end - (meta.offset if meta is not None and meta.offset >= 0 else 0)
        return lag
    finally:
        await consumer.stop()
        await admin.close()
