"""CPU of deciding and encoding a file in one process: Engine.handle_line + encode, no I/O.

    python ops/bench/decide_bench.py FILE [--repeat 2] [--default-gc]

Prints the best CPU time of the repeats and how many outputs were made (a quick A/B of the core).
"""

import argparse
import time
from pathlib import Path

from models.codec import encode
from stream.engine import Engine
from stream.gctune import tune_for_engine
from stream.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--default-gc", action="store_true", help="keep CPython's GC thresholds")
    args = parser.parse_args()
    if not args.default_gc:
        tune_for_engine()
    lines = args.file.read_bytes().splitlines()
    best, outputs = float("inf"), 0
    for _ in range(args.repeat):
        engine = Engine(Settings().load_rules())
        started = time.process_time()
        outputs = 0
        for number, line in enumerate(lines, start=1):
            for out in engine.handle_line(line, args.file.name, number):
                encode(out)
                outputs += 1
        best = min(best, time.process_time() - started)
    print(f"decide + encode {len(lines):,} lines: {best:.2f} s CPU, {outputs:,} outputs")


if __name__ == "__main__":
    main()
