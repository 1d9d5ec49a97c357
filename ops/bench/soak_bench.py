"""Sustained load over Kafka: the generator's whole mix at a fixed rate for minutes; latency, lag, RSS, floor.

Usage: TREASURY_KAFKA_DATA=/tmp/load-kafka python ops/bench/soak_bench.py --bootstrap 127.0.0.1:39092
           [--workers 1] [--rate 1000] [--seconds 600] [--partitions 4] [--seed 7] [--payments N]
           [--sample 5] [--capacity-lines 40000] [--pass-repeat 3] [--drain 120]
           [--profile-at 120 --profile-seconds 60] [--create-changelogs] [--out DIR] [--keep-topics]

Runs against a live broker (`bash ops/kafka/broker.sh start`; TREASURY_KAFKA_DATA names its data
directory so the broker's CPU and RSS are counted). Topics, groups, workers and their shutdown are
kafka_bench.py's (benchkit.py, kafkakit.py): one random tag per run, every topic of it deleted at
the end. Workers run without DATABASE_URL (no Postgres on the path).

The input is `treasury generate --payments N --seed S` (N sized so the file outlasts 10 minutes,
or --seconds if longer, at --rate, unless given): payments, settlements, treasury flows and
balance statements, reference data and clock events in the generator's proportions and
event-time order. An *input* is one line of it
(a broadcast line, written to every partition, counts once). The workers read six of its topics;
treasury flows and balance statements are sent (the broker carries them) but no worker reads them
yet: the forecaster does not run on Kafka (ARCHITECTURE.md, "Kafka runtime").

Phases, in this order, in one run:
  floor     the first --capacity-lines lines produced with `treasury produce`; the aiokafka
            consumer→producer passthrough copies the workers' six input topics (median of
            --pass-repeat runs, before any worker runs): the Python + Kafka floor.
  capacity  --workers workers started on those same pre-produced topics: decisions/s and input
            messages/s at saturation (kafka_bench's engine-N); its ratio to the floor.
  soak      a fresh set of topics; the lines before the first payment (reference data) sent at
            once, then one worker started and, once it caught up, the others; then every later line
            sent at --rate lines/s for --seconds. Every --sample seconds: each worker's RSS
            (VmRSS), the group's lag (committed vs end offsets of every topic it reads), decisions
            so far, a progress line. Decision latency = the decision's broker append time − the
            payment's send time (taken just before `producer.send`), for each payment's first
            decision. After the last send, up to --drain seconds for the backlog to clear.
  profile   (--profile-at S) `py-spy record` of the first worker from S seconds into the soak for
            --profile-seconds, summarised at the end (the soak goes on meanwhile).

Writes result.json, samples.csv, latency-by-minute.csv and summary.md to --out (default: a new
temporary directory) and prints the summary.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from benchkit import (
    PROCS,
    background_busy,
    broker_pid,
    cpu_seconds,
    fmt,
    machine_line,
    percentile,
    rss_kib,
    summarize_profile,
)
from kafkakit import (
    EngineResult,
    Offsets,
    PassResult,
    Phase,
    engine_on_produced,
    expected_decisions,
    group_lag_by_partition,
    passthrough,
    run_phases,
    start_run,
    wait_caught_up,
)

from stream.demo.generator import write_scenario
from stream.kafka.produce import route
from stream.kafka.topics import BROADCAST_INPUTS, LEDGER_INPUTS, SEQ_HEADER

# Lines of the generated file that do not grow with payments (the year's flows, statements,
# reference data and clocks for the demo region): about 56,000; each payment adds ~2 lines.
_FIXED_LINES = 56_000


@dataclass
class Line:
    kind: str
    key: bytes
    value: bytes
    seq: int
    payment_id: str | None


def load_lines(path: Path) -> tuple[list[Line], int]:
    """Every routable line in file order (kind, key, value, line number), and how many were not."""
    lines: list[Line] = []
    skipped = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            routed = route(raw.rstrip(b"\n"))
            if isinstance(routed, str):
                skipped += 1  # `treasury produce` sends these to the dead-letter topic; no worker reads it
                continue
            kind, key, value = routed
            payment_id = None
            if kind == "payment":
                found = orjson.loads(value).get("payment_id")
                payment_id = found if isinstance(found, str) else None
            lines.append(Line(kind, key, value, number, payment_id))
    return lines, skipped


# --- the soak ---------------------------------------------------------------------------------

@dataclass
class Sample:
    t_s: float  # since the first timed send
    sent: int  # inputs (lines) sent so far in the timed part
    decided: int  # distinct payments decided so far
    lag: int  # messages the group has not committed, all topics it reads
    worker_rss_mib: list[float]
    broker_rss_mib: float
    worker_cpu_s: float  # cumulative since the first timed send
    load1: float


@dataclass
class SoakResult:
    workers: int
    rate: int
    seconds: float
    warmup_lines: int
    caught_up_s: float
    sent: int = 0
    sent_by_kind: Counter[str] = field(default_factory=Counter)
    send_span_s: float = 0.0
    payments_sent: int = 0
    payments_decided: int = 0
    decided_in_send_window: int = 0
    drained_s: float = math.nan
    latencies_ms: list[float] = field(default_factory=list)  # sorted
    by_minute: list[dict[str, float]] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    worker_cpu_s: float = 0.0
    broker_cpu_s: float = math.nan
    driver_cpu_s: float = 0.0
    profile: str | None = None


class Decisions:
    """Reads the decision topic as it grows: each payment's first decision and its latency."""

    def __init__(self, bootstrap: str, topic: str, sent_at: dict[str, float]) -> None:
        self.bootstrap, self.topic, self.sent_at = bootstrap, topic, sent_at
        self.first: dict[str, int] = {}  # payment_id → append time of its first decision (ms)
        self.pairs: list[tuple[float, float]] = []  # (send time s, latency ms), in arrival order

    async def run(self, stop: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False,
                                    max_partition_fetch_bytes=4 << 20, fetch_max_bytes=16 << 20)
        await consumer.start()
        try:
            async with Offsets(self.bootstrap) as offsets:
                partitions = await offsets.partitions(self.topic)
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=200, max_records=20_000)
                for records in batch.values():
                    for r in records:
                        if r.timestamp_type != 1:
                            raise RuntimeError(f"{self.topic} is not stamped with LogAppendTime")
                        payment_id = (r.key or b"").decode()
                        if payment_id in self.first:
                            continue
                        self.first[payment_id] = r.timestamp
                        sent = self.sent_at.get(payment_id)
                        if sent is not None:
                            self.pairs.append((sent, r.timestamp - sent * 1000))
        finally:
            await consumer.stop()


