"""`treasury produce FILE`: send a JSON-lines file to the input topics, keyed for single writers.

It routes, it does not validate: the workers decide what is valid. A line that cannot be routed
(not JSON, no known type, no key) goes to the dead-letter topic as a DeadLetter and is counted.
Every message carries its line number (`treasury-seq`); each one written to a merged input topic
also carries its partition's next sequence number (`treasury-pseq`, stream/kafka/numbering.py),
which the workers merge by. One numbering producer at a time may write a topic set.
"""

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from models.codec import encode_data
from models.errors import TreasuryError
from models.outputs import DeadLetter
from stream.embedded import Overlong, read_lines
from stream.kafka.numbering import Numbering, NumberingError, last_numbers, partition_of
from stream.kafka.topics import BROADCAST_INPUTS, LEDGER_INPUTS, PSEQ_HEADER, SEQ_HEADER, Topics, key_of


class ProduceError(TreasuryError):
    """The broker could not be reached or refused the messages."""


@dataclass(slots=True)
class ProduceStats:
    lines: int = 0
    bytes_read: int = 0
    total_bytes: int = 0
    sent_by_type: Counter[str] = field(default_factory=Counter)
    dead_letters: int = 0


def route(line: bytes) -> tuple[str, bytes, bytes] | str:
    """(type, key, value) for a line, or the reason it cannot be routed."""
    try:
        envelope = orjson.loads(line)
    except orjson.JSONDecodeError:
        return "json_invalid"
    if not isinstance(envelope, dict) or not isinstance(envelope.get("type"), str):
        return "bad_envelope"
    kind, data = envelope["type"], envelope.get("data")
    key = key_of(kind, data)
    if key is None:
        return "unroutable"
    return kind, key.encode(), orjson.dumps(data)


def _dead_letter(line: bytes, source: str, offset: int, code: str) -> DeadLetter:
    kept = line[: 64 * 1024]
    return DeadLetter.model_construct(
        source=source, offset=offset, error_code=code, error=f"cannot route: {code}", payment_id=None,
        raw=kept.decode("utf-8", errors="replace"), raw_bytes=len(line), raw_truncated=len(kept) < len(line),
        raw_sha256=sha256(line).hexdigest(),
    )


async def produce_file(
    path: Path,
    bootstrap_servers: str,
    topics: Topics,
    max_line_bytes: int,
    on_progress: Callable[[ProduceStats], None] | None = None,
    linger_ms: int = 5,
    lines: tuple[int, int] | None = None,
) -> ProduceStats:
    """Send every line of `path` (or lines first..last, 1-based, inclusive) in file order; wait
    until the broker has acknowledged all.

    The partition sequence goes on from the highest number already on the merged input topics,
    so a file sent in parts (or a second file) is numbered as if sent at once.
    """
    stats = ProduceStats(total_bytes=path.stat().st_size)
    first, last = lines if lines is not None else (1, None)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers, acks="all", linger_ms=linger_ms, max_batch_size=256 * 1024,
        enable_idempotence=True, request_timeout_ms=30_000,
    )
    try:
        await producer.start()
    except KafkaError as error:
        raise ProduceError(f"cannot reach Kafka at {bootstrap_servers}: {error}") from None
    try:
        writer = await _Writer.start(producer, bootstrap_servers, topics, path.name, stats)
        with path.open("rb") as handle:
            for number, item in read_lines(handle, max_line_bytes):
                if number < first:
                    continue
                if last is not None and number > last:
                    break
                await writer.line(number, item)
                if len(writer.pending) >= 10_000:
                    await writer.wait()
                    stats.bytes_read = handle.tell()
                    if on_progress is not None:
                        on_progress(stats)
        await writer.wait()
        stats.bytes_read = stats.total_bytes
    except KafkaError as error:
        raise ProduceError(f"Kafka refused a message: {error}") from None
    finally:
        await producer.stop()
    return stats


class _Writer:
    """Routes lines to their topics and partitions, numbering each merged input's partition."""

    def __init__(self, producer: AIOKafkaProducer, topics: Topics, source: str, stats: ProduceStats,
                 numbered: dict[str, list[int]], numbering: Numbering) -> None:
        self.producer, self.topics, self.source, self.stats = producer, topics, source, stats
        self.numbered = numbered  # merged input topic -> its partitions
        self.numbering = numbering
        self.pending: list[Any] = []

    @classmethod
    async def start(cls, producer: AIOKafkaProducer, bootstrap_servers: str, topics: Topics, source: str,
                    stats: ProduceStats) -> "_Writer":
        """A writer whose numbering goes on from the highest number on the topics."""
        numbered = {topics.name(kind): sorted(await producer.partitions_for(topics.name(kind)))
                    for kind in LEDGER_INPUTS}
        try:
            numbering = Numbering(await last_numbers(bootstrap_servers, numbered))
        except NumberingError as error:
            raise ProduceError(str(error)) from None
        return cls(producer, topics, source, stats, numbered, numbering)

    async def line(self, number: int, item: bytes | Overlong) -> None:
        self.stats.lines += 1
        line = item.prefix if isinstance(item, Overlong) else item
        routed = "line_too_long" if isinstance(item, Overlong) else route(line)
        if isinstance(routed, str):
            self.stats.dead_letters += 1
            value = encode_data(_dead_letter(line, self.source, number, routed))
            self.pending.append(await self.producer.send(self.topics.name("deadletter"), value=value,
                                                         key=self.source.encode()))
            return
        kind, key, value = routed
        self.stats.sent_by_type[kind] += 1
        topic = self.topics.name(kind)
        # The line number travels along (the file's order, for a merge without partition numbers).
        seq = (SEQ_HEADER, str(number).encode())
        partitions = self.numbered.get(topic)
        if partitions is None:  # not merged by the workers: no partition sequence
            self.pending.append(await self.producer.send(topic, value=value, key=key, headers=[seq]))
            return
        # Reference data goes to every partition (see stream/kafka/topics.py), each copy with that
        # partition's own next number.
        for partition in partitions if kind in BROADCAST_INPUTS else [partition_of(key, partitions)]:
            headers = [seq, (PSEQ_HEADER, str(self.numbering.take(partition)).encode())]
            self.pending.append(await self.producer.send(topic, value=value, key=key, partition=partition,
                                                         headers=headers))

    async def wait(self) -> None:
        """Until the broker has acknowledged everything sent so far."""
        await asyncio.gather(*self.pending)
        self.pending.clear()
