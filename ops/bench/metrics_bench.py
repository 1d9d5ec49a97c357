"""CPU cost of the engine metrics per event: Engine.handle alone vs timed and observed (stream/metrics.py).

    python ops/bench/metrics_bench.py FILE [--repeat 3]

Both loops decode every line first (outside the timing), then hand the events to a fresh engine;
the observed loop adds what the Kafka worker and the demo add per event: two perf_counter calls,
EngineMetrics.observe (input counter, latency histogram) and .outputs. Best CPU time of the repeats.
"""

import argparse
import gc
import time
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from models.codec import decode_line
from models.errors import InvalidInput
from stream.engine import Engine
from stream.gctune import tune_for_engine
from stream.metrics import EngineMetrics
from stream.settings import Settings


def _events(path: Path) -> list[tuple[int, bytes, Any]]:
    out = []
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            out.append((number, line, decode_line(line)))
        except InvalidInput:
            continue
    return out


def _run(events: list[tuple[int, bytes, Any]], observed: bool) -> float:
    engine = Engine(Settings().load_rules())
    metrics = EngineMetrics(CollectorRegistry())
    started = time.process_time()
    if observed:
        for number, line, event in events:
            began = time.perf_counter()
            outputs = engine.handle(event, line, "bench", number)
            metrics.observe(event, (), time.perf_counter() - began)
            metrics.outputs(outputs)
    else:
        for number, line, event in events:
            engine.handle(event, line, "bench", number)
    return time.process_time() - started


def _metrics_alone(events: list[tuple[int, bytes, Any]], repeat: int) -> float:
    """CPU of the metrics calls only, on the outputs one engine run made: steady under machine load."""
    engine = Engine(Settings().load_rules())
    recorded = [(event, engine.handle(event, line, "bench", number)) for number, line, event in events]
    best = float("inf")
    for _ in range(repeat):
        metrics = EngineMetrics(CollectorRegistry())
        gc.collect()
        started = time.process_time()
        for event, outputs in recorded:
            began = time.perf_counter()
            metrics.observe(event, (), time.perf_counter() - began)
            metrics.outputs(outputs)
        best = min(best, time.process_time() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tune_for_engine()
    events = _events(args.file)
    best = {False: float("inf"), True: float("inf")}
    for round_ in range(args.repeat):
        # Interleaved, in alternating order, each after a full collection: both see the same load
        # and neither pays for the other's garbage.
        for observed in (False, True) if round_ % 2 == 0 else (True, False):
            gc.collect()
            best[observed] = min(best[observed], _run(events, observed))
    extra_us = (best[True] - best[False]) / len(events) * 1e6
    alone = _metrics_alone(events, args.repeat)
    print(f"metrics alone (observe + outputs over the recorded outputs): {alone / len(events) * 1e6:.2f} µs per event, "
          f"engine alone {best[False] / len(events) * 1e6:.1f} µs per event")
    print(f"{len(events):,} events: engine {best[False]:.2f} s CPU, engine + metrics {best[True]:.2f} s CPU, "
          f"+{extra_us:.1f} µs per event ({(best[True] / best[False] - 1) * 100:+.1f} %)")


if __name__ == "__main__":
    main()
