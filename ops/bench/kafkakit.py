"""Kafka plumbing shared by the benchmarks: isolated phases, broker-stamped reads, lag, the passthrough floor.

Also the engine run on pre-produced topics (workers started, decisions counted until all arrive).
Timing comes from the broker: output topics are created with message.timestamp.type=LogAppendTime.
Used by kafka_bench.py and soak_bench.py (run as scripts, so imported by its plain name).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Coroutine
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.structs import TopicPartition
from benchkit import PROCS, REPO, broker_pid, cpu_seconds, machine_busy, on_signal

from models.codec import INPUT_TYPES
from models.outputs import Decision
from stream.engine import Engine
from stream.kafka.admin import ensure_topics
from stream.kafka.topics import LEDGER_INPUTS, STEPS, Topics
from stream.settings import Settings

LOG_APPEND = {"message.timestamp.type": "LogAppendTime"}
COMPACT = {"cleanup.policy": "compact"}


# --- Kafka helpers ----------------------------------------------------------------------------

@dataclass
class Phase:
    """One isolated deployment: its own topics and consumer group."""

    bootstrap: str
    tag: str
    name: str
    partitions: int
    workdir: Path

    @property
    def app_id(self) -> str:
        return f"{self.tag}{self.name}"

    @property
    def topics(self) -> Topics:
        return Topics(f"{self.tag}{self.name}.")

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # no Postgres on the path
        env.update(KAFKA_BOOTSTRAP_SERVERS=self.bootstrap, TREASURY_TOPIC_PREFIX=self.topics.prefix,
                   TREASURY_KAFKA_APP_ID=self.app_id, TREASURY_KAFKA_PARTITIONS=str(self.partitions),
                   PYTHONUNBUFFERED="1")
        return env

    async def create_topics(self, stamped: tuple[str, ...] = ("decision", "passthrough")) -> None:
        """Output topics stamped by the broker first, then the rest of the contract as a worker would."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=30_000)
        await admin.start()
        try:
            with suppress(TopicAlreadyExistsError):
                await admin.create_topics([NewTopic(self.topics.name(kind), self.partitions, 1,
                                                    topic_configs=LOG_APPEND) for kind in stamped])
        finally:
            await admin.close()
        await ensure_topics(self.bootstrap, self.topics, self.partitions, 1)

    async def create_changelogs(self) -> list[str]:
        """The workers' changelog topics (compacted), before any worker joins: created by faust
        itself, they appear after the first join, and the first metadata refresh (aiokafka's
        metadata_max_age_ms, 300 s) then makes the group rebalance (BENCHMARKS.md, "Load and soak")."""
        from stream.kafka.app import TreasuryApp  # the tables as the workers declare them

        settings = Settings(kafka_bootstrap_servers=self.bootstrap, topic_prefix=self.topics.prefix,
                            kafka_app_id=self.app_id, kafka_partitions=self.partitions)
        names = sorted(table.changelog_topic.get_topic_name() for table in TreasuryApp(settings).app.tables.values())
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=30_000)
        await admin.start()
        try:
            with suppress(TopicAlreadyExistsError):
                await admin.create_topics([NewTopic(name, self.partitions, 1, topic_configs=COMPACT) for name in names])
        finally:
            await admin.close()
        return names

    def start_workers(self, n: int, first: int = 0) -> list[subprocess.Popen[bytes]]:
        """Workers number `first` to `first + n - 1` (their log files' names)."""
        return [PROCS.start([sys.executable, "-m", "stream.cli", "worker"], self.env(),
                            self.workdir / f"{self.name}-worker-{i}.log") for i in range(first, first + n)]

    def produce(self, path: Path, timeout_s: float) -> float:
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "stream.cli", "produce", str(path), "--quiet"], env=self.env(),
                              cwd=REPO, capture_output=True, text=True, timeout=timeout_s, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"treasury produce failed: {done.stderr.strip()[-2000:]}")
        return time.monotonic() - started