async def soak(phase: Phase, lines: list[Line], args: argparse.Namespace, workdir: Path) -> SoakResult:
    await phase.create_topics(stamped=("decision",))
    procs: list[subprocess.Popen[bytes]] = []
    broker = broker_pid()
    first_payment = next((i for i, line in enumerate(lines) if line.kind == "payment"), len(lines))
    producer = AIOKafkaProducer(bootstrap_servers=phase.bootstrap, acks="all", linger_ms=0,
                                max_batch_size=256 * 1024)
    sent_at: dict[str, float] = {}
    decisions = Decisions(phase.bootstrap, phase.topics.name("decision"), sent_at)
    stop_reading = asyncio.Event()
    reader: asyncio.Task[None] | None = None
    errors: list[BaseException] = []
    spy: list[subprocess.Popen[bytes]] = []
    partitions: dict[str, list[int]] = {}

    def check(fut: asyncio.Future[Any]) -> None:
        if not fut.cancelled() and fut.exception() is not None:
            errors.append(fut.exception())  # type: ignore[arg-type]

    async def send(line: Line) -> None:
        topic = phase.topics.name(line.kind)
        headers = [(SEQ_HEADER, str(line.seq).encode())]
        if line.kind in BROADCAST_INPUTS:  # to every partition, as `treasury produce` does
            if topic not in partitions:
                partitions[topic] = sorted(await producer.partitions_for(topic))
            for p in partitions[topic]:
                (await producer.send(topic, value=line.value, key=line.key, partition=p,
                                     headers=headers)).add_done_callback(check)
        else:
            (await producer.send(topic, value=line.value, key=line.key, headers=headers)).add_done_callback(check)

    await producer.start()
    try:
        # 1. the reference data at the top of the file, at once, then the workers, which catch up on
        # it. In this order: two workers started on empty topics with data sent right after
        # sometimes leave one idle for minutes (BENCHMARKS.md, "Kafka runtime": a liveness problem).
        for line in lines[:first_payment]:
            await send(line)
        await producer.flush()
        if args.create_changelogs:
            created = await phase.create_changelogs()
            print(f"  soak: {len(created)} changelog topics created before the workers", flush=True)
        # One worker first, the others once it has caught up (a scale-out): two workers started
        # together have left one input partition uncommitted for minutes in this driver's runs.
        started = time.monotonic()
        procs += phase.start_workers(1)
        await wait_caught_up(phase, procs, args.catchup_timeout)
        if args.workers > 1:
            procs += phase.start_workers(args.workers - 1, first=1)
            await wait_caught_up(phase, procs, args.catchup_timeout)
        caught_up = time.monotonic() - started
        pids = [p.pid for p in procs]
        result = SoakResult(args.workers, args.rate, args.seconds, first_payment, caught_up)
        print(f"  soak: {args.workers} worker(s) caught up on {first_payment:,} reference lines {caught_up:.1f} s "
              "after they were started")
        reader = asyncio.create_task(decisions.run(stop_reading))

        # 2. the rest at the offered rate, sampled as it goes
        todo = lines[first_payment:first_payment + int(args.rate * args.seconds)]
        admin = AIOKafkaAdminClient(bootstrap_servers=phase.bootstrap, request_timeout_ms=30_000)
        await admin.start()
        offsets = Offsets(phase.bootstrap)
        await offsets.__aenter__()
        cpu0, broker0, driver0 = cpu_seconds(pids), cpu_seconds([broker] if broker else []), time.process_time()
        t0 = time.time()
        next_sample = 0.0
        last: Sample | None = None
        seen = 0  # decisions.pairs already summarised in a progress line

        async def sample(t: float) -> Sample:
            nonlocal last, seen
            for w in procs:
                if w.poll() is not None:
                    raise RuntimeError(f"worker {w.pid} exited with {w.returncode} (logs in {workdir})")
            lag = sum((await group_lag_by_partition(phase, offsets, admin)).values())
            rss = [(rss_kib(pid) or 0) / 1024 for pid in pids]
            s = Sample(round(t, 1), result.sent, len(decisions.first), lag, [round(r, 1) for r in rss],
                       round((rss_kib(broker) or 0) / 1024, 1) if broker else math.nan,
                       round(cpu_seconds(pids) - cpu0, 1), os.getloadavg()[0])
            result.samples.append(s)
            prev = last or Sample(0, 0, 0, 0, [], 0, 0, 0)
            dt = max(1e-9, s.t_s - prev.t_s)
            recent = sorted(lat for _, lat in decisions.pairs[seen:])  # decided since the last line
            seen = len(decisions.pairs)
            print(f"  t={s.t_s:6.0f}s sent {s.sent:9,d} ({(s.sent - prev.sent) / dt:6,.0f}/s) decided "
                  f"{s.decided:8,d} ({(s.decided - prev.decided) / dt:5,.0f}/s) lag {s.lag:7,d} "
                  f"latency p50 {fmt(percentile(recent, 0.5))} p99 {fmt(percentile(recent, 0.99))} ms "
                  f"RSS {'/'.join(f'{r:.0f}' for r in s.worker_rss_mib)} MiB CPU {s.worker_cpu_s:.0f} s "
                  f"load {s.load1:.2f}", flush=True)
            last = s
            return s

        def maybe_profile(t: float) -> None:
            if args.profile_at is not None and not spy and t >= args.profile_at:
                py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
                spy.append(PROCS.start([py_spy, "record", "--pid", str(pids[0]), "--rate", "100", "--nonblocking",
                                        "--duration", str(args.profile_seconds), "--format", "raw",
                                        "--output", str(workdir / "py-spy-soak.txt")], dict(os.environ),
                                       workdir / "py-spy.log"))
                print(f"  py-spy on worker {pids[0]} for {args.profile_seconds} s", flush=True)

        try:
            i = 0
            while i < len(todo):
                now = time.time()
                if now - t0 >= next_sample:
                    await sample(now - t0)
                    maybe_profile(now - t0)
                    next_sample += args.sample
                due = min(len(todo), int((time.time() - t0) * args.rate) + 1)
                while i < due:
                    line = todo[i]
                    if line.payment_id is not None:
                        sent_at.setdefault(line.payment_id, time.time())
                    await send(line)
                    result.sent_by_kind[line.kind] += 1
                    result.sent += 1
                    i += 1
                if errors:
                    raise RuntimeError(f"{len(errors)} inputs not acknowledged: {errors[0]!r}")
                await asyncio.sleep(0.001)
            await producer.flush()
            result.send_span_s = time.time() - t0
            result.decided_in_send_window = len(decisions.first)

            # 3. the backlog, bounded: a rate the engine cannot sustain is reported, not waited out
            end_of_send = time.time()
            while time.time() - end_of_send < args.drain:
                s = await sample(time.time() - t0)
                if s.lag == 0 and all(p in decisions.first for p in sent_at):
                    result.drained_s = time.time() - end_of_send
                    break
                await asyncio.sleep(min(args.sample, 2.0))
            result.worker_cpu_s = cpu_seconds(pids) - cpu0
            result.broker_cpu_s = cpu_seconds([broker]) - broker0 if broker else math.nan
            result.driver_cpu_s = time.process_time() - driver0
        finally:
            await offsets.__aexit__(None, None, None)
            await admin.close()
    finally:
        stop_reading.set()
        if reader is not None:
            with suppress(Exception):
                await asyncio.wait_for(reader, 30)
        with suppress(Exception):  # bounded: a failed phase must still stop its workers
            await asyncio.wait_for(producer.stop(), 30)
        PROCS.stop(spy, signal.SIGINT, grace_s=30)
        PROCS.stop(procs)

    result.payments_sent = len(sent_at)
    result.payments_decided = sum(1 for p in sent_at if p in decisions.first)
    result.latencies_ms = sorted(lat for _, lat in decisions.pairs)
    for minute in range(math.ceil(result.send_span_s / 60 - 0.02)):  # 60.3 s of sending is one minute
        lo, hi = t0 + 60 * minute, t0 + 60 * (minute + 1)
        chunk = sorted(lat for at, lat in decisions.pairs if lo <= at < hi)
        result.by_minute.append({"minute": minute, "decided": len(chunk), "p50_ms": percentile(chunk, 0.5),
                                 "p99_ms": percentile(chunk, 0.99), "p999_ms": percentile(chunk, 0.999),
                                 "max_ms": chunk[-1] if chunk else math.nan})
    if spy:
        result.profile = summarize_profile(workdir / "py-spy-soak.txt")
    return result


