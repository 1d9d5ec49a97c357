"""The real services the distributed runtime needs answer the clients the engine uses:
aiokafka against the Kafka 4 test broker, asyncpg against the PostgreSQL test server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.integration import services

pytestmark = pytest.mark.integration

MESSAGES = 100
PARTITIONS = 2
DEADLINE = 50.0  # seconds for each test's asyncio part


@pytest.fixture(scope="module", autouse=True)
def _stop_what_we_started() -> Iterator[None]:
    yield
    services.stop_started()


@pytest.fixture(scope="module")
def kafka_bootstrap() -> str:
    return services.kafka_bootstrap()


@pytest.fixture(scope="module")
def database_url() -> str:
    return services.database_url()


def test_aiokafka_creates_produces_consumes_and_commits_in_a_group(kafka_bootstrap: str) -> None:
    topic = f"test-services-{uuid.uuid4().hex[:12]}"
    group = f"{topic}-group"

    async def scenario() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)])
        finally:
            await admin.close()

        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        await producer.start()
        try:
            assert await producer.partitions_for(topic) == set(range(PARTITIONS))
            for i in range(MESSAGES):
                await producer.send(topic, key=f"account-{i % 10}".encode(), value=f"payment-{i}".encode())
            await producer.flush()
        finally:
            await producer.stop()

        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=kafka_bootstrap,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            received: dict[str, list[tuple[int, bytes]]] = {}
            count = 0
            while count < MESSAGES:
                batches = await consumer.getmany(timeout_ms=1000)
                for tp, records in batches.items():
                    for record in records:
                        assert record.key is not None and record.value is not None
                        received.setdefault(record.key.decode(), []).append((tp.partition, record.value))
                        count += 1
            await consumer.commit()
            partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
            committed = {tp.partition: await consumer.committed(tp) for tp in partitions}
            ends = await consumer.end_offsets(partitions)
        finally:
            await consumer.stop()

        assert count == MESSAGES
        assert sum(len(values) for values in received.values()) == MESSAGES
        for key, values in received.items():  # one key, one partition, in send order
            assert len({partition for partition, _ in values}) == 1, key
            numbers = [int(value.decode().removeprefix("payment-")) for _, value in values]
            assert numbers == sorted(numbers), key
        assert committed == {tp.partition: offset for tp, offset in ends.items()}
        assert sum(ends.values()) == MESSAGES
        assert all(offset > 0 for offset in ends.values()), ends  # ten keys spread over both partitions

        # the group's committed offsets as an admin client sees them
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(group)
        finally:
            await admin.close()
        assert {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic} == committed

    asyncio.run(asyncio.wait_for(scenario(), DEADLINE))


def test_asyncpg_connects_and_selects(database_url: str) -> None:
    async def scenario() -> None:
        connection = await asyncpg.connect(database_url, timeout=10)
        try:
            assert await connection.fetchval("select 1") == 1
            assert await connection.fetchval("select current_database()") == "treasury"
        finally:
            await connection.close()

    asyncio.run(asyncio.wait_for(scenario(), DEADLINE))