class Offsets:
    """End offsets of topics, from one long-lived consumer (cheap enough to poll twice a second)."""

    def __init__(self, bootstrap: str) -> None:
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)

    async def __aenter__(self) -> Offsets:
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def partitions(self, topic: str) -> list[TopicPartition]:
        for _ in range(50):
            found = self.consumer.partitions_for_topic(topic)
            if found:
                return [TopicPartition(topic, p) for p in sorted(found)]
            await self.consumer._client.force_metadata_update()
            await asyncio.sleep(0.1)
        raise RuntimeError(f"topic {topic} has no partitions")

    async def total(self, topic: str) -> int:
        return sum((await self.consumer.end_offsets(await self.partitions(topic))).values())


@dataclass
class Record:
    timestamp_ms: int
    key: bytes | None
    value: bytes | None = None


async def read_topic(bootstrap: str, topic: str, timeout_s: float = 120, values: bool = False) -> list[Record]:
    """Every record of `topic` up to its current end, with the broker's timestamps."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                max_partition_fetch_bytes=4 << 20, fetch_max_bytes=16 << 20)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        out: list[Record] = []
        deadline = time.monotonic() + timeout_s
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} took more than {timeout_s:.0f} s")
            batch = await consumer.getmany(timeout_ms=500, max_records=50_000)
            for records in batch.values():
                for r in records:
                    if r.timestamp_type != 1:
                        raise RuntimeError(f"{topic} is not stamped with LogAppendTime")
                    out.append(Record(r.timestamp, r.key, r.value if values else None))
        return out
    finally:
        await consumer.stop()


async def written_by_workers(phase: Phase) -> Counter[str]:
    """Messages on every topic of the phase that the workers write (all but the inputs we sent)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=phase.bootstrap, request_timeout_ms=30_000)
    await admin.start()
    try:
        names = [t for t in await admin.list_topics()
                 if t.startswith((phase.app_id + ".", phase.app_id + "-"))]
    finally:
        await admin.close()
    inputs = {phase.topics.name(kind) for kind in INPUT_TYPES}
    out: Counter[str] = Counter()
    async with Offsets(phase.bootstrap) as offsets:
        for name in names:
            if name not in inputs and not name.startswith(phase.topics.name("passthrough")):
                out[name.removeprefix(phase.topics.prefix).removeprefix(phase.app_id + "-")] = await offsets.total(name)
    return out


async def delete_tagged_topics(bootstrap: str, tag: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if t.startswith(tag)]
        if names:
            await admin.delete_topics(names)
        return len(names)
    finally:
        await admin.close()


def expected_decisions(path: Path) -> int:
    """Decision lines the embedded runtime writes for the file (the workers decide the same)."""
    engine = Engine(Settings().load_rules())
    count = 0
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            count += sum(isinstance(out, Decision) for out in engine.handle_line(line.rstrip(b"\n"), "bench", number))
    return count



@dataclass
class Rate:
    count: int
    span_s: float  # first → last record (broker append time)
    mid_rate: float  # records/s between the 10th and the 90th percentile of append times

    @property
    def rate(self) -> float:
        return self.count / self.span_s if self.span_s > 0 else math.nan


def rate_of(records: list[Record]) -> Rate:
    stamps = sorted(r.timestamp_ms for r in records)
    if len(stamps) < 2:
        return Rate(len(stamps), 0.0, math.nan)
    lo, hi = stamps[int(0.1 * (len(stamps) - 1))], stamps[int(0.9 * (len(stamps) - 1))]
    mid = (0.8 * len(stamps)) / ((hi - lo) / 1000) if hi > lo else math.nan
    return Rate(len(stamps), (stamps[-1] - stamps[0]) / 1000, mid)


# --- phases -------------------------------------------------------------------------------------

@dataclass
class EngineResult:
    workers: int
    decisions: Rate
    unique_payments: int
    expected: int
    window: Window
    produce_s: float
    written: Counter[str]  # messages the workers wrote, per topic (decisions, changelogs, steps, …)


@dataclass
class PassResult:
    out: Rate
    wall_s: float
    cpu_s: float