# --- report -----------------------------------------------------------------------------------

def rss_trend(samples: list[Sample], span_s: float) -> list[dict[str, float]]:
    """Per worker: mean RSS over the first and over the last minute of sending, max, and the slope
    (least squares, after the first minute) in MiB per hour: a leak shows as a steady slope."""
    timed = [s for s in samples if s.t_s <= span_s and s.worker_rss_mib]
    out = []
    for w in range(len(timed[0].worker_rss_mib) if timed else 0):
        first = [s.worker_rss_mib[w] for s in timed if s.t_s < 60]
        lastm = [s.worker_rss_mib[w] for s in timed if s.t_s >= span_s - 60]
        xs = [(s.t_s, s.worker_rss_mib[w]) for s in timed if s.t_s >= 60]
        slope = math.nan
        if len(xs) >= 3:
            mx, my = sum(x for x, _ in xs) / len(xs), sum(y for _, y in xs) / len(xs)
            var = sum((x - mx) ** 2 for x, _ in xs)
            slope = 3600 * sum((x - mx) * (y - my) for x, y in xs) / var if var else math.nan
        out.append({"worker": w, "first_min_mib": sum(first) / len(first) if first else math.nan,
                    "last_min_mib": sum(lastm) / len(lastm) if lastm else math.nan,
                    "max_mib": max(s.worker_rss_mib[w] for s in timed), "slope_mib_per_h": slope})
    return out


