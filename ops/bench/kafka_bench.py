"""Kafka runtime end to end: a plain consumer→producer floor, engine throughput (1 and 2 workers), latency.

Usage: python ops/bench/kafka_bench.py [--bootstrap 127.0.0.1:19092] [--payments 20000] [--seed 7]
           [--partitions 4] [--workers 1 2] [--rate 3000 [RATE ...]] [--seconds 20] [--latency-workers 1]
           [--pass-repeat 3] [--profile] [--timeout 600] [--catchup-timeout 120] [--keep-topics] [--keep-files]

Everything runs against a live broker (`bash ops/kafka/broker.sh start`); each phase gets its own
topic prefix and consumer group under one random tag (`bench<hex>`), and every topic of the tag is
deleted at the end (unless --keep-topics), so runs are independent and repeatable. Workers are
`python -m stream.cli worker` subprocesses *without* DATABASE_URL (no Postgres on the path), each in
its own process group, stopped (SIGTERM, then SIGKILL) whatever happens to this script.

Phases, all on the same generated scenario (`treasury generate --payments N --seed S`):
  passthrough  one process, aiokafka consumer → producer: reads the five topics the engine reads
               (project, payee_block, indicator, payment, settlement) and writes every value, same
               key and partition, to `<prefix>passthrough`. The floor of Python + Kafka plumbing
               (median of --pass-repeat runs, before any worker runs).
  engine-N     the same pre-produced topics, N workers started together; decisions/s from the first
               decision to the last.
  latency-N    N workers caught up on the reference data (projects, blocklist, indicators), then the
               scenario's payments sent at --rate for --seconds; latency = decision's append time −
               the payment's send time (taken just before `producer.send`).
  profile      (--profile) engine-1 again under `py-spy record` (not counted in the table).

Timing comes from the broker: the output topics (`decision`, `passthrough`) are created beforehand
with message.timestamp.type=LogAppendTime, so first→last and latency use the broker's append clock,
never the time this script gets around to reading them.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import platform
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.structs import TopicPartition

from models.codec import INPUT_TYPES
from models.outputs import Decision
from stream.demo.generator import write_scenario
from stream.engine import Engine
from stream.kafka.admin import ensure_topics
from stream.kafka.produce import route
from stream.kafka.topics import BROADCAST_INPUTS, LEDGER_INPUTS, SEQ_HEADER, STEPS, Topics
from stream.settings import Settings

REPO = Path(__file__).resolve().parents[2]
LOG_APPEND = {"message.timestamp.type": "LogAppendTime"}
REFERENCE = tuple(kind for kind in LEDGER_INPUTS if kind not in ("payment", "settlement"))


# --- subprocesses -----------------------------------------------------------------------------

class Processes:
    """Every child this script starts; all stopped on exit, failure or signal."""

    def __init__(self) -> None:
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            proc = subprocess.Popen(argv, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        self.running.append(proc)
        return proc

    def stop(self, procs: list[subprocess.Popen[bytes]] | None = None, sig: int = signal.SIGTERM,
             grace_s: float = 20.0) -> None:
        targets = [p for p in (self.running if procs is None else procs) if p.poll() is None]
        for proc in targets:
            with suppress(ProcessLookupError):
                os.kill(proc.pid, sig)
        deadline = time.monotonic() + grace_s
        for proc in targets:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        for proc in targets:  # anything the child left in its group
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        self.running = [p for p in self.running if p.poll() is None]


PROCS = Processes()


def _on_signal(signum: int, frame: Any) -> None:
    # as Ctrl-C: asyncio.run cancels the running phase, the finally blocks stop the workers
    signal.raise_signal(signal.SIGINT)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the given processes (0 for one that is gone)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def broker_pid() -> int | None:
    """The local test broker's pid (ops/kafka/broker.sh's pid file), to count its CPU too."""
    pid_file = Path(os.environ.get("TREASURY_KAFKA_DATA", "/tmp/treasury-kafka")) / "broker.pid"
    with suppress(OSError, ValueError):
        pid = int(pid_file.read_text().strip())
        if b"kafka.Kafka" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return pid
    return None


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


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

    def start_workers(self, n: int) -> list[subprocess.Popen[bytes]]:
        return [PROCS.start([sys.executable, "-m", "stream.cli", "worker"], self.env(),
                            self.workdir / f"{self.name}-worker-{i}.log") for i in range(n)]

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


# --- the scenario -------------------------------------------------------------------------------

@dataclass
class Scenario:
    path: Path
    lines: int
    by_kind: Counter[str]
    input_lines: int  # lines of the five topics the workers read
    input_messages: int  # the same, with broadcast reference data counted once per partition
    reference: list[tuple[str, bytes, bytes, int]] = field(default_factory=list)  # kind, key, value, seq
    payments: list[tuple[str, bytes, bytes, int]] = field(default_factory=list)  # payment_id, key, value, seq


def load_scenario(path: Path, partitions: int) -> Scenario:
    by_kind: Counter[str] = Counter()
    reference, payments = [], []
    lines = 0
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            lines += 1
            routed = route(line.rstrip(b"\n"))
            if isinstance(routed, str):
                continue
            kind, key, value = routed
            by_kind[kind] += 1
            if kind in REFERENCE:
                reference.append((kind, key, value, number))
            elif kind == "payment":
                payment_id = orjson.loads(value).get("payment_id")
                if isinstance(payment_id, str):
                    payments.append((payment_id, key, value, number))
    input_lines = sum(by_kind[k] for k in LEDGER_INPUTS)
    input_messages = sum(by_kind[k] * (partitions if k in BROADCAST_INPUTS else 1) for k in LEDGER_INPUTS)
    return Scenario(path, lines, by_kind, input_lines, input_messages, reference, payments)


def expected_decisions(path: Path) -> int:
    """Decision lines the embedded runtime writes for the file (the workers decide the same)."""
    engine = Engine(Settings().load_rules())
    count = 0
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            count += sum(isinstance(out, Decision) for out in engine.handle_line(line.rstrip(b"\n"), "bench", number))
    return count


# --- statistics ---------------------------------------------------------------------------------

def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return math.nan
    return sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))]


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


@dataclass
class LatencyResult:
    workers: int
    rate: int
    sent: int  # payment messages (a redelivered payment counts twice)
    payments: int  # distinct payment ids among them
    send_span_s: float
    decided: int  # distinct payment ids decided
    decided_span_s: float
    latencies_ms: list[float]  # decision appended − send time
    to_broker_ms: list[float]  # payment appended − send time
    in_worker_ms: list[float]  # decision appended − payment appended
    windows: list[tuple[float, float, int, float, float]]  # start s, end s, sent, p50, p99
    worker_cpu_s: float
    broker_cpu_s: float
    caught_up_s: float

    @property
    def kept_up(self) -> bool:
        return self.decided >= self.payments and not self.windows[-1][3] > 4 * max(self.windows[0][3], 50.0)


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


async def latency_run(phase: Phase, scenario: Scenario, workers: int, rate: int,
                      args: argparse.Namespace) -> LatencyResult:
    # payments stamped by the broker as well: latency splits into send → appended → decided
    await phase.create_topics(stamped=("decision", "payment"))
    procs = phase.start_workers(workers)
    producer = AIOKafkaProducer(bootstrap_servers=phase.bootstrap, acks="all", linger_ms=0,
                                max_batch_size=256 * 1024)
    broker = [pid] if (pid := broker_pid()) else []
    await producer.start()
    try:
        # 1. the reference data, as `treasury produce` sends it (broadcast kinds to every partition)
        pending: list[asyncio.Future[Any]] = []
        for kind, key, value, seq in scenario.reference:
            headers = [(SEQ_HEADER, str(seq).encode())]
            topic = phase.topics.name(kind)
            targets = range(phase.partitions) if kind in BROADCAST_INPUTS else [None]
            for partition in targets:
                pending.append(await producer.send(topic, value=value, key=key, partition=partition, headers=headers))
        await asyncio.gather(*pending)
        caught_up = await wait_caught_up(phase, procs, args.catchup_timeout)
        print(f"  {phase.name}: {workers} worker(s) caught up on {len(scenario.reference):,} reference lines "
              f"{caught_up:.1f} s after they were started")

        # 2. payments at the offered rate, each stamped just before it is handed to the producer
        topic = phase.topics.name("payment")
        todo = scenario.payments[: int(rate * args.seconds)]
        sent_at: dict[str, float] = {}
        send_times: list[float] = []
        errors: list[BaseException] = []

        def check(fut: asyncio.Future[Any]) -> None:
            if not fut.cancelled() and fut.exception() is not None:
                errors.append(fut.exception())  # type: ignore[arg-type]

        futures: list[asyncio.Future[Any]] = []
        cpu0, broker0 = cpu_seconds([p.pid for p in procs]), cpu_seconds(broker)
        t0 = time.time()
        i = 0
        while i < len(todo):
            due = min(len(todo), int((time.time() - t0) * rate) + 1)
            while i < due:
                payment_id, key, value, seq = todo[i]
                now = time.time()
                sent_at.setdefault(payment_id, now)
                send_times.append(now)
                fut = await producer.send(topic, value=value, key=key, headers=[(SEQ_HEADER, str(seq).encode())])
                fut.add_done_callback(check)
                futures.append(fut)
                i += 1
            await asyncio.sleep(0.001)
        await asyncio.gather(*futures, return_exceptions=True)
        if errors:
            raise RuntimeError(f"{len(errors)} payments not acknowledged: {errors[0]!r}")
        # bounded: a backlog the engine cannot clear soon is reported as such, not waited for
        await wait_decided(phase, procs, len(todo), args.stall, max(30.0, 1.5 * args.seconds))
        cpu, broker_cpu = cpu_seconds([p.pid for p in procs]) - cpu0, cpu_seconds(broker) - broker0
    finally:
        await producer.stop()
        PROCS.stop(procs)

    appended: dict[str, int] = {}  # payment_id → when the broker appended the payment (first copy)
    for record in await read_topic(phase.bootstrap, phase.topics.name("payment"), values=True):
        appended.setdefault(orjson.loads(record.value or b"{}").get("payment_id", ""), record.timestamp_ms)
    first: dict[str, int] = {}
    for record in await read_topic(phase.bootstrap, phase.topics.name("decision")):
        payment_id = (record.key or b"").decode()
        if payment_id in sent_at and payment_id not in first:
            first[payment_id] = record.timestamp_ms
    pairs = sorted((sent_at[p], first[p] / 1000 - sent_at[p]) for p in first)
    latencies = sorted(lat * 1000 for _, lat in pairs)
    windows = []
    step = args.seconds / 4
    for w in range(4):
        lo, hi = t0 + w * step, t0 + (w + 1) * step
        chunk = sorted(lat * 1000 for at, lat in pairs if lo <= at < hi)
        n_sent = sum(1 for at in send_times if lo <= at < hi)
        windows.append((w * step, (w + 1) * step, n_sent, percentile(chunk, 0.5), percentile(chunk, 0.99)))
    to_broker = sorted(appended[p] - sent_at[p] * 1000 for p in first if p in appended)
    in_worker = sorted(float(first[p] - appended[p]) for p in first if p in appended)
    decided_stamps = sorted(first.values())
    return LatencyResult(workers, rate, len(todo), len(sent_at), send_times[-1] - send_times[0] if send_times else 0.0,
                         len(first), (decided_stamps[-1] - decided_stamps[0]) / 1000 if decided_stamps else 0.0,
                         latencies, to_broker, in_worker, windows, cpu, broker_cpu if broker else math.nan, caught_up)


# --- profile summary ------------------------------------------------------------------------------

# Where a sample goes: the first rule whose marker appears anywhere in its stack.
_CATEGORIES = (
    ("logging (debug records built, then dropped)", ("logging/__init__",)),
    ("table writes: PinnedTable → faust changelog send", ("PinnedTable.__setitem__", "PinnedTable.__delitem__")),
    ("outputs: encode + faust Topic.send (TreasuryApp._emit)", ("TreasuryApp._emit",)),
    ("balances and chain rows published (Publisher.send)", ("Publisher.send",)),
    ("producer path: faust ProducerBuffer + aiokafka sender", ("faust/transport/producer", "aiokafka/producer",
                                                              "Topic.publish_message")),
    ("decode (pydantic, TreasuryApp._decode)", ("TreasuryApp._decode",)),
    ("engine core (Engine.handle/invalid/handle_step)", ("Engine.handle", "Engine.invalid")),
    ("aligner + drained checks", ("Aligner.", "TreasuryApp._drained")),
    ("faust stream/acks (rest of _take/_process)", ("TreasuryApp._take", "TreasuryApp._process")),
    ("consumer fetch (aiokafka/faust consumer)", ("aiokafka/consumer", "faust/transport/consumer",
                                                  "faust/transport/drivers/aiokafka")),
    ("event loop waiting (select)", ("EpollSelector.select",)),
)


def categorize(stacks: list[tuple[list[str], int]]) -> list[tuple[str, int]]:
    found: Counter[str] = Counter()
    for frames, count in stacks:
        joined = ";".join(frames)
        found[next((name for name, markers in _CATEGORIES if any(m in joined for m in markers)), "other")] += count
    return found.most_common()


_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def summarize_profile(path: Path, top: int = 15) -> str:
    """Self and inclusive shares per function from py-spy's raw (collapsed) stacks."""
    if not path.is_file():
        return f"(no profile: {path} missing; see py-spy.log)"
    self_: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    stacks: list[tuple[list[str], int]] = []
    for line in path.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        count = int(n)
        total += count
        frames = []
        for frame in stack.split(";"):
            m = _FRAME.match(frame)
            if m:
                file = m["file"]
                short = file.split("site-packages/")[-1] if "site-packages/" in file else \
                    file.replace(str(REPO) + "/", "")
                frames.append(f"{m['func']} ({short})")
            else:
                frames.append(frame)
        stacks.append((frames, count))
        if frames:
            self_[frames[-1]] += count
        for f in set(frames):
            incl[f] += count
    if not total:
        return "(empty profile)"
    out = [f"py-spy samples: {total:,} (idle time of the event loop shows as select/poll)", "",
           "share %  where (each sample counted once, first matching category)"]
    out += [f"{100 * c / total:6.1f}   {name}" for name, c in categorize(stacks)]
    out += ["", "self %   function"]
    out += [f"{100 * c / total:6.1f}   {f}" for f, c in self_.most_common(top)]
    out += ["", "incl %   function (ours and the Kafka path)"]
    interesting = [(f, c) for f, c in incl.most_common() if any(s in f for s in (
        "stream/", "agents/", "models/", "alerts/", "faust/", "aiokafka/", "mode/"))]
    out += [f"{100 * c / total:6.1f}   {f}" for f, c in interesting[:top]]
    return "\n".join(out)


