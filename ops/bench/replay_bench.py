"""Replay throughput against the floor of reading, orjson-parsing and re-serialising the same lines.

Usage: python ops/bench/replay_bench.py [--payments 30000] [--seed 7] [--repeat 3] [--breakdown] [--profile]
Both are measured in this one process, on the same file, best of `--repeat` runs each.
"""

import argparse
import asyncio
import cProfile
import io
import pstats
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import orjson

from models.codec import decode_line
from models.errors import InvalidInput
from stream.demo.generator import write_scenario
from stream.embedded import read_lines, replay_file
from stream.engine import Engine
from stream.gctune import tune_for_engine
from stream.settings import Settings
from stream.sinks import FileSink


def floor_once(path: Path, out_dir: Path) -> float:
    """Read every line, orjson-parse it, re-serialise it, write it: the least any replay does."""
    started = time.perf_counter()
    with path.open("rb") as src, (out_dir / "floor.jsonl").open("wb", buffering=1 << 20) as dst:
        for line in src:
            try:
                dst.write(orjson.dumps(orjson.loads(line)) + b"\n")
            except orjson.JSONDecodeError:
                dst.write(line)
    return time.perf_counter() - started


def replay_once(path: Path, out_dir: Path, settings: Settings) -> tuple[float, int]:
    engine = Engine(settings.load_rules())
    started = time.perf_counter()
    stats = asyncio.run(replay_file(path, engine, FileSink(out_dir / "replay"), batch_lines=settings.batch_lines))
    return time.perf_counter() - started, stats.lines


def breakdown(path: Path, settings: Settings) -> None:
    """Decode and core time per input type, measured inside one in-order pass (no profiler)."""
    engine = Engine(settings.load_rules())
    decode_s: dict[str, float] = defaultdict(float)
    core_s: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    clock = time.perf_counter
    with path.open("rb") as handle:
        for number, line in read_lines(handle, settings.max_line_bytes):
            assert isinstance(line, bytes)
            started = clock()
            try:
                event = decode_line(line)
            except InvalidInput:
                continue
            decoded = clock()
            engine.handle(event, line, "bench", number)
            kind = type(event).__name__
            decode_s[kind] += decoded - started
            core_s[kind] += clock() - decoded
            counts[kind] += 1
    print(f"{'type':16s} {'count':>8s} {'decode us':>10s} {'core us':>8s} {'decode s':>9s} {'core s':>7s}")
    for kind in sorted(counts, key=lambda k: -(decode_s[k] + core_s[k])):
        n = counts[kind]
        print(f"{kind:16s} {n:8,d} {decode_s[kind] / n * 1e6:10.1f} {core_s[kind] / n * 1e6:8.1f} "
              f"{decode_s[kind]:9.3f} {core_s[kind]:7.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--breakdown", action="store_true", help="decode and core time per input type")
    parser.add_argument("--profile", action="store_true", help="print the top functions of one replay")
    parser.add_argument("--default-gc", action="store_true", help="keep CPython's GC thresholds (the CLI tunes them)")
    args = parser.parse_args()
    if not args.default_gc:
        tune_for_engine()  # as `treasury replay` does
    settings = Settings()
    with tempfile.TemporaryDirectory(prefix="treasury-bench-") as tmp:
        work = Path(tmp)
        path = work / "scenario.jsonl"
        lines = write_scenario(path, seed=args.seed, payments=args.payments)
        size_mb = path.stat().st_size / 1e6
        print(f"input: {lines:,} lines ({args.payments:,} payments), {size_mb:.1f} MB")
        floor_s = min(floor_once(path, work) for _ in range(args.repeat))
        runs = [replay_once(path, work, settings) for _ in range(args.repeat)]
        replay_s = min(seconds for seconds, _ in runs)
        events = runs[0][1]
        print(f"floor  (read + orjson loads + dumps): {floor_s:6.3f} s  {lines / floor_s:>10,.0f} lines/s")
        print(f"replay (treasury replay, in process): {replay_s:6.3f} s  {events / replay_s:>10,.0f} events/s")
        print(f"replay / floor: {replay_s / floor_s:.2f}x")
        if args.breakdown:
            breakdown(path, settings)
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            replay_once(path, work, settings)
            profiler.disable()
            report = io.StringIO()
            pstats.Stats(profiler, stream=report).sort_stats("tottime").print_stats(18)
            print(report.getvalue())


if __name__ == "__main__":
    main()
