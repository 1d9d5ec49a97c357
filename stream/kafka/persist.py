"""Outputs into Postgres: a plain consumer in its own group that commits only what it has written.

Kept out of faust's agents on purpose: its offsets move only after the database transaction
commits, whatever rebalances do, so a crash can repeat a batch (rows are keyed: nothing doubles)
but never skip one. Between reading and writing sits a bounded WriteBuffer (stream/store/buffer.py):
while PostgreSQL is away the batches wait and are retried, and a full buffer stops the reading.
"""

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import sha256
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from prometheus_client import Counter
from pydantic import ValidationError

from models.base import WireModel
from models.codec import OUTPUT_TYPES
from models.outputs import Alert, DeadLetter
from stream.kafka import chainrows
from stream.kafka.topics import CHAIN_ROWS, LEDGER, OUTPUTS, Topics
from stream.settings import Settings
from stream.store.buffer import RetryPolicy, WriteBuffer
from stream.store.errors import StoreError
from stream.store.rows import LedgerTuple, Row

log = logging.getLogger(__name__)
_RETRY_S = 2.0
_KEPT_RAW_BYTES = 64 * 1024
UNDECODABLE = Counter("treasury_persist_undecodable", "Messages on output topics the persist consumer could not read")


def balance(value: bytes) -> LedgerTuple:
    """A `<prefix>ledger` message; one published before balances had a version counts as version 0."""
    indicator_id, amount, allocated, reserved, spent, at, *version = orjson.loads(value)
    return indicator_id, amount, allocated, reserved, spent, datetime.fromisoformat(at), version[0] if version else 0


@dataclass(slots=True)
class Batch:
    """One poll's messages, decoded per table, and the offsets to commit once they are written."""

    outputs: list[WireModel] = field(default_factory=list)
    balances: list[LedgerTuple] = field(default_factory=list)
    nodes: list[Row] = field(default_factory=list)
    payments: list[Row] = field(default_factory=list)
    offsets: dict[Any, int] = field(default_factory=dict)


def decode_batch(messages: list[Any], topics: Topics) -> Batch:
    """Messages into rows; one that cannot be read becomes a dead letter row (never a crash)."""
    ledger, chain = topics.name(LEDGER), topics.name(CHAIN_ROWS)
    batch = Batch()
    for m in messages:
        tp = TopicPartition(m.topic, m.partition)
        batch.offsets[tp] = max(batch.offsets.get(tp, 0), m.offset + 1)
        value: bytes = m.value or b""
        try:
            if m.topic == ledger:
                batch.balances.append(balance(value))
            elif m.topic == chain:
                kind, row = chainrows.read(value)
                (batch.nodes if kind == chainrows.NODE else batch.payments).append(row)
            else:
                batch.outputs.append(OUTPUT_TYPES[topics.kind(m.topic) or ""].model_validate_json(value))
        except (ValueError, TypeError, KeyError, ValidationError) as error:
            # orjson.JSONDecodeError and pydantic's ValidationError are ValueErrors; a wrong shape
            # unpacks into a ValueError or TypeError. Written by something that is not a worker.
            UNDECODABLE.inc()
            log.warning("persist: %s/%d offset %d cannot be read (%s); kept as a dead letter",
                        m.topic, m.partition, m.offset, type(error).__name__)
            batch.outputs.append(_undecodable(value, m.topic, m.partition, m.offset))
    return batch


def _undecodable(value: bytes, topic: str, partition: int, offset: int) -> DeadLetter:
    kept = value[:_KEPT_RAW_BYTES]
    return DeadLetter.model_construct(
        source=f"{topic}/{partition}"[:200], offset=offset, error_code="output_undecodable",
        error="an output message the store cannot read", payment_id=None,
        raw=kept.decode("utf-8", errors="replace"), raw_bytes=len(value), raw_truncated=len(kept) < len(value),
        raw_sha256=sha256(value).hexdigest(),
    )


async def persist_forever(settings: Settings) -> None:
    """Copy decisions, alerts, dead letters and balances into Postgres until cancelled."""
    from stream.store.postgres import PostgresStore  # asyncpg only where a database is configured

    topics = Topics(settings.topic_prefix)
    store = PostgresStore.from_settings(settings, settings.database_url or "")
    await _open(store, RetryPolicy(max_s=settings.db_retry_max_s))
    consumer = AIOKafkaConsumer(
        *(topics.name(kind) for kind in (*OUTPUTS, LEDGER, CHAIN_ROWS)),
        bootstrap_servers=settings.kafka_bootstrap_servers, group_id=f"{settings.kafka_app_id}-persist",
        enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=settings.db_batch_rows,
    )

    async def write(batch: Batch) -> None:
        await store.write(batch.outputs)
        await store.write_ledger(batch.balances)
        await store.write_chain_rows(batch.nodes, batch.payments)

    # The alert sinks (webhook, Alertmanager) hear each alert state once per group, after it is
    # stored; a batch redelivered after a crash may repeat some (at least once).
    sinks = settings.alert_sinks()

    async def done(batch: Batch) -> None:
        for sink in sinks:
            for output in batch.outputs:
                if isinstance(output, Alert):
                    sink.offer(output)
        await _commit(consumer, batch.offsets)

    buffer: WriteBuffer[Batch] = WriteBuffer(write, done, max_batches=settings.persist_queue_batches,
                                             retry=RetryPolicy(max_s=settings.db_retry_max_s))
    await consumer.start()
    for sink in sinks:
        await sink.start()
    buffer.start()
    try:
        while True:
            try:
                polled = await consumer.getmany(timeout_ms=200, max_records=settings.db_batch_rows)
            except KafkaError as error:  # the broker away for a while: try again, nothing is lost
                log.warning("persist: %s; retrying in %.0f s", error, _RETRY_S)
                await asyncio.sleep(_RETRY_S)
                continue
            messages = [m for records in polled.values() for m in records]
            if messages:
                await buffer.put(decode_batch(messages, topics), len(messages))
    finally:
        await buffer.stop()
        for sink in sinks:
            await sink.close()
        await consumer.stop()
        await store.close()


async def _open(store: Any, retry: RetryPolicy) -> None:
    """Open the store, waiting for a database that is not up yet (a worker may start first)."""
    attempt = 0
    while True:
        try:
            await store.open()
            return
        except StoreError as error:
            delay = retry.delay_s(attempt)
            log.warning("persist: %s; retrying in %.1f s", error, delay)
            attempt += 1
            await asyncio.sleep(delay)


async def _commit(consumer: Any, offsets: dict[Any, int]) -> None:
    """Commit a written batch's offsets for the partitions still assigned to this consumer."""
    assigned = consumer.assignment()
    mine = {tp: offset for tp, offset in offsets.items() if tp in assigned}
    if not mine:
        return
    try:
        await consumer.commit(mine)
    except (CommitFailedError, IllegalStateError) as error:
        # The group rebalanced meanwhile: the batch comes again to its new owner, and the keyed
        # upserts make writing it twice harmless.
        log.info("persist: commit after a rebalance dropped (%s)", error)
    except KafkaError as error:
        # The broker away: the offsets stay where they were, so the batch is written again later.
        log.warning("persist: commit failed (%s); the batch will be written again", error)
