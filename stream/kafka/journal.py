"""The state journal's format and bookkeeping: one atomic record set per batch, replayed after a crash.

A batch changes many keys of many tables. Their changelog messages go to many topics, and a
worker killed while they go out leaves some written and some not: a torn state (an account
without its indicator, a reservation without its payment record). So each batch's changes are
first written, whole, to one journal partition (the batch's partition) as one or more chunks, and
only once the broker has them are the changelogs written. A new owner of the partition recovers
the changelogs as usual, then applies again every complete batch of the journal's tail that may
not have reached the changelogs: the state is then exactly as after some batch, never between two.

Each record says where that tail starts (`redo_from`): the first record of the oldest batch
whose changelog messages were not all acknowledged when it was written. Pure: no Kafka here.
"""

import struct
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import orjson

from models.errors import TreasuryError

_MAGIC = b"TJ1"
_HEADER = struct.Struct(">I")
_ENTRY = struct.Struct(">HIi")  # table name, key, value lengths; value length -1: deleted
# A chunk is kept below this many bytes (the broker's default message limit is 1 MiB); one entry
# bigger than it travels alone.
MAX_CHUNK_BYTES = 512 * 1024
# `redo_from` when every earlier batch reached the changelogs: the tail starts at this batch.
THIS_BATCH = -1


class JournalError(TreasuryError):
    """A journal record that cannot be read: never written by a worker (or corrupted)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One key's value after the batch, as its changelog carries it (None: deleted)."""

    table: str
    key: str
    value: bytes | None


@dataclass(frozen=True, slots=True)
class Chunk:
    batch_id: str
    index: int
    count: int
    redo_from: int
    entries: tuple[Entry, ...]


def encode_batch(batch_id: str, entries: Iterable[Entry], redo_from: int,
                 max_chunk_bytes: int = MAX_CHUNK_BYTES) -> list[bytes]:
    """The batch's records, in order; all of them must be written for the batch to count."""
    bodies: list[list[bytes]] = [[]]
    size = 0
    for entry in entries:
        framed = _frame(entry)
        if size and size + len(framed) > max_chunk_bytes:
            bodies.append([])
            size = 0
        bodies[-1].append(framed)
        size += len(framed)
    count = len(bodies)
    records = []
    for index, body in enumerate(bodies):
        header = orjson.dumps({"b": batch_id, "i": index, "n": count, "r": redo_from})
        records.append(b"".join([_MAGIC, _HEADER.pack(len(header)), header, *body]))
    return records


def _frame(entry: Entry) -> bytes:
    table, key = entry.table.encode(), entry.key.encode()
    value = entry.value
    size = -1 if value is None else len(value)
    return b"".join([_ENTRY.pack(len(table), len(key), size), table, key, value or b""])


def decode_chunk(raw: bytes) -> Chunk:
    """A journal record; JournalError when it is not one."""
    if raw[:3] != _MAGIC or len(raw) < 7:
        raise JournalError("not a journal record")
    (header_size,) = _HEADER.unpack_from(raw, 3)
    start = 7 + header_size
    try:
        header = orjson.loads(raw[7:start])
        batch_id, index, count, redo_from = header["b"], header["i"], header["n"], header["r"]
    except (orjson.JSONDecodeError, KeyError, TypeError) as error:
        raise JournalError(f"bad journal header: {error}") from None
    if not (isinstance(batch_id, str) and isinstance(index, int) and isinstance(count, int)
            and isinstance(redo_from, int) and 0 <= index < count):
        raise JournalError("bad journal header fields")
    return Chunk(batch_id, index, count, redo_from, tuple(_entries(raw, start)))


def _entries(raw: bytes, position: int) -> Iterator[Entry]:
    end = len(raw)
    while position < end:
        if position + _ENTRY.size > end:
            raise JournalError("truncated journal entry")
        table_size, key_size, value_size = _ENTRY.unpack_from(raw, position)
        position += _ENTRY.size
        table_end = position + table_size
        key_end = table_end + key_size
        value_end = key_end + max(value_size, 0)
        if value_end > end:
            raise JournalError("truncated journal entry")
        value = None if value_size < 0 else raw[key_end:value_end]
        yield Entry(raw[position:table_end].decode(), raw[table_end:key_end].decode(), value)
        position = value_end


def tail_start(last_offset: int, last: Chunk) -> int:
    """Where the tail to apply again starts, from the partition's last record."""
    return last.redo_from if last.redo_from != THIS_BATCH else last_offset - last.index


def replay_tail(records: Iterable[bytes]) -> tuple[list[Entry], int]:
    """The entries of the complete batches among records read in offset order from the tail's
    start, and how many batches were left incomplete (cut short by a crash: never acknowledged,
    so none of their changelog messages went out)."""
    replay, entries = Replay(), []
    for raw in records:
        batch = replay.add(decode_chunk(raw))
        if batch is not None:
            entries.extend(batch)
    return entries, replay.incomplete


@dataclass(slots=True)
class Replay:
    """Chunks in offset order in, complete batches out (a batch cut short by a crash never is)."""

    _open: dict[str, dict[int, Chunk]] = field(default_factory=dict)

    def add(self, chunk: Chunk) -> list[Entry] | None:
        """The batch's entries once its last chunk arrived, else None."""
        parts = self._open.setdefault(chunk.batch_id, {})
        parts[chunk.index] = chunk
        if len(parts) < chunk.count:
            return None
        del self._open[chunk.batch_id]
        return [entry for index in range(chunk.count) for entry in parts[index].entries]

    @property
    def incomplete(self) -> int:
        """Batches begun but not finished (their changelogs were never written)."""
        return len(self._open)


class Delivery(Protocol):
    """A changelog message on its way (faust's FutureMessage): acknowledged once done."""

    def done(self) -> bool: ...

    def cancelled(self) -> bool: ...

    def exception(self) -> BaseException | None: ...


@dataclass(slots=True)
class Checkpoints:
    """Per partition, the journaled batches whose changelog messages are not all acknowledged."""

    _waiting: dict[int, deque[tuple[int, list[Delivery]]]] = field(default_factory=dict)

    def redo_from(self, partition: int) -> int:
        """The offset of the oldest batch still waiting, or THIS_BATCH when none is."""
        waiting = self._waiting.get(partition)
        while waiting and all(_acknowledged(d) for d in waiting[0][1]):
            waiting.popleft()
        return waiting[0][0] if waiting else THIS_BATCH

    def add(self, partition: int, first_offset: int, deliveries: list[Delivery]) -> None:
        self._waiting.setdefault(partition, deque()).append((first_offset, deliveries))

    def forget(self, partitions: Iterable[int]) -> None:
        """Partitions given away: their next owner replays the tail from the journal."""
        for partition in partitions:
            self._waiting.pop(partition, None)


def _acknowledged(delivery: Delivery) -> bool:
    # A failed or cancelled send never counts: the batch stays in the tail to apply again.
    return delivery.done() and not delivery.cancelled() and delivery.exception() is None
