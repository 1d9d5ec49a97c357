"""The live embedded runtime beside a plain replay of the same file, and operator-action latency.

    python ops/bench/live_bench.py FILE [--subscribers 10] [--commands 200]

Side by side in one process: (1) the replay path (engine + memory sink, batches of 2000), the
baseline; (2) the live runtime (engine + memory store + chain rows of what changed + AlertHub
with N draining SSE subscribers); (3) the round trip of operator commands (acknowledge of an
unknown alert: the full queue -> engine -> write -> answer path, no state change) sent while the
file streams in; (4) the cost of offering alert states to a webhook sink whose receiver never
answers (the stream must never wait on it).
"""

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from alerts.delivery import DeliveryLimits
from alerts.webhook import WebhookSink
from models.outputs import Alert
from stream.api.hub import AlertHub
from stream.embedded import replay_file
from stream.engine import Engine
from stream.gctune import tune_for_engine
from stream.live import LiveOperator, LiveRuntime
from stream.settings import Settings
from stream.sinks import MemorySink
from stream.store.memory import MemoryStore

BATCH = 2000


async def baseline(path: Path) -> float:
    started = time.perf_counter()
    await replay_file(path, Engine(Settings().load_rules()), MemorySink(), batch_lines=BATCH)
    return time.perf_counter() - started


async def live(lines: list[bytes], subscribers: int, commands: int) -> tuple[float, list[float], int]:
    store, hub = MemoryStore(), AlertHub(queue_size=100_000)
    runtime = LiveRuntime(Engine(Settings().load_rules()), store, hub, store=store)
    received = [0]

    async def drain() -> None:
        subscription = hub.subscribe()
        while await subscription.queue.get() is not None:
            received[0] += 1

    drains = [asyncio.create_task(drain()) for _ in range(subscribers)]
    task = asyncio.create_task(runtime.run())
    operator, latencies = LiveOperator(runtime, 30.0), []

    async def operate() -> None:
        for _ in range(commands):
            started = time.perf_counter()
            await operator.acknowledge("F004-0000000000000000", "bench")
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.005)

    started = time.perf_counter()
    acting = asyncio.create_task(operate())
    for start in range(0, len(lines), BATCH):
        await runtime.push(lines[start:start + BATCH])
    runtime.finish()
    await task
    elapsed = time.perf_counter() - started
    acting.cancel()
    hub.close()
    await asyncio.gather(*drains, return_exceptions=True)
    return elapsed, latencies, received[0]


async def offer_cost(alert: Alert, count: int) -> tuple[float, int]:
    sink = WebhookSink("http://10.255.255.1:9/hook", b"s", DeliveryLimits(timeout_s=30, queue_size=1000))
    await sink.start()
    started = time.perf_counter()
    for _ in range(count):
        sink.offer(alert)
    elapsed = time.perf_counter() - started
    dropped = sink.dropped
    await sink.close(drain_s=0.01)
    return elapsed / count, dropped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--subscribers", type=int, default=10)
    parser.add_argument("--commands", type=int, default=200)
    args = parser.parse_args()
    tune_for_engine()
    lines = [line for line in args.file.read_bytes().splitlines() if line.strip()]
    base = asyncio.run(baseline(args.file))
    elapsed, latencies, received = asyncio.run(live(lines, args.subscribers, args.commands))
    engine = Engine(Settings().load_rules())
    alert = next(o for n, raw in enumerate(lines, 1) for o in engine.handle_line(raw, "b", n) if isinstance(o, Alert))
    per_offer, dropped = asyncio.run(offer_cost(alert, 100_000))
    n = len(lines)
    print(f"lines                      {n:,}")
    print(f"replay (baseline)          {base:6.2f} s  {n / base:9,.0f} lines/s")
    print(f"live + {args.subscribers:>2} SSE subscribers  {elapsed:6.2f} s  {n / elapsed:9,.0f} lines/s  "
          f"({elapsed / base:.2f}x the replay; {received:,} alert events delivered)")
    if latencies:
        ordered = sorted(latencies)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        print(f"operator round trip        p50 {statistics.median(ordered) * 1e3:6.1f} ms  p99 {p99 * 1e3:6.1f} ms  "
              f"max {ordered[-1] * 1e3:6.1f} ms  ({len(ordered)} commands while streaming)")
    print(f"webhook offer, stuck peer  {per_offer * 1e6:6.2f} us per alert state ({dropped:,} of 100,000 dropped)")


if __name__ == "__main__":
    main()
