"""A/B of two source trees on the same inputs: byte-identical outputs, then CPU side by side.

    git archive main | tar -x -C /tmp/base          # the baseline tree (any commit)
    python ops/bench/ab_bench.py --base /tmp/base FILE... [--repeat 5] [--replay-repeat 3] [--backtest FILE...]

For each FILE, both trees run `treasury replay` (in a subprocess, PYTHONPATH = the tree) and
every output file must be byte-identical; with `--backtest`, `treasury backtest`'s report must be
identical too. Then `decide_bench.py` (decide + encode, CPU) runs base and new alternately
`--repeat` times, so a loaded machine slows both alike; medians and every run are printed.
With `--replay-repeat N`, whole `treasury replay` runs (CPU of the process, and wall-clock) are
alternated N times as well.
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
NEW = HERE.parents[2]
OUTPUTS = ("decisions.jsonl", "alerts.jsonl", "forecasts.jsonl", "chains.jsonl", "deadletters.jsonl")
_CLI = "import sys; from stream.cli import main; sys.argv[0] = 'treasury'; main()"


def _run(tree: Path, args: list[str]) -> tuple[str, float]:
    """Run a Python command against `tree`; its stdout and the child's CPU seconds."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, *args], env=env, cwd=tree, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return done.stdout, cpu


def identical_replay(base: Path, new: Path, file: Path, work: Path) -> tuple[float, float]:
    """Replay `file` on both trees; stop on any differing byte. The replays' CPU seconds."""
    cpu = []
    for name, tree in (("base", base), ("new", new)):
        _, seconds = _run(tree, ["-c", _CLI, "replay", "--quiet", "--out", str(work / name), str(file.resolve())])
        cpu.append(seconds)
    for output in OUTPUTS:
        a, b = (work / "base" / output).read_bytes(), (work / "new" / output).read_bytes()
        if a != b:
            raise SystemExit(f"DIFFERENT: {file.name} {output} ({len(a):,} vs {len(b):,} bytes)")
        lines = a.count(b"\n")
        print(f"  identical: {file.name} {output} ({len(a):,} bytes, {lines:,} lines)")
    return cpu[0], cpu[1]


def identical_backtest(base: Path, new: Path, file: Path) -> None:
    reports = [_run(tree, ["-c", _CLI, "backtest", str(file.resolve())])[0] for tree in (base, new)]
    if reports[0] != reports[1]:
        raise SystemExit(f"DIFFERENT backtest report: {file.name}\n--- base\n{reports[0]}\n--- new\n{reports[1]}")
    print(f"  identical: backtest of {file.name} ({len(reports[0].splitlines())} report lines)")


def replay_cpu(tree: Path, file: Path, out: Path) -> tuple[float, float]:
    started = time.perf_counter()
    _, cpu = _run(tree, ["-c", _CLI, "replay", "--quiet", "--out", str(out), str(file.resolve())])
    return cpu, time.perf_counter() - started


def decide_cpu(tree: Path, file: Path) -> float:
    out, _ = _run(tree, [str(HERE.parent / "decide_bench.py"), str(file.resolve()), "--repeat", "1"])
    return float(out.split(": ")[1].split(" s CPU")[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", type=Path, nargs="+", help="JSON-lines inputs (e.g. from `treasury generate`)")
    parser.add_argument("--base", type=Path, required=True, help="the baseline source tree")
    parser.add_argument("--new", type=Path, default=NEW, help="the tree under test (default: this one)")
    parser.add_argument("--repeat", type=int, default=5, help="decide_bench runs per tree, alternated (0: none)")
    parser.add_argument("--replay-repeat", type=int, default=0, help="whole replays per tree, alternated")
    parser.add_argument("--backtest", type=Path, nargs="*", default=[], help="files whose backtest must match")
    parser.add_argument("--no-timing", action="store_true", help="only check that the outputs are identical")
    parser.add_argument("--no-identity", action="store_true", help="only time (the check ran before)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="treasury-ab-") as tmp:
        for file in [] if args.no_identity else args.files:
            base_s, new_s = identical_replay(args.base, args.new, file, Path(tmp))
            print(f"  replay CPU (one run each): base {base_s:.2f} s, new {new_s:.2f} s")
    for file in args.backtest:
        identical_backtest(args.base, args.new, file)
    if args.no_timing:
        return
    for file in args.files:
        if args.repeat:
            decides(args.base, args.new, file, args.repeat)
        if args.replay_repeat:
            replays(args.base, args.new, file, args.replay_repeat)


def decides(base: Path, new: Path, file: Path, repeat: int) -> None:
    runs: dict[str, list[float]] = {"base": [], "new": []}
    for _ in range(repeat):
        runs["base"].append(decide_cpu(base, file))
        runs["new"].append(decide_cpu(new, file))
    base_m, new_m = statistics.median(runs["base"]), statistics.median(runs["new"])
    print(f"{file.name}: decide + encode CPU s, median of {repeat} alternated runs: "
          f"base {base_m:.2f}, new {new_m:.2f} ({base_m / new_m:.2f}x)")
    for name, values in runs.items():
        print(f"  {name}: " + " ".join(f"{v:.2f}" for v in values))


def replays(base: Path, new: Path, file: Path, repeat: int) -> None:
    runs: dict[str, list[tuple[float, float]]] = {"base": [], "new": []}
    with tempfile.TemporaryDirectory(prefix="treasury-ab-") as tmp:
        for _ in range(repeat):
            runs["base"].append(replay_cpu(base, file, Path(tmp) / "base"))
            runs["new"].append(replay_cpu(new, file, Path(tmp) / "new"))
    medians = {name: (statistics.median(c for c, _ in values), statistics.median(w for _, w in values))
               for name, values in runs.items()}
    (base_cpu, base_wall), (new_cpu, new_wall) = medians["base"], medians["new"]
    print(f"{file.name}: treasury replay, median of {repeat} alternated runs: CPU base {base_cpu:.2f} s, "
          f"new {new_cpu:.2f} s ({base_cpu / new_cpu:.2f}x); wall base {base_wall:.2f} s, new {new_wall:.2f} s")
    for name, values in runs.items():
        print(f"  {name} (CPU/wall): " + " ".join(f"{c:.2f}/{w:.2f}" for c, w in values))


if __name__ == "__main__":
    main()