def summary(args: argparse.Namespace, machine: str, floor: PassResult | None, capacity: EngineResult | None,
            cap_inputs: int, res: SoakResult | None, load_start: str, load_end: str) -> str:
    out = [f"### soak: {args.workers} worker(s), {args.rate:,} inputs/s offered for {args.seconds:,} s, "
           f"{args.partitions} partitions", "", f"- command: `{' '.join(['python', *sys.argv])}`",
           f"- machine: {machine}", f"- load average at start {load_start}, at end {load_end}", ""]
    out += ["| measure | value |", "|---|---|"]
    if floor:
        out.append(f"| passthrough floor (aiokafka consume→produce, 1 process) | {floor.out.rate:,.0f} msgs/s |")
    if capacity:
        r = capacity.decisions
        msgs = cap_inputs / r.span_s if r.span_s else math.nan
        out.append(f"| capacity, {capacity.workers} worker(s), pre-produced {args.capacity_lines:,} lines | "
                   f"{fmt(r.rate)} decisions/s, {fmt(msgs)} input msgs/s "
                   f"({capacity.unique_payments:,} payments of {capacity.expected:,}) |")
        if floor:
            out.append(f"| capacity ÷ passthrough (input msgs/s) | **{msgs / floor.out.rate:.3f}** |")
        cpu = capacity.window.worker_cpu_s
        out.append(f"| capacity: decisions per worker CPU-second | {fmt(r.count / cpu if cpu else math.nan)} "
                   f"(worker CPU {cpu:.1f} s, others on the machine {fmt(capacity.window.others_cpu_s, 1)} s) |")
    if res:
        lat = res.latencies_ms
        span = res.send_span_s
        out.append(f"| soak: inputs sent | {res.sent:,} in {span:.0f} s = {res.sent / span:,.0f}/s ("
                   + ", ".join(f"{k} {v:,}" for k, v in res.sent_by_kind.most_common()) + ") |")
        out.append(f"| soak: payments decided | {res.payments_decided:,} of {res.payments_sent:,} "
                   f"({res.decided_in_send_window / span:,.0f}/s during the send; backlog cleared "
                   f"{fmt(res.drained_s, 1)} s after the last send"
                   + ("" if not math.isnan(res.drained_s) else f": NOT within {args.drain} s") + ") |")
        out.append(f"| soak: decision latency p50 / p99 / p999 / max | {fmt(percentile(lat, 0.5), 1)} / "
                   f"{fmt(percentile(lat, 0.99), 1)} / {fmt(percentile(lat, 0.999), 1)} / "
                   f"{fmt(lat[-1] if lat else math.nan, 1)} ms |")
        timed = [s for s in res.samples if s.t_s <= span]
        lags = [s.lag for s in timed]
        if lags:
            out.append(f"| soak: consumer lag (messages, every {args.sample:g} s) mean / max / at last send | "
                       f"{sum(lags) / len(lags):,.0f} / {max(lags):,} / {lags[-1]:,} |")
        for w in rss_trend(res.samples, span):
            out.append(f"| soak: worker {w['worker']} RSS first minute → last minute (max) | "
                       f"{w['first_min_mib']:.0f} → {w['last_min_mib']:.0f} MiB ({w['max_mib']:.0f}); "
                       f"slope after the first minute {fmt(w['slope_mib_per_h'], 1)} MiB/h |")
        brokers = [s.broker_rss_mib for s in timed if not math.isnan(s.broker_rss_mib)]
        if brokers:
            out.append(f"| soak: broker RSS first → last sample | {brokers[0]:.0f} → {brokers[-1]:.0f} MiB |")
        decided = max(1, res.payments_decided)
        out.append(f"| soak: CPU s workers / broker / this driver | {res.worker_cpu_s:.0f} / "
                   f"{fmt(res.broker_cpu_s)} / {res.driver_cpu_s:.0f} (workers "
                   f"{1000 * res.worker_cpu_s / decided:.2f} CPU-ms per payment decided) |")
        out += ["", "| minute (by send time) | decided | p50 ms | p99 ms | p999 ms | max ms |",
                "|---|---|---|---|---|---|"]
        out += [f"| {int(m['minute'])} | {int(m['decided']):,} | {fmt(m['p50_ms'], 1)} | {fmt(m['p99_ms'], 1)} | "
                f"{fmt(m['p999_ms'], 1)} | {fmt(m['max_ms'], 1)} |" for m in res.by_minute]
    return "\n".join(out)


