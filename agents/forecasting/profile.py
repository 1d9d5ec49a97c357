"""The calendar model of unscheduled flows: level x weekday x day-of-month x season, per direction.

Unscheduled inflows (tax and other revenue) and outflows (ordinary spending, settled payments)
are each modelled as `level * weekday[d] * day_of_month[d] * month[d]`, fitted by iterative
proportional fitting on the treasury's own history. Multiplicative factors let a closed weekend
be zero while the 15th (tax-payment day), the month's last days and the year-end scale the working
days. The level is re-estimated on the recent days only, so a treasury whose flows grow or shrink
is followed. Floats are fine here: this is statistics; money leaves the forecaster as int fen.
"""

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from math import sqrt
from operator import mul, sub

# Pseudo-observations pulling a factor towards 1 (a level seen only a few times stays modest).
_SHRINK = 0.5
_ROUNDS = 3


def day_of_month_class(day: date) -> int:
    """1..28 for the day of month, and 29, 30, 31 for the third-last, second-last and last day:
    month-end effects then line up whatever the month's length."""
    to_end = calendar.monthrange(day.year, day.month)[1] - day.day
    return 31 - to_end if to_end < 3 else day.day


# Calendar keys by date: a forecaster asks for the same few hundred dates again and again.
_KEYS: dict[date, tuple[int, int, int]] = {}
_KEYS_MAX = 100_000


def season(day: date) -> int:
    """0 for January-November, 1 for December up to the 19th, 2 for the year's last 12 days.

    A factor per month would have one or two observations a year and chase noise; the season
    that matters to a treasury is the year-end rush, whose size the model learns.
    """
    if day.month != 12:
        return 0
    return 2 if day.day >= 20 else 1


def _keys(day: date) -> tuple[int, int, int]:
    found = _KEYS.get(day)
    if found is None:
        if len(_KEYS) >= _KEYS_MAX:
            _KEYS.clear()
        found = _KEYS[day] = (day.weekday(), day_of_month_class(day), season(day))
    return found


@dataclass(frozen=True, slots=True)
class Series:
    """One direction's fitted factors."""

    level: float
    weekday: tuple[float, ...]  # 7
    day_of_month: tuple[float, ...]  # index 1..31
    season: tuple[float, ...]  # see season()

    def shape(self, day: date) -> float:
        wd, dom, part = _keys(day)
        return self.weekday[wd] * self.day_of_month[dom] * self.season[part]

    def expect(self, day: date) -> float:
        return self.level * self.shape(day)

    def shapes(self, keys: Sequence[Sequence[int]]) -> list[float]:
        """`shape` of many days given their three key columns (the same products, made in C)."""
        weekday, month_day, part = keys
        pairs = map(mul, map(self.weekday.__getitem__, weekday), map(self.day_of_month.__getitem__, month_day))
        return list(map(mul, pairs, map(self.season.__getitem__, part)))


def fit_series(days: Sequence[date], values: Sequence[float], level_days: int) -> Series:
    """Fit one direction's factors on consecutive calendar days (a day without flows is a 0)."""
    n = len(values)
    mean = sum(values) / n if n else 0.0
    if mean <= 0:
        return Series(0.0, (1.0,) * 7, (1.0,) * 32, (1.0,) * 3)
    keys = list(zip(*[_keys(d) for d in days], strict=True))  # three columns of level indices
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
            # What the other two factors predict for each level of this one.
            a, b = (k for k in range(3) if k != which)
            # Each day's fa[i] * fb[j] made in C, then added up per level in day order (the
            # same float operations as one loop doing both).
            product = map(mul, map(factors[a].__getitem__, keys[a]), map(factors[b].__getitem__, keys[b]))
            fitted = [0.0] * size
            for key, value in zip(keys[which], product, strict=True):
                fitted[key] += value
            # Shrunk towards 1 by pseudo-days at the level's own mean prediction.
            counts = count[which]
            prior = [mean * fitted[k] / counts[k] * _SHRINK if counts[k] else 0.0 for k in range(size)]
            factors[which] = [
                (actual[which][k] + prior[k]) / (mean * fitted[k] + prior[k]) if prior[k] > 0 else 1.0
                for k in range(size)
            ]
    shaped = Series(1.0, tuple(factors[0]), tuple(factors[1]), tuple(factors[2]))
    recent = range(max(0, n - level_days), n)
    shape_sum = sum(shaped.shapes([column[recent.start:] for column in keys]))
    level = sum(values[i] for i in recent) / shape_sum if shape_sum > 0 else mean
    return Series(level, shaped.weekday, shaped.day_of_month, shaped.season)


@dataclass(frozen=True, slots=True)
class Profile:
    """Both directions, and the spread of the daily net error (the cold-start quantiles)."""

    inflow: Series
    outflow: Series
    daily_sigma: float
    _net: dict[date, float] = field(default_factory=dict, compare=False, repr=False)

    def net(self, day: date) -> float:
        """Expected unscheduled net flow of a day (inflow - outflow), fen; remembered per day."""
        found = self._net.get(day)
        if found is None:
            found = self._net[day] = self.inflow.expect(day) - self.outflow.expect(day)
        return found


def fit_profile(
    first: date, inflow: Sequence[float], outflow: Sequence[float], level_days: int, with_sigma: bool = True
) -> Profile:
    """The profile of consecutive days starting at `first`; `with_sigma=False` skips the daily error
    (only the cold-start bands need it, and it costs as much as a fit)."""
    days = [first + timedelta(days=i) for i in range(len(inflow))]
    ins, outs = fit_series(days, inflow, level_days), fit_series(days, outflow, level_days)
    sigma = 0.0
    if with_sigma and days:
        # (i - level_in x shape_in) - (o - level_out x shape_out) per day, as `expect` computes it.
        keys = list(zip(*[_keys(d) for d in days], strict=True))
        expected_in = map(ins.level.__mul__, ins.shapes(keys))
        expected_out = map(outs.level.__mul__, outs.shapes(keys))
        errors = list(map(sub, map(sub, inflow, expected_in), map(sub, outflow, expected_out)))
        sigma = sqrt(sum(map(mul, errors, errors)) / len(errors))
    return Profile(ins, outs, sigma)
