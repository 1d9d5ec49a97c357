"""Cash forecaster against a forecasting library (statsforecast) on the same generated histories.

Not a test: run it by hand, keep the numbers in BENCHMARKS.md. statsforecast is needed only here
(it is not a dependency of the engine); install it beside the engine's own requirements:

    python -m venv /tmp/fcbench && /tmp/fcbench/bin/pip install statsforecast pydantic pydantic-settings orjson
    PYTHONPATH=. /tmp/fcbench/bin/python ops/bench/forecast_bench.py --seeds 1 2 3 --every 7

For each seed: the two-year history of stream/demo/cash_history.py; the engine's forecaster
replays all of it (a forecast every statement day); the library models are refitted at every
`--every`-th statement day of the second year (rolling origin). Scores are over the second
year's origins (the engine's on the same subset of origins as the library's), horizons 1-30.
"""

import argparse
import resource
import time
from collections.abc import Callable
from datetime import date, timedelta

import numpy as np
import orjson

from agents.config import default_rules_text, parse_rules
from agents.forecasting.agent import ForecastingAgent
from models.codec import decode_line
from models.inputs import TreasuryBalance
from models.outputs import Forecast
from stream.demo.cash_history import cash_history

H = 30
SECOND_YEAR = date(2022, 1, 1)
INFLOWS = {"tax_revenue", "nontax_revenue", "transfer_in", "bond_proceeds"}


class Scores:
    """Per-horizon sums: absolute error of the P50, of the naive forecast, and band coverage."""

    def __init__(self) -> None:
        self.n = np.zeros(H + 1)
        self.model = np.zeros(H + 1)
        self.naive = np.zeros(H + 1)
        self.inside = np.zeros(H + 1)

    def add(self, h: int, p10: float | None, p50: float, p90: float | None, start: int, actual: int) -> None:
        self.n[h] += 1
        self.model[h] += abs(p50 - actual)
        self.naive[h] += abs(start - actual)
        if p10 is not None and p90 is not None:
            self.inside[h] += p10 <= actual <= p90

    def summary(self) -> tuple[float, float, float]:
        """Means over the horizons that had outcomes (a sparse sample of origins may miss some)."""
        seen = self.n > 0
        n = self.n[seen]
        model, naive, inside = self.model[seen] / n, self.naive[seen] / n, self.inside[seen] / n
        return float(model.mean()), float(naive.mean()), float(inside.mean())


def engine_forecasts(lines: list[bytes]) -> tuple[dict[date, int], dict[date, Forecast], float]:
    agent = ForecastingAgent(parse_rules(default_rules_text()))
    balances: dict[date, int] = {}
    forecasts: dict[date, Forecast] = {}
    started = time.perf_counter()
    for raw in lines:
        event = decode_line(raw)
        if isinstance(event, TreasuryBalance):
            balances.setdefault(agent.day(event.as_of), event.balance)
            out = agent.on_balance(event)
        else:
            out = agent.on_flow(event)  # type: ignore[arg-type]
        forecasts.update((o.as_of, o) for o in out if isinstance(o, Forecast))
    return balances, forecasts, time.perf_counter() - started


def daily_series(lines: list[bytes], first: date, last: date) -> tuple[np.ndarray, np.ndarray, dict[date, int]]:
    """Calendar-day balance (carried over days without a statement), unscheduled net flow per day,
    and the scheduled net flow by value date (what is known ahead)."""
    days = (last - first).days + 1
    balance, unscheduled = np.full(days, np.nan), np.zeros(days)
    planned_ids: set[str] = set()
    known: dict[date, int] = {}
    for raw in lines:
        kind, data = orjson.loads(raw)["type"], orjson.loads(raw)["data"]
        if kind == "treasury_balance":
            i = (date.fromisoformat(data["as_of"][:10]) - first).days
            if np.isnan(balance[i]):
                balance[i] = float(data["balance"]) * 100
            continue
        sign = 1 if data["kind"] in INFLOWS else -1
        fen = round(float(data["amount"]) * 100) * sign
        value = date.fromisoformat(data["value_date"])
        if data["scheduled"]:
            planned_ids.add(data["flow_id"])
            known[value] = known.get(value, 0) + fen
        elif data["flow_id"] not in planned_ids:
            unscheduled[(value - first).days] += fen
    for i in range(1, days):  # carry the last statement over weekends
        if np.isnan(balance[i]):
            balance[i] = balance[i - 1]
    return balance, unscheduled, known