def write_files(out: Path, args: argparse.Namespace, text: str, floor: PassResult | None,
                capacity: EngineResult | None, res: SoakResult | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.md").write_text(text + "\n")
    # asdict rebuilds a Counter from its (key, count) pairs, counting the pairs: plain dicts first
    doc: dict[str, Any] = {"args": vars(args), "floor": asdict(floor) if floor else None,
                           "capacity": asdict(capacity) | {"written": dict(capacity.written)} if capacity else None}
    if res:
        soak_doc = asdict(res) | {"sent_by_kind": dict(res.sent_by_kind)}
        lat = res.latencies_ms
        soak_doc["latencies_ms"] = {"count": len(lat), "p50": percentile(lat, 0.5), "p99": percentile(lat, 0.99),
                                    "p999": percentile(lat, 0.999), "max": lat[-1] if lat else None}
        soak_doc["rss_trend"] = rss_trend(res.samples, res.send_span_s)
        doc["soak"] = soak_doc
        with (out / "samples.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            workers = len(res.samples[0].worker_rss_mib) if res.samples else 0
            writer.writerow(["t_s", "sent", "decided", "lag", *(f"worker{w}_rss_mib" for w in range(workers)),
                             "broker_rss_mib", "worker_cpu_s", "load1"])
            for s in res.samples:
                writer.writerow([s.t_s, s.sent, s.decided, s.lag, *s.worker_rss_mib, s.broker_rss_mib,
                                 s.worker_cpu_s, s.load1])
        with (out / "latency-by-minute.csv").open("w", newline="") as handle:
            by_minute = csv.DictWriter(handle, fieldnames=["minute", "decided", "p50_ms", "p99_ms", "p999_ms",
                                                           "max_ms"])
            by_minute.writeheader()
            by_minute.writerows(res.by_minute)
    (out / "result.json").write_text(json.dumps(doc, indent=1, default=str, allow_nan=True))


async def run(args: argparse.Namespace, tag: str, workdir: Path, machine: str, load_start: str) -> None:
    path = workdir / "scenario.jsonl"
    # Sized for a 10-minute run at this rate even when shorter: the lines are in event-time order
    # through one year, so every run at one rate sends a prefix of the same file, in the same mix.
    payments = args.payments or max(2000, (args.rate * max(600, args.seconds) - _FIXED_LINES) // 2 + 2000)
    started = time.monotonic()
    written = write_scenario(path, seed=args.seed, payments=payments)
    lines, skipped = load_lines(path)
    by_kind = Counter(line.kind for line in lines)
    print(f"scenario: --payments {payments:,} --seed {args.seed}: {written:,} lines ({skipped} unroutable, not sent): "
          + ", ".join(f"{k} {v:,}" for k, v in by_kind.most_common()) + f"; {time.monotonic() - started:.0f} s",
          flush=True)

    floor: PassResult | None = None
    capacity: EngineResult | None = None
    cap_inputs = 0
    if args.capacity_lines:
        prefix = workdir / "capacity.jsonl"
        with path.open("rb") as src, prefix.open("wb") as dst:
            for n, raw in enumerate(src):
                if n >= args.capacity_lines:
                    break
                dst.write(raw)
        cap_lines, _ = load_lines(prefix)
        cap_inputs = sum(args.partitions if x.kind in BROADCAST_INPUTS else 1
                         for x in cap_lines if x.kind in LEDGER_INPUTS)
        phase = Phase(args.bootstrap, tag, "cap", args.partitions, workdir)
        copies = tuple(f"passthrough{i or ''}" for i in range(args.pass_repeat))
        await phase.create_topics(stamped=("decision", *copies))
        produce_s = phase.produce(prefix, args.timeout)
        print(f"  floor/capacity: {args.capacity_lines:,} lines produced in {produce_s:.1f} s "
              f"({cap_inputs:,} messages on the workers' topics)", flush=True)
        if args.pass_repeat:
            runs = [await passthrough(phase, args.timeout, kind) for kind in copies]
            floor = sorted(runs, key=lambda r: r.out.rate)[len(runs) // 2]
            print("  passthrough: " + ", ".join(f"{r.out.rate:,.0f}/s" for r in runs), flush=True)
        expected = expected_decisions(prefix)
        capacity = await engine_on_produced(phase, args.workers, expected, args, produce_s)
        print(f"  capacity: {capacity.decisions.count:,} decisions at {capacity.decisions.rate:,.0f}/s", flush=True)

    res = None
    if args.seconds:
        res = await soak(Phase(args.bootstrap, tag, "soak", args.partitions, workdir), lines, args, workdir)
    load_end = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    text = summary(args, machine, floor, capacity, cap_inputs, res, load_start, load_end)
    write_files(args.out or workdir, args, text, floor, capacity, res)
    print()
    print(text)
    if res and res.profile:
        print()
        print(f"py-spy of worker 0 during the soak ({args.profile_seconds} s from t={args.profile_at} s, 100 Hz):")
        print(res.profile)
        (args.out or workdir).joinpath("profile.txt").write_text(res.profile + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092"))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rate", type=int, default=1000, help="inputs (lines of the file) offered per second")
    parser.add_argument("--seconds", type=int, default=600, help="length of the timed send (0: no soak)")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--payments", type=int, default=0, help="payments in the scenario (default: enough lines)")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between samples and progress lines")
    parser.add_argument("--capacity-lines", type=int, default=40_000,
                        help="lines of the file for the floor and capacity phases (0: neither)")
    parser.add_argument("--pass-repeat", type=int, default=3, help="passthrough runs (median kept; 0: none)")
    parser.add_argument("--drain", type=float, default=120.0, help="seconds to wait for the backlog after sending")
    parser.add_argument("--catchup-timeout", type=float, default=180.0,
                        help="bound on the workers' start + catching up on the reference data")
    parser.add_argument("--stall", type=float, default=20.0, help="capacity: stop after this long without a decision")
    parser.add_argument("--timeout", type=float, default=900.0, help="bound of the capacity phase's waits")
    parser.add_argument("--profile-at", type=float, default=None, help="start py-spy this many seconds into the soak")
    parser.add_argument("--profile-seconds", type=int, default=60)
    parser.add_argument("--create-changelogs", action="store_true",
                        help="create the workers' changelog topics before they start (no rebalance at 300 s)")
    parser.add_argument("--out", type=Path, default=None, help="where the result files go (default: the work dir)")
    parser.add_argument("--keep-topics", action="store_true")
    args = parser.parse_args()

    tag, workdir = start_run("soak")
    machine = machine_line()
    load_start = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print("command: " + " ".join(["python", *sys.argv]))
    print(f"machine: {machine}; cores busy before the run (other processes): {100 * background_busy():.0f}%")
    print(f"tag {tag}; logs and files in {workdir}", flush=True)
    _, code = run_phases(run(args, tag, workdir, machine, load_start), args.bootstrap, tag, args.keep_topics)
    (workdir / "scenario.jsonl").unlink(missing_ok=True)  # large; the seed and size remake it
    sys.exit(code)


if __name__ == "__main__":
    main()
