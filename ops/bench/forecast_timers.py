"""The forecaster's steps timed in place: decide + encode a file, thread CPU per wrapped function.

    python ops/bench/forecast_timers.py FILE
    PYTHONPATH=/tmp/base python ops/bench/forecast_timers.py FILE     # another source tree

Each step of the cash desk is wrapped with a thread-CPU timer (about 1 us of overhead per call,
included in the figures), then the file is decided and encoded once, as decide_bench.py does.
Nested steps are counted in their callers too (refit contains recalibrate and fit_profile).
"""

import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import agents.forecasting.agent as agent
import agents.forecasting.book as book
import agents.forecasting.calibration as calibration
import agents.forecasting.forecaster as forecaster
from models.codec import encode
from models.outputs import Forecast
from stream.engine import Engine
from stream.gctune import tune_for_engine
from stream.settings import Settings

SPENT: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)


def wrap(owner: Any, name: str, label: str) -> None:
    inner: Callable[..., Any] = getattr(owner, name)
    clock = time.thread_time

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = clock()
        try:
            return inner(*args, **kwargs)
        finally:
            SPENT[label] += clock() - started
            CALLS[label] += 1

    setattr(owner, name, timed)


def main() -> None:
    tune_for_engine()
    fa, cal, cb = agent.ForecastingAgent, calibration.Calibration, book.CashBook
    for owner, name, label in [
        (fa, "on_balance", "on_balance"), (fa, "on_flow", "on_flow"), (agent, "refit", "refit"),
        (cal, "recalibrate", "recalibrate"), (forecaster, "fit_profile", "fit_profile"),
        (agent, "project", "project"), (cal, "observe", "observe"), (agent, "_forecast", "_forecast"),
        (agent, "balance_signals", "balance_signals"), (agent, "path_signals", "path_signals"),
        (agent, "spike_signal", "spike_signal"), (cb, "monthly_outflow", "monthly_outflow"),
    ]:
        wrap(owner, name, label)
    path = Path(sys.argv[1])
    engine = Engine(Settings().load_rules())
    clock = time.thread_time
    started = time.process_time()
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        for out in engine.handle_line(line, path.name, number):
            began = clock()
            encode(out)
            label = "encode forecast" if type(out) is Forecast else "encode other"
            SPENT[label] += clock() - began
            CALLS[label] += 1
    print(f"decide + encode {path.name}: {time.process_time() - started:.2f} s CPU")
    for label in sorted(SPENT, key=lambda k: -SPENT[k]):
        print(f"{label:18s} {SPENT[label]:7.3f} s {CALLS[label]:8,d} calls {SPENT[label] / CALLS[label] * 1e6:8.1f} us")


if __name__ == "__main__":
    main()
