"""`treasury produce` numbers each partition of the merged input topics 1, 2, 3, … across runs."""

import asyncio
from collections import defaultdict
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from stream.demo.generator import write_scenario
from stream.kafka.numbering import partition_of
from stream.kafka.produce import route
from stream.kafka.topics import BROADCAST_INPUTS, LEDGER_INPUTS, pseq_of, sequence_of
from tests.integration.kafka_harness import Cluster

pytestmark = pytest.mark.integration

Record = tuple[str, int, int, int, int, bytes]  # topic kind, partition, offset, pseq, line number, key


def _read_inputs(cluster: Cluster, kinds: tuple[str, ...]) -> list[Record]:
    async def read() -> list[Record]:
        consumer = AIOKafkaConsumer(*(f"{cluster.name}.{kind}" for kind in kinds), bootstrap_servers=cluster.bootstrap,
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        await consumer.start()
        found: list[Record] = []
        try:
            while batch := await consumer.getmany(timeout_ms=2000, max_records=50_000):
                for messages in batch.values():
                    found.extend((m.topic[len(cluster.name) + 1:], m.partition, m.offset, pseq_of(m.headers),
                                  sequence_of(m.headers), m.key or b"") for m in messages)
        finally:
            await consumer.stop()
        return found

    return asyncio.run(read())


def _expected_per_partition(path: Path, partitions: int) -> dict[int, list[int]]:
    """The line numbers each partition gets from a file, in file order (broadcasts on every one)."""
    every = list(range(partitions))
    out: dict[int, list[int]] = defaultdict(list)
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            routed = route(line.rstrip(b"\n"))
            if isinstance(routed, str) or routed[0] not in LEDGER_INPUTS:
                continue
            kind, key, _ = routed
            for partition in every if kind in BROADCAST_INPUTS else [partition_of(key, every)]:
                out[partition].append(number)
    return out


def test_every_partition_is_numbered_without_gap_across_runs_and_producers(cluster: Cluster, tmp_path: Path) -> None:
    """A file in two parts (the library call the fault tests use), poison from another producer
    in between (unnumbered, more of it at each partition's end than the first read-back window),
    then a second file with the `treasury produce` CLI: per partition the numbers over all six
    merged topics are exactly 1..n, grow with the offset in each topic partition, follow the
    files' line order, and each keyed message sits on its key's partition."""
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    lines = write_scenario(first, seed=3, payments=150)
    write_scenario(second, seed=4, payments=60)
    cluster.produce_lines(first, 1, lines // 2)
    for kind in LEDGER_INPUTS:
        cluster.send_raw(kind, [b"not numbered"] * 20)
    cluster.produce_lines(first, lines // 2 + 1, lines)
    cluster.produce(second)

    records = _read_inputs(cluster, (*LEDGER_INPUTS, "treasury_balance", "treasury_flow"))
    assert all(r[3] == 0 for r in records if r[0] not in LEDGER_INPUTS), "only merged topics are numbered"
    numbered = [r for r in records if r[0] in LEDGER_INPUTS and r[3]]
    unnumbered = [r for r in records if r[0] in LEDGER_INPUTS and not r[3]]
    assert len(unnumbered) == 20 * len(LEDGER_INPUTS) * cluster.partitions  # the poison, and only it

    expected_first = _expected_per_partition(first, cluster.partitions)
    expected_second = _expected_per_partition(second, cluster.partitions)
    every = list(range(cluster.partitions))
    for partition in every:
        mine = sorted((r for r in numbered if r[1] == partition), key=lambda r: r[3])
        assert [r[3] for r in mine] == list(range(1, len(mine) + 1)), f"partition {partition}: numbers not 1..n"
        # In number order, the line numbers are the first file's, then the second's, each in file order.
        assert [r[4] for r in mine] == expected_first[partition] + expected_second[partition]
        for kind in LEDGER_INPUTS:
            by_offset = sorted((r for r in mine if r[0] == kind), key=lambda r: r[2])
            assert [r[3] for r in by_offset] == sorted(r[3] for r in by_offset), f"{kind}[{partition}] out of order"
    keyed = [r for r in numbered if r[0] not in BROADCAST_INPUTS]
    assert keyed and all(r[1] == partition_of(r[5], every) for r in keyed)
