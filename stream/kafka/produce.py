"""`treasury produce FILE`: send a JSON-lines file to the input topics, keyed for single writers.

It routes, it does not validate: the workers decide what is valid. A line that cannot be routed
(not JSON, no known type, no key) goes to the dead-letter topic as a DeadLetter and is counted.
"""

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from models.codec import encode_data
from models.errors import TreasuryError
from models.outputs import DeadLetter
from stream.embedded import Overlong, read_lines
from stream.kafka.topics import BROADCAST_INPUTS, SEQ_HEADER, Topics, key_of


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
) -> ProduceStats:
    """Send every line of `path` in file order; wait until the broker has acknowledged all."""
    stats = ProduceStats(total_bytes=path.stat().st_size)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers, acks="all", linger_ms=linger_ms, max_batch_size=256 * 1024,
        enable_idempotence=True, request_timeout_ms=30_000,
    )
    try:
        await producer.start()
    except KafkaError as error:
        raise ProduceError(f"cannot reach Kafka at {bootstrap_servers}: {error}") from None
    try:
        pending = []
        with path.open("rb") as handle:
            for number, item in read_lines(handle, max_line_bytes):
                stats.lines += 1
                line = item.prefix if isinstance(item, Overlong) else item
                routed = "line_too_long" if isinstance(item, Overlong) else route(line)
                if isinstance(routed, str):
                    stats.dead_letters += 1
                    value = encode_data(_dead_letter(line, path.name, number, routed))
                    pending.append(await producer.send(topics.name("deadletter"), value=value, key=path.name.encode()))
                else:
                    kind, key, value = routed
                    stats.sent_by_type[kind] += 1
                    topic = topics.name(kind)
                    # The line number travels along: workers merge the topics back in file order.
                    headers = [(SEQ_HEADER, str(number).encode())]
                    if kind in BROADCAST_INPUTS:
                        # Reference data goes to every partition (see stream/kafka/topics.py).
                        for partition in sorted(await producer.partitions_for(topic)):
                            pending.append(await producer.send(topic, value=value, key=key, partition=partition,
                                                               headers=headers))
                    else:
                        pending.append(await producer.send(topic, value=value, key=key, headers=headers))
                if len(pending) >= 10_000:
                    await asyncio.gather(*pending)
                    pending.clear()
                    stats.bytes_read = handle.tell()
                    if on_progress is not None:
                        on_progress(stats)
        await asyncio.gather(*pending)
        stats.bytes_read = stats.total_bytes
    except KafkaError as error:
        raise ProduceError(f"Kafka refused a message: {error}") from None
    finally:
        await producer.stop()
    return stats
