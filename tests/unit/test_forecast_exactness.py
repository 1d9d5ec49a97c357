"""The forecaster's C-loop rewrites against the plain Python loops they replaced: equal floats.

Replays must stay byte-identical across versions, so every rewrite keeps the same IEEE
operations in the same order. Here the old loops (kept verbatim as references) and the new
code run on random histories, including zeros, spikes and ties, and must agree exactly (==).
"""

import random
from datetime import date, timedelta
from itertools import accumulate
from math import sqrt

import pytest

from agents.forecasting.book import CashBook
from agents.forecasting.calibration import Calibration
from agents.forecasting.forecaster import project
from agents.forecasting.profile import _ROUNDS, _SHRINK, Profile, Series, _keys, fit_profile, fit_series


def plain_fit_series(days: list[date], values: list[float], level_days: int) -> Series:
    """fit_series as it was before the rewrite (f111a0e)."""
    n = len(values)
    mean = sum(values) / n if n else 0.0
    if mean <= 0:
        return Series(0.0, (1.0,) * 7, (1.0,) * 32, (1.0,) * 3)
    keys = list(zip(*[_keys(d) for d in days], strict=True))
    sizes = (7, 32, 3)
    factors = [[1.0] * size for size in sizes]
    actual = [[0.0] * size for size in sizes]
    count = [[0] * size for size in sizes]
    for which in range(3):
        for key, value in zip(keys[which], values, strict=True):
            actual[which][key] += value
            count[which][key] += 1
    for _ in range(_ROUNDS):
        for which, size in enumerate(sizes):
            a, b = (k for k in range(3) if k != which)
            fa, fb, ka, kb = factors[a], factors[b], keys[a], keys[b]
            fitted = [0.0] * size
            for key, i, j in zip(keys[which], ka, kb, strict=True):
                fitted[key] += fa[i] * fb[j]
            counts = count[which]
            prior = [mean * fitted[k] / counts[k] * _SHRINK if counts[k] else 0.0 for k in range(size)]
            factors[which] = [
                (actual[which][k] + prior[k]) / (mean * fitted[k] + prior[k]) if prior[k] > 0 else 1.0
                for k in range(size)
            ]
    shaped = Series(1.0, tuple(factors[0]), tuple(factors[1]), tuple(factors[2]))
    recent = range(max(0, n - level_days), n)
    shape_sum = sum(shaped.shape(days[i]) for i in recent)
    level = sum(values[i] for i in recent) / shape_sum if shape_sum > 0 else mean
    return Series(level, shaped.weekday, shaped.day_of_month, shaped.season)


def history(rng: random.Random, n: int) -> list[float]:
    """Daily flows in fen: closed weekends, a tax week, spikes, exact repeats (ties)."""
    start = rng.choice([0.0, 1e6, 3.7e8])
    out = []
    for i in range(n):
        roll = rng.random()
        if i % 7 in (5, 6) or roll < 0.1:
            out.append(0.0)
        elif roll < 0.2:
            out.append(start)
        else:
            out.append(float(rng.randrange(1, 10**11)) * (4 if 10 <= i % 30 <= 14 else 1))
    return out


@pytest.mark.parametrize("seed", range(8))
def test_the_calendar_fit_is_the_plain_loops_float_for_float(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.choice([31, 90, 200, 365])
    first = date(2021, 1, 1) + timedelta(days=rng.randrange(700))
    days = [first + timedelta(days=i) for i in range(n)]
    ins, outs = history(rng, n), history(rng, n)
    for values in (ins, outs):
        assert fit_series(days, values, 112) == plain_fit_series(days, values, 112)
    fitted = fit_profile(first, ins, outs, 112)
    plain_in, plain_out = plain_fit_series(days, ins, 112), plain_fit_series(days, outs, 112)
    errors = [(i - plain_in.expect(d)) - (o - plain_out.expect(d)) for d, i, o in zip(days, ins, outs, strict=True)]
    assert fitted == Profile(plain_in, plain_out, sqrt(sum(e * e for e in errors) / len(errors)))


def plain_levels(book: CashBook, as_of: date, balance: int, horizon: int) -> tuple[list[int], list[int], list[int]]:
    """project's float pipeline as it was before the rewrite (no plans: the known flows are the
    pending payments on day 1)."""
    days = [as_of + timedelta(days=h) for h in range(1, horizon + 1)]
    known = {days[0]: -book.committed()}
    profile, bands, weights = book.profile, book.calibration.bands, book.calibration.weights
    nets = [profile.net(day) for day in days] if profile is not None else [0.0] * horizon
    base = list(accumulate([float(known.get(day, 0)) for day in days], initial=float(balance)))[1:]
    model = list(accumulate(nets))
    levels = [b + weights[h] * m for h, (b, m) in enumerate(zip(base, model, strict=True), 1)]
    low, mid, high = zip(*bands[1:horizon + 1], strict=True)
    return ([round(level + b) for level, b in zip(levels, low, strict=True)],
            [round(level + b) for level, b in zip(levels, mid, strict=True)],
            [round(level + b) for level, b in zip(levels, high, strict=True)])


@pytest.mark.parametrize("seed", range(6))
def test_the_projected_path_is_the_plain_loops_value_for_value(seed: int) -> None:
    rng = random.Random(100 + seed)
    calibration = Calibration(30, 120, 20)
    for h in range(1, 31):
        for _ in range(rng.choice([5, 40])):
            calibration.add(h, rng.uniform(-1e9, 1e9), rng.uniform(-1e9, 1e9))
    calibration.recalibrate(rng.uniform(0, 1e8))
    book = CashBook("150100", calibration)
    first = date(2021, 3, 1)
    book.profile = fit_profile(first, history(rng, 365), history(rng, 365), 112) if seed % 3 else None
    book.promise("PAY-1", rng.randrange(1, 10**10), False)
    as_of, balance = first + timedelta(days=365), rng.randrange(-10**12, 10**13)
    path = project(book, as_of, balance, 30, remember=False)
    assert (path.p10, path.p50, path.p90) == plain_levels(book, as_of, balance, 30)
