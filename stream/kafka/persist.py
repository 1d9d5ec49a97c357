"""Outputs into Postgres: a plain consumer in its own group that commits only what it has written.

Kept out of faust's agents on purpose: its offsets move only after the database transaction
commits, whatever rebalances do, so a crash can repeat a batch (rows are keyed: nothing doubles)
but never skip one.
"""

import asyncio
import logging
from datetime import datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import CommitFailedError, KafkaError

from models.base import WireModel
from models.codec import OUTPUT_TYPES
from models.outputs import Alert
from stream.kafka import chainrows
from stream.kafka.topics import CHAIN_ROWS, LEDGER, OUTPUTS, Topics
from stream.settings import Settings
from stream.store.rows import LedgerTuple

log = logging.getLogger(__name__)
_RETRY_S = 2.0


def balance(value: bytes) -> LedgerTuple:
    """A `<prefix>ledger` message; one published before balances had a version counts as version 0."""
    indicator_id, amount, allocated, reserved, spent, at, *version = orjson.loads(value)
    return indicator_id, amount, allocated, reserved, spent, datetime.fromisoformat(at), version[0] if version else 0


async def persist_forever(settings: Settings) -> None:
    """Copy decisions, alerts, dead letters and balances into Postgres until cancelled."""
    from stream.store.postgres import PostgresStore  # asyncpg only where a database is configured

    topics = Topics(settings.topic_prefix)
    ledger, chain = topics.name(LEDGER), topics.name(CHAIN_ROWS)
    store = PostgresStore.from_settings(settings, settings.database_url or "")
    consumer = AIOKafkaConsumer(
        *(topics.name(kind) for kind in (*OUTPUTS, LEDGER, CHAIN_ROWS)),
        bootstrap_servers=settings.kafka_bootstrap_servers, group_id=f"{settings.kafka_app_id}-persist",
        enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=settings.db_batch_rows,
    )
    # The alert sinks (webhook, Alertmanager) hear each alert state once per group, after it is
    # stored; a batch redelivered after a crash may repeat some (at least once).
    sinks = settings.alert_sinks()
    await store.open()
    await consumer.start()
    for sink in sinks:
        await sink.start()
    try:
        while True:
            try:
                batch = await consumer.getmany(timeout_ms=200, max_records=settings.db_batch_rows)
            except KafkaError as error:  # the broker away for a while: try again, nothing is lost
                log.warning("persist: %s; retrying in %.0f s", error, _RETRY_S)
                await asyncio.sleep(_RETRY_S)
                continue
            messages = [m for records in batch.values() for m in records]
            if not messages:
                continue
            outputs: list[WireModel] = [
                OUTPUT_TYPES[topics.kind(m.topic) or ""].model_validate_json(m.value)
                for m in messages if m.topic not in (ledger, chain)
            ]
            rows = [chainrows.read(m.value) for m in messages if m.topic == chain]
            await _write(store, outputs, [balance(m.value) for m in messages if m.topic == ledger],
                         [row for kind, row in rows if kind == chainrows.NODE],
                         [row for kind, row in rows if kind == chainrows.PAYMENT])
            for sink in sinks:
                for output in outputs:
                    if isinstance(output, Alert):
                        sink.offer(output)
            try:
                await consumer.commit()
            except CommitFailedError as error:
                # The group rebalanced meanwhile: the batch comes again to its new owner, and the
                # keyed upserts make writing it twice harmless.
                log.info("persist: commit after a rebalance dropped (%s)", error)
    finally:
        for sink in sinks:
            await sink.close()
        await consumer.stop()
        await store.close()


async def _write(store: Any, outputs: list[WireModel], balances: list[Any], nodes: list[Any],
                 payments: list[Any]) -> None:
    """Write until it succeeds: the offsets wait, so the database being away loses nothing."""
    while True:
        try:
            await store.write(outputs)
            await store.write_ledger(balances)
            await store.write_chain_rows(nodes, payments)
            return
        except (KafkaError, OSError) as error:  # StoreError derives from neither: see below
            log.warning("persist: %s; retrying in %.0f s", error, _RETRY_S)
        except Exception as error:
            from stream.store.errors import StoreError

            if not isinstance(error, StoreError):
                raise
            log.warning("persist: %s; retrying in %.0f s", error, _RETRY_S)
        await asyncio.sleep(_RETRY_S)