def library_forecasts(
    series: np.ndarray, fit: Callable[[], object], horizon: int
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    model = fit()
    out = model.forecast(y=series, h=horizon, level=[80])  # type: ignore[attr-defined]
    mean = np.asarray(out["mean"])
    lo, hi = out.get("lo-80"), out.get("hi-80")
    return mean, None if lo is None else np.asarray(lo), None if hi is None else np.asarray(hi)


def run(seed: int, every: int) -> dict[str, object]:
    from statsforecast.models import MSTL, AutoETS

    lines = cash_history(seed=seed)
    balances, forecasts, engine_s = engine_forecasts(lines)
    first = min(balances)
    last = max(balances)
    balance, unscheduled, known = daily_series(lines, first, last)
    origins = sorted(d for d in balances if d >= SECOND_YEAR and d + timedelta(days=1) <= last)
    sampled = origins[::every]
    results: dict[str, Scores] = {k: Scores() for k in (
        "engine (all origins)", "engine", "ETS on balance", "MSTL on balance",
        "ETS on unscheduled flows + known flows", "MSTL on unscheduled flows + known flows")}
    library_s = 0.0
    for origin in origins:
        f = forecasts[origin]
        for p in f.points:
            actual = balances.get(p.date)
            if actual is None:
                continue
            h = (p.date - origin).days
            results["engine (all origins)"].add(h, p.p10, p.p50, p.p90, balances[origin], actual)
            if origin in sampled:
                results["engine"].add(h, p.p10, p.p50, p.p90, balances[origin], actual)
    for origin in sampled:
        i = (origin - first).days
        start = balances[origin]
        began = time.perf_counter()
        fits = {
            "ETS on balance": (balance[: i + 1], lambda: AutoETS(season_length=7)),
            "MSTL on balance": (balance[: i + 1], lambda: MSTL(season_length=[7, 30])),
            "ETS on unscheduled flows + known flows": (unscheduled[: i + 1], lambda: AutoETS(season_length=7)),
            "MSTL on unscheduled flows + known flows": (unscheduled[: i + 1], lambda: MSTL(season_length=[7, 30])),
        }
        for name, (series, fit) in fits.items():
            mean, lo, hi = library_forecasts(series, fit, H)
            if "flows" in name:  # a balance path: today's balance + known flows + the library's flows
                steps = np.array([known.get(origin + timedelta(days=h), 0) for h in range(1, H + 1)]) + mean
                mean, lo, hi = start + np.cumsum(steps), None, None
            for h in range(1, H + 1):
                actual = balances.get(origin + timedelta(days=h))
                if actual is not None:
                    results[name].add(h, None if lo is None else lo[h - 1], mean[h - 1],
                                      None if hi is None else hi[h - 1], start, actual)
        library_s += time.perf_counter() - began
    return {"seed": seed, "origins": len(origins), "sampled": len(sampled), "engine_s": engine_s,
            "library_s": library_s, "scores": {k: v.summary() for k, v in results.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--every", type=int, default=7, help="refit the library at every n-th origin")
    args = parser.parse_args()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    began = time.perf_counter()
    import statsforecast  # noqa: F401 - measured: what adopting it would add to start-up

    import_s = time.perf_counter() - began
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"statsforecast import {import_s:.2f} s, max RSS {rss_before / 1024:.0f} -> {rss_after / 1024:.0f} MiB")
    totals: dict[str, list[tuple[float, float, float]]] = {}
    for seed in args.seeds:
        result = run(seed, args.every)
        print(f"seed {seed}: {result['origins']} second-year origins ({result['sampled']} for the library); "
              f"engine {result['engine_s']:.2f} s for the whole replay, library {result['library_s']:.1f} s")
        for name, (model, naive, inside) in result["scores"].items():  # type: ignore[attr-defined]
            totals.setdefault(name, []).append((model, naive, inside))
            band = f"{inside:6.1%}" if inside else "   n/a"
            print(f"  {name:42s} P50 MAE {model / 100:14,.0f}  naive {naive / 100:14,.0f}  "
                  f"ratio {model / naive:5.3f}  P10-P90 {band}")
    print(f"max RSS at the end {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    print("mean over seeds (ratio to naive, P10-P90 coverage):")
    for name, rows in totals.items():
        ratio = sum(m / n for m, n, _ in rows) / len(rows)
        inside = sum(i for _, _, i in rows) / len(rows)
        print(f"  {name:42s} {ratio:5.3f}  {f'{inside:6.1%}' if inside else '   n/a'}")


if __name__ == "__main__":
    main()