async def passthrough(phase: Phase, timeout_s: float, out_kind: str = "passthrough") -> PassResult:
    """Read the engine's five input topics from the start, write every value to `<prefix>passthrough`."""
    names = [phase.topics.name(kind) for kind in LEDGER_INPUTS]
    out_topic = phase.topics.name(out_kind)
    consumer = AIOKafkaConsumer(bootstrap_servers=phase.bootstrap, enable_auto_commit=False)
    producer = AIOKafkaProducer(bootstrap_servers=phase.bootstrap, acks="all", linger_ms=5,
                                max_batch_size=512 * 1024)  # as the workers' producer (app.py)
    cpu0 = time.process_time()
    await consumer.start()
    await producer.start()
    try:
        partitions = [TopicPartition(n, p) for n in names for p in range(phase.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        left = {tp for tp in partitions if ends[tp] > 0}
        started = time.monotonic()
        pending: list[asyncio.Future[Any]] = []
        while left:
            if time.monotonic() - started > timeout_s:
                raise TimeoutError("passthrough did not finish in time")
            batch = await consumer.getmany(timeout_ms=200, max_records=2000)
            for tp, records in batch.items():
                for r in records:
                    pending.append(await producer.send(out_topic, value=r.value, key=r.key, partition=tp.partition))
                if records and records[-1].offset + 1 >= ends[tp]:
                    left.discard(tp)
            if len(pending) >= 10_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
        wall = time.monotonic() - started
    finally:
        await producer.stop()
        await consumer.stop()
    cpu = time.process_time() - cpu0
    return PassResult(rate_of(await read_topic(phase.bootstrap, out_topic)), wall, cpu)


@dataclass
class Window:
    """What the machine did between the poll that saw the first decision and the one that saw the last."""

    first_after_s: float  # from the start of the wait to the first decision
    worker_cpu_s: float
    broker_cpu_s: float
    busy: float  # share of all cores busy
    others_cpu_s: float  # CPU s of everything else on the machine (other users, the kernel)


async def wait_decided(phase: Phase, workers: list[subprocess.Popen[bytes]], target: int, stall_s: float,
                       timeout_s: float, on_first: Any = None) -> Window:
    """Poll the decision topic until `target` decisions or no new one for `stall_s`."""
    decision = phase.topics.name("decision")
    pids = [w.pid for w in workers]
    broker = [pid] if (pid := broker_pid()) else []
    started = time.monotonic()
    first_at = math.nan
    cpu_first = cpu_last = broker_first = broker_last = 0.0
    busy_first = busy_last = (0.0, 0.0)
    self_first = self_last = 0.0
    last, last_change = 0, time.monotonic()
    async with Offsets(phase.bootstrap) as offsets:
        while True:
            for w in workers:
                if w.poll() is not None:
                    raise RuntimeError(f"worker {w.pid} exited with {w.returncode} (logs in {phase.workdir})")
            now = time.monotonic()
            count = await offsets.total(decision)
            if count > last:
                if last == 0:
                    first_at = now - started
                    cpu_first, broker_first, busy_first = cpu_seconds(pids), cpu_seconds(broker), machine_busy()
                    self_first = time.process_time()
                    if on_first is not None:
                        on_first()
                last, last_change = count, now
                cpu_last, broker_last, busy_last = cpu_seconds(pids), cpu_seconds(broker), machine_busy()
                self_last = time.process_time()
            if count >= target:
                break
            if last and now - last_change > stall_s:
                print(f"  {phase.name}: stalled at {last:,} of {target:,} decisions for {stall_s:.0f} s; stopping")
                break
            if now - started > timeout_s:
                print(f"  {phase.name}: timed out at {last:,} of {target:,} decisions")
                break
            await asyncio.sleep(0.5)
    span = busy_last[1] - busy_first[1]
    busy = (busy_last[0] - busy_first[0]) / span if span > 0 else math.nan
    worker_cpu, broker_cpu = cpu_last - cpu_first, broker_last - broker_first
    machine_cpu = (busy_last[0] - busy_first[0]) / os.sysconf("SC_CLK_TCK")
    others = machine_cpu - worker_cpu - broker_cpu - (self_last - self_first)
    return Window(first_at, worker_cpu, broker_cpu if broker else math.nan, busy, others)


async def engine_on_produced(phase: Phase, workers: int, expected: int, args: argparse.Namespace, produce_s: float,
                             profile_to: Path | None = None) -> EngineResult:
    procs = phase.start_workers(workers)
    spy: list[subprocess.Popen[bytes]] = []

    def start_profiler() -> None:
        if profile_to is not None:
            spy.append(PROCS.start([shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy")), "record",
                                    "--pid", str(procs[0].pid), "--rate", "200", "--nonblocking", "--format", "raw",
                                    "--output", str(profile_to)], dict(os.environ), phase.workdir / "py-spy.log"))

    try:
        window = await wait_decided(phase, procs, expected, args.stall, args.timeout, start_profiler)
    finally:
        PROCS.stop(spy, signal.SIGINT, grace_s=30)
        PROCS.stop(procs)
    records = await read_topic(phase.bootstrap, phase.topics.name("decision"))
    return EngineResult(workers, rate_of(records), len({r.key for r in records}), expected, window, produce_s,
                        await written_by_workers(phase))


async def group_lag_by_partition(phase: Phase, offsets: Offsets, admin: AIOKafkaAdminClient) -> dict[str, int]:
    """`topic:partition` → messages the workers' group has not committed yet (only those lagging)."""
    committed = await admin.list_consumer_group_offsets(phase.app_id)
    lag: dict[str, int] = {}
    for kind in (*LEDGER_INPUTS, STEPS):
        partitions = await offsets.partitions(phase.topics.name(kind))
        for tp, end in (await offsets.consumer.end_offsets(partitions)).items():
            meta = committed.get(tp)
            behind = end - (meta.offset if meta is not None and meta.offset >= 0 else 0)
            if behind:
                lag[f"{kind}:{tp.partition}"] = behind
    return lag


async def wait_caught_up(phase: Phase, workers: list[subprocess.Popen[bytes]], timeout_s: float) -> float:
    """Until the workers' group has committed everything on its input topics (twice in a row)."""
    started = time.monotonic()
    zero = 0
    admin = AIOKafkaAdminClient(bootstrap_servers=phase.bootstrap, request_timeout_ms=30_000)
    await admin.start()
    try:
        async with Offsets(phase.bootstrap) as offsets:
            while zero < 2:
                for w in workers:
                    if w.poll() is not None:
                        raise RuntimeError(f"worker {w.pid} exited with {w.returncode} (logs in {phase.workdir})")
                await asyncio.sleep(1.0)
                lag = await group_lag_by_partition(phase, offsets, admin)
                zero = zero + 1 if not lag else 0
                if lag and time.monotonic() - started > timeout_s:
                    raise TimeoutError(f"{len(workers)} worker(s) not caught up on the reference data "
                                       f"{timeout_s:.0f} s after start; uncommitted: "
                                       + ", ".join(f"{k} {v}" for k, v in sorted(lag.items())))
    finally:
        await admin.close()
    return time.monotonic() - started




# --- the run ------------------------------------------------------------------------------------

def start_run(prefix: str) -> tuple[str, Path]:
    """A new random tag (topic prefix of the whole run) and its work directory; signals as Ctrl-C."""
    logging.getLogger("aiokafka").setLevel(logging.ERROR)  # retries on just-created topics are expected
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    tag = f"{prefix}{secrets.token_hex(4)}"
    return tag, Path(tempfile.mkdtemp(prefix=f"{tag}-"))


def run_phases(body: Coroutine[Any, Any, None], bootstrap: str, tag: str, keep_topics: bool) -> tuple[bool, int]:
    """Run the benchmark; whatever happens, stop every child and delete the tag's topics.
    Returns (finished, exit code)."""
    ok, code = False, 0
    try:
        asyncio.run(body)
        ok = True
    except KeyboardInterrupt:
        print("interrupted: workers stopped", file=sys.stderr)
        code = 130
    finally:
        PROCS.stop()
        if not keep_topics:
            with suppress(Exception):
                n = asyncio.run(asyncio.wait_for(delete_tagged_topics(bootstrap, tag), 60))
                print(f"deleted {n} topics of {tag}")
    return ok, code
