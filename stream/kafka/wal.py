"""The worker's state writes: each batch journaled whole first, then its changelogs; a gained partition's tail redone.

See stream/kafka/journal.py for why. The journal topic (`<prefix>state-journal`) has as many
partitions as the inputs; a batch's changes go to the partition that owns them, the one their
changelog messages go to. It is a delete-policy topic kept by size only, never by age: its tail
must outlive any outage.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from stream.kafka.codecs import dumps_state, loads_state
from stream.kafka.journal import (
    Checkpoints,
    Entry,
    JournalError,
    decode_chunk,
    encode_batch,
    replay_tail,
    tail_start,
)
from stream.kafka.tables import PinnedTable

log = logging.getLogger(__name__)
# Reading a partition's tail: a few records at the end of the journal, so seconds are plenty.
_READ_TIMEOUT_S = 30.0


class StateLog:
    """Writes the tables' changes as one atomic batch per partition; restores a journal tail."""

    def __init__(self, journal: Any, tables: Sequence[PinnedTable], writer_id: str) -> None:
        self._journal = journal  # a faust topic (raw bytes)
        self._tables = {table.name: table for table in tables}
        if len(self._tables) != len(tables) or "" in self._tables:
            raise ValueError("every journaled table needs its own name")
        self._writer_id = writer_id
        self._batches = 0
        self.checkpoints = Checkpoints()
        # Test failpoint (settings.failpoint_torn_batch): from that batch on, the first batch that
        # reserved for a payment is torn (see _torn); `die` flushes what was sent and exits.
        self.failpoint: tuple[int, Callable[[], Awaitable[None]]] | None = None

    async def write(self) -> int:
        """Journal the tables' changes, wait until the broker has them, then send the changelogs."""
        changes: dict[int, list[tuple[PinnedTable, str, bytes | None]]] = {}
        for table in self._tables.values():
            for partition, key, value in table.take_changes():
                encoded = None if value is None else dumps_state(value)
                changes.setdefault(partition, []).append((table, key, encoded))
        if not changes:
            return 0
        sent: dict[int, list[Any]] = {}
        for partition, items in changes.items():
            self._batches += 1
            records = encode_batch(f"{self._writer_id}:{self._batches}",
                                   (Entry(table.name, key, value) for table, key, value in items),
                                   self.checkpoints.redo_from(partition))
            sent[partition] = [await self._journal.send(value=record, partition=partition) for record in records]
        # Only once every chunk is stored may a changelog message go: a crash from here on leaves a
        # complete batch in the journal, which the partition's next owner applies again.
        firsts = {partition: (await asyncio.gather(*futures))[0].offset for partition, futures in sent.items()}
        for partition, items in changes.items():
            if self.failpoint is not None and self._batches >= self.failpoint[0]:
                await self._torn(partition, items, self.failpoint[1])
            deliveries = [table.send_change(partition, key, value) for table, key, value in items]
            self.checkpoints.add(partition, firsts[partition], deliveries)
        return sum(len(items) for items in changes.values())

    async def _torn(self, partition: int, items: list[tuple[PinnedTable, str, bytes | None]],
                    die: Callable[[], Awaitable[None]]) -> None:
        """The failpoint: in a batch that reserved for a payment (its account and its payment record
        both changed), send the account's messages and none of the payment's, then die."""
        tables = [table.name for table, _key, _value in items]
        if "accounts" in tables and "payments" in tables:
            cut = len(tables) - tables[::-1].index("accounts")  # tables go in order: accounts first
            for table, key, value in items[:cut]:
                table.send_change(partition, key, value)
            await die()

    def forget(self, partitions: Iterable[int]) -> None:
        self.checkpoints.forget(partitions)

    def restore(self, partition: int, entries: Iterable[Entry]) -> int:
        """Apply a journal tail's entries to the tables (marked to be journaled and sent again)."""
        applied = 0
        for entry in entries:
            table = self._tables.get(entry.table)
            if table is None:
                raise JournalError(f"journal names an unknown table {entry.table!r}")
            table.restore(partition, entry.key, None if entry.value is None else loads_state(entry.value))
            applied += 1
        return applied


async def read_tails(bootstrap_servers: str, topic: str, partitions: Iterable[int],
                     timeout_s: float = _READ_TIMEOUT_S) -> dict[int, list[Entry]]:
    """Each partition's journal tail: the entries of its complete batches from where redo starts."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False,
                                auto_offset_reset="earliest", request_timeout_ms=int(timeout_s * 1000))
    await consumer.start()
    try:
        return {partition: await asyncio.wait_for(_tail(consumer, TopicPartition(topic, partition)), timeout_s)
                for partition in partitions}
    finally:
        await consumer.stop()


async def _tail(consumer: AIOKafkaConsumer, tp: TopicPartition) -> list[Entry]:
    consumer.assign([tp])
    start = (await consumer.beginning_offsets([tp]))[tp]
    end = (await consumer.end_offsets([tp]))[tp]
    if end <= start:
        return []
    consumer.seek(tp, end - 1)
    last = (await _read(consumer, tp, end))[-1]
    begin = max(start, tail_start(end - 1, decode_chunk(last)))
    consumer.seek(tp, begin)
    entries, incomplete = replay_tail(await _read(consumer, tp, end))
    if incomplete:
        log.info("%s[%d]: %d journal batch(es) cut short by a crash, ignored", tp.topic, tp.partition, incomplete)
    return entries


async def _read(consumer: AIOKafkaConsumer, tp: TopicPartition, end: int) -> list[bytes]:
    """Values from the consumer's position up to `end` (exclusive)."""
    values: list[bytes] = []
    position = await consumer.position(tp)
    while position < end:
        batch = await consumer.getmany(tp, timeout_ms=1000)
        for record in batch.get(tp, []):
            if record.offset < end and record.value is not None:
                values.append(record.value)
            position = record.offset + 1
    return values


async def read_tails_retrying(bootstrap_servers: str, topic: str, partitions: set[int],
                              attempts: int = 3) -> dict[int, list[Entry]]:
    """`read_tails`, tried again after a broker hiccup; JournalError when it never answers."""
    for attempt in range(1, attempts + 1):
        try:
            return await read_tails(bootstrap_servers, topic, sorted(partitions))
        except (KafkaError, TimeoutError) as error:
            log.warning("reading the state journal failed (attempt %d of %d): %r", attempt, attempts, error)
            await asyncio.sleep(2.0 * attempt)
    raise JournalError(f"the state journal {topic} could not be read for partitions {sorted(partitions)}")
