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
import math
import os
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from benchkit import (
    PROCS,
    background_busy,
    broker_pid,
    cpu_seconds,
    fmt,
    machine_line,
    percentile,
    summarize_profile,
)
from kafkakit import (
    EngineResult,
    PassResult,
    Phase,
    engine_on_produced,
    expected_decisions,
    passthrough,
    read_topic,
    run_phases,
    start_run,
    wait_caught_up,
    wait_decided,
)

from stream.demo.generator import write_scenario
from stream.kafka.produce import route
from stream.kafka.topics import BROADCAST_INPUTS, LEDGER_INPUTS, SEQ_HEADER

REFERENCE = tuple(kind for kind in LEDGER_INPUTS if kind not in ("payment", "settlement"))


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

    tag, workdir = start_run("bench")
    print("command: " + " ".join(["python", *sys.argv]))
    print(f"machine: {machine_line()}; cores busy before the run (other processes): {100 * background_busy():.0f}%")
    ok, code = run_phases(bench(args, tag, workdir), args.bootstrap, tag, args.keep_topics)
    if ok and not args.keep_files:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"files kept in {workdir}", file=sys.stderr)
    sys.exit(code)


if __name__ == "__main__":
    main()
