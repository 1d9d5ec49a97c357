"""Where a topic set's partition sequence stands: the highest `treasury-pseq` per partition.

`treasury produce` numbers every message it writes to partition p of the merged input topics
(topics.LEDGER_INPUTS) with one counter per partition. A second run (the rest of a file, another
file) must go on from there, so at start it reads, for each input topic partition, the last
numbered message and takes the highest number per partition. One numbering producer at a time
may write a topic set: two at once would hand out the same numbers.
"""

import time
from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.structs import TopicPartition

from models.errors import TreasuryError
from stream.kafka.topics import pseq_of

# The producers' partitioner (the workers' publish.py uses the same): which partition owns a key.
_PARTITIONER = DefaultPartitioner()
# Messages read back from a partition's end at first; doubled (times 8) while none is numbered
# (the last ones may be another producer's, e.g. poison).
_FIRST_WINDOW = 16
_READ_TIMEOUT_S = 60.0


class NumberingError(TreasuryError):
    """The input topics could not be read back to find where the numbering stands."""


def partition_of(key: bytes, partitions: Sequence[int]) -> int:
    """The partition a keyed message goes to, as the default producer would pick it."""
    ordered = sorted(partitions)
    return int(_PARTITIONER(key, ordered, ordered))


class Numbering:
    """The next number per partition, continuing from the highest found on the topics."""

    __slots__ = ("_last",)

    def __init__(self, last: Mapping[int, int]) -> None:
        self._last = dict(last)

    def take(self, partition: int) -> int:
        number = self._last.get(partition, 0) + 1
        self._last[partition] = number
        return number

    def last(self, partition: int) -> int:
        return self._last.get(partition, 0)


async def last_numbers(bootstrap_servers: str, partitions: Mapping[str, Sequence[int]]) -> dict[int, int]:
    """The highest partition sequence number already written, per partition, over these topics.

    Reads each topic partition backwards from its end in growing windows until a numbered
    message is found (or its beginning is reached): numbers only grow within a topic partition.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False,
                                auto_offset_reset="earliest", request_timeout_ms=30_000)
    try:
        await consumer.start()
    except KafkaError as error:
        raise NumberingError(f"cannot reach Kafka at {bootstrap_servers}: {error}") from None
    try:
        tps = [TopicPartition(topic, p) for topic, ps in partitions.items() for p in ps]
        consumer.assign(tps)
        begin = await consumer.beginning_offsets(tps)
        end = await consumer.end_offsets(tps)
        found: dict[TopicPartition, int] = {}
        upto = {tp: end[tp] for tp in tps if end[tp] > begin[tp]}  # read below this offset
        window = _FIRST_WINDOW
        deadline = time.monotonic() + _READ_TIMEOUT_S
        while upto:
            lows = {tp: max(begin[tp], stop - window) for tp, stop in upto.items()}
            await _read(consumer, lows, upto, found, deadline)
            upto = {tp: lows[tp] for tp in upto if tp not in found and lows[tp] > begin[tp]}
            window *= 8
    except KafkaError as error:
        raise NumberingError(f"cannot read the input topics back: {error}") from None
    finally:
        await consumer.stop()
    last: dict[int, int] = {}
    for tp, number in found.items():
        last[tp.partition] = max(number, last.get(tp.partition, 0))
    return last


async def _read(consumer: AIOKafkaConsumer, lows: Mapping[TopicPartition, int], upto: Mapping[TopicPartition, int],
                found: dict[TopicPartition, int], deadline: float) -> None:
    """Read each partition from `lows` up to (not including) `upto`; the highest number into `found`."""
    for tp, low in lows.items():
        consumer.seek(tp, low)
    remaining = dict(upto)
    consumer.pause(*[tp for tp in consumer.assignment() if tp not in remaining])
    consumer.resume(*remaining)
    while remaining:
        if time.monotonic() > deadline:
            raise NumberingError(f"reading the input topics back took over {_READ_TIMEOUT_S:.0f} s")
        batch = await consumer.getmany(*remaining, timeout_ms=500)
        for tp, records in batch.items():
            stop = remaining.get(tp, -1)
            for record in records:
                number = pseq_of(record.headers) if record.offset < stop else 0
                if number:
                    found[tp] = max(number, found.get(tp, 0))
        for tp in list(remaining):
            if await consumer.position(tp) >= remaining[tp]:
                del remaining[tp]
                consumer.pause(tp)