# --- report -------------------------------------------------------------------------------------------

def background_busy(seconds: float = 3.0) -> float:
    """Share of all cores busy while this script does nothing (other people's processes)."""
    before = machine_busy()
    time.sleep(seconds)
    after = machine_busy()
    return (after[0] - before[0]) / max(1.0, after[1] - before[1])


def machine_line() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    mem = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))) / 1024 / 1024
    from importlib.metadata import version
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} cores of {model}, {mem:.0f} GB, Python {platform.python_version()}, "
            f"faust-streaming {version('faust-streaming')}, aiokafka {version('aiokafka')}, "
            f"load average at start {load}")


def fmt(x: float, digits: int = 0) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.{digits}f}"


def report(args: argparse.Namespace, scenario: Scenario, passed: PassResult | None, engines: list[EngineResult],
           latencies: list[LatencyResult]) -> None:
    print()
    print("input (the five topics the workers read): " + ", ".join(
        f"{k} {scenario.by_kind[k]:,}" for k in LEDGER_INPUTS)
        + f" = {scenario.input_lines:,} lines, {scenario.input_messages:,} messages "
          f"(broadcast kinds × {args.partitions} partitions); {scenario.lines:,} lines in the file")
    print(f"workers without DATABASE_URL (no Postgres), {args.partitions} partitions; rates are first→last "
          "record by broker append time; CPU s over the same span")
    print()
    header = (f"{'run':24s} {'in msgs/s':>10s} {'decisions/s':>11s} {'10-90%/s':>9s} {'span s':>7s} {'records':>8s} "
              f"{'CPU s':>6s} {'broker':>6s} {'others':>6s} {'busy':>5s} {'written':>8s} {'×pass':>6s}")
    print(header)
    print("-" * len(header))
    floor = passed.out.rate if passed else math.nan
    if passed:
        print(f"{'passthrough, 1 process':24s} {fmt(passed.out.rate):>10s} {'-':>11s} {fmt(passed.out.mid_rate):>9s} "
              f"{passed.out.span_s:7.2f} {passed.out.count:8,d} {passed.cpu_s:6.1f} {'':>6s} {'':>6s} {'':>5s} "
              f"{passed.out.count:8,d} {1:6.2f}")
    for e in engines:
        r, w = e.decisions, e.window
        msgs = scenario.input_messages / r.span_s if r.span_s else math.nan
        print(f"{f'engine, {e.workers} worker(s)':24s} {fmt(msgs):>10s} {fmt(r.rate):>11s} {fmt(r.mid_rate):>9s} "
              f"{r.span_s:7.2f} {r.count:8,d} {w.worker_cpu_s:6.1f} {fmt(w.broker_cpu_s, 1):>6s} "
              f"{fmt(w.others_cpu_s, 1):>6s} "
              f"{fmt(100 * w.busy) + '%':>5s} {sum(e.written.values()):8,d} {fmt(msgs / floor, 3):>6s}")
    print("  in msgs/s: messages of the five input topics / span (passthrough: messages copied / span);")
    print("  CPU s: of the worker processes (passthrough: of this process); broker: CPU s of the Kafka broker;")
    print("  others: CPU s of everything else on the machine over the span (other users' processes);")
    print("  busy: share of both cores busy (everything on the machine); written: messages the run wrote;")
    print("  ×pass: in msgs/s / passthrough msgs/s")
    for e in engines:
        per = {k: v / max(1, e.decisions.count) for k, v in e.written.most_common(6)}
        print(f"  engine {e.workers}: {e.unique_payments:,} payments decided, {e.decisions.count:,} decision records "
              f"of {e.expected:,} expected; decisions per worker CPU-second "
              f"{fmt(e.decisions.count / e.window.worker_cpu_s if e.window.worker_cpu_s else math.nan)}; "
              f"first decision {e.window.first_after_s:.1f} s after start; input produced in {e.produce_s:.1f} s")
        print("    written per decision: " + ", ".join(f"{k} {v:.2f}" for k, v in per.items()))
    if passed:
        print(f"  passthrough: wall {passed.wall_s:.2f} s from first fetch to last ack")
    for lat in latencies:
        achieved = lat.sent / lat.send_span_s if lat.send_span_s else math.nan
        decided = lat.decided / lat.decided_span_s if lat.decided_span_s else math.nan
        v = lat.latencies_ms
        print()
        print(f"latency, {lat.workers} worker(s), offered {lat.rate:,} payments/s for {args.seconds} s: sent "
              f"{lat.sent:,} ({lat.payments:,} distinct) at {fmt(achieved)}/s; {lat.decided:,} decided at "
              f"{fmt(decided)}/s within the wait; worker CPU {lat.worker_cpu_s:.1f} s, "
              f"broker CPU {fmt(lat.broker_cpu_s, 1)} s")
        for label, values in (("decision latency ms", v), ("  send → payment appended", lat.to_broker_ms),
                              ("  payment appended → decision appended", lat.in_worker_ms)):
            print(f"  {label}: p50 {fmt(percentile(values, 0.5), 1)}  p99 {fmt(percentile(values, 0.99), 1)}  "
                  f"p999 {fmt(percentile(values, 0.999), 1)}  max {fmt(values[-1] if values else math.nan, 1)}")
        print("  by send time: " + "; ".join(f"{a:g}-{b:g} s: {n:,} sent, p50 {fmt(p50)} p99 {fmt(p99)}"
                                              for a, b, n, p50, p99 in lat.windows))
        if not lat.kept_up:
            print(f"  NOT kept up: the engine cannot decide {lat.rate:,} payments/s; latency grows with the backlog"
                  + (f" and {lat.payments - lat.decided:,} payments were still undecided when the wait ended"
                     if lat.decided < lat.payments else ""))


async def bench(args: argparse.Namespace, tag: str, workdir: Path) -> None:
    print(f"tag {tag}; logs and files in {workdir}")
    path = workdir / "scenario.jsonl"
    write_scenario(path, seed=args.seed, payments=args.payments)
    scenario = load_scenario(path, args.partitions)
    expected = expected_decisions(path)
    print(f"scenario: {scenario.lines:,} lines, {scenario.by_kind['payment']:,} payments, "
          f"{expected:,} decision lines expected")
    failures: list[str] = []

    async def attempt(name: str, step: Any) -> Any:
        """A phase that fails is reported and the run goes on with the next one (workers stopped)."""
        try:
            return await step
        except Exception as error:  # reported in the output, never hidden
            PROCS.stop()
            failures.append(f"{name}: {type(error).__name__}: {error}")
            print(f"  {name}: FAILED: {error}")
            return None

    passed: PassResult | None = None
    engines: list[EngineResult] = []
    for n in args.workers:
        phase = Phase(args.bootstrap, tag, f"w{n}", args.partitions, workdir)
        copies = tuple(f"passthrough{i or ''}" for i in range(args.pass_repeat))
        await phase.create_topics(stamped=("decision", *copies))
        produce_s = phase.produce(scenario.path, args.timeout)
        print(f"  {phase.name}: produced {scenario.lines:,} lines in {produce_s:.1f} s")
        if passed is None and args.pass_repeat:
            # before any worker runs (nothing of ours else on the CPU); the median of the repeats
            runs = [await passthrough(phase, args.timeout, kind) for kind in copies]
            passed = sorted(runs, key=lambda r: r.out.rate)[len(runs) // 2]
            print("  passthrough: " + ", ".join(f"{r.out.rate:,.0f}/s" for r in runs)
                  + f" ({passed.out.count:,} messages each)")
        result = await attempt(phase.name, engine_on_produced(phase, n, expected, args, produce_s))
        if result is not None:
            engines.append(result)
            print(f"  {phase.name}: {result.decisions.count:,} decisions at {result.decisions.rate:,.0f}/s")

    latencies: list[LatencyResult] = []
    if args.latency_workers and args.rate:
        lat_path = workdir / "latency.jsonl"
        write_scenario(lat_path, seed=args.seed + 1, payments=max(1000, int(max(args.rate) * args.seconds)))
        lat_scenario = load_scenario(lat_path, args.partitions)
        print(f"latency scenario: {len(lat_scenario.reference):,} reference lines, "
              f"{len(lat_scenario.payments):,} payments")
        for n in args.latency_workers:
            for rate in args.rate:
                phase = Phase(args.bootstrap, tag, f"lat{n}r{rate}", args.partitions, workdir)
                lat = await attempt(phase.name, latency_run(phase, lat_scenario, n, rate, args))
                if lat is not None:
                    latencies.append(lat)
                    print(f"  {phase.name}: p50 {percentile(lat.latencies_ms, 0.5):,.0f} ms, "
                          f"p99 {percentile(lat.latencies_ms, 0.99):,.0f} ms")

    profile_text = None
    if args.profile:
        phase = Phase(args.bootstrap, tag, "prof", args.partitions, workdir)
        out = workdir / "py-spy-worker.txt"
        await phase.create_topics()
        produce_s = phase.produce(scenario.path, args.timeout)
        if await attempt(phase.name, engine_on_produced(phase, 1, expected, args, produce_s, profile_to=out)):
            profile_text = summarize_profile(out)

    report(args, scenario, passed, engines, latencies)
    if profile_text:
        print()
        print("profile of one worker (engine, 1 worker, same input, a separate run; "
              "py-spy record --rate 200 --nonblocking, from the first decision to the last):")
        print(profile_text)
    if failures:
        print()
        print("FAILED phases (not in the table):")
        for failure in failures:
            print(f"  {failure}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092"))
    parser.add_argument("--payments", type=int, default=20_000, help="payments in the throughput scenario")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--partitions", type=int, default=4, help="partitions of every topic")
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2], help="worker counts for throughput")
    parser.add_argument("--rate", type=int, nargs="*", default=[3000],
                        help="offered payments/s in the latency phase (several: one run each)")
    parser.add_argument("--seconds", type=int, default=20, help="length of each latency run")
    parser.add_argument("--latency-workers", type=int, nargs="*", default=[1], help="worker counts for latency")
    parser.add_argument("--stall", type=float, default=15.0, help="stop waiting after this long without a decision")
    parser.add_argument("--timeout", type=float, default=600.0, help="bound of every wait, seconds")
    parser.add_argument("--catchup-timeout", type=float, default=120.0,
                        help="latency phase: bound on the workers' start + catching up on the reference data")
    parser.add_argument("--pass-repeat", type=int, default=3, help="passthrough runs (median kept; 0: none)")
    parser.add_argument("--profile", action="store_true", help="also run one worker under py-spy and summarise")
    parser.add_argument("--keep-topics", action="store_true", help="keep this run's topics (default: delete)")
    parser.add_argument("--keep-files", action="store_true", help="keep the scenario, logs and raw profile")
    args = parser.parse_args()

    logging.getLogger("aiokafka").setLevel(logging.ERROR)  # retries on just-created topics are expected
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    tag = f"bench{secrets.token_hex(4)}"
    workdir = Path(tempfile.mkdtemp(prefix=f"{tag}-"))
    print("command: " + " ".join(["python", *sys.argv]))
    print(f"machine: {machine_line()}; cores busy before the run (other processes): {100 * background_busy():.0f}%")
    ok, code = False, 0
    try:
        asyncio.run(bench(args, tag, workdir))
        ok = True
    except KeyboardInterrupt:
        print("interrupted: workers stopped", file=sys.stderr)
        code = 130
    finally:
        PROCS.stop()
        if not args.keep_topics:
            with suppress(Exception):
                n = asyncio.run(asyncio.wait_for(delete_tagged_topics(args.bootstrap, tag), 60))
                print(f"deleted {n} topics of {tag}")
        if ok and not args.keep_files:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"files kept in {workdir}", file=sys.stderr)
    sys.exit(code)


if __name__ == "__main__":
    main()
