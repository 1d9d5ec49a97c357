"""Backtest scoring: each forecast's points against the balances that came, beside a naive forecast.

The naive forecast carries the forecast day's balance forward. Per horizon (days ahead) it
reports the mean absolute error of the P50 and of the naive forecast, and the share of actual
balances inside P10..P90. Only days with a balance statement are scored.
"""

from dataclasses import dataclass, field
from datetime import date

from models.outputs import Forecast


@dataclass(frozen=True, slots=True)
class HorizonScore:
    """One horizon's scores (errors in fen)."""

    horizon: int
    outcomes: int
    p50_mae: float
    naive_mae: float
    inside: float  # share of outcomes within P10..P90

    @property
    def ratio(self) -> float:
        return self.p50_mae / self.naive_mae if self.naive_mae else 0.0


@dataclass(slots=True)
class Backtest:
    """Collects statements and forecasts; `scores()` at the end."""

    horizon: int
    balances: dict[tuple[str, date], int] = field(default_factory=dict)
    points: list[tuple[str, date, date, int, int, int]] = field(default_factory=list)

    def statement(self, treasury_code: str, day: date, balance: int) -> None:
        self.balances.setdefault((treasury_code, day), balance)  # the day's first statement

    def forecast(self, forecast: Forecast) -> None:
        for p in forecast.points:
            self.points.append((forecast.treasury_code, forecast.as_of, p.date, p.p10, p.p50, p.p90))

    def scores(self) -> list[HorizonScore]:
        sums = {h: [0, 0, 0, 0] for h in range(1, self.horizon + 1)}  # n, model, naive, inside
        for code, as_of, day, p10, p50, p90 in self.points:
            actual = self.balances.get((code, day))
            start = self.balances.get((code, as_of))
            h = (day - as_of).days
            if actual is None or start is None or h not in sums:
                continue
            acc = sums[h]
            acc[0] += 1
            acc[1] += abs(p50 - actual)
            acc[2] += abs(start - actual)
            acc[3] += p10 <= actual <= p90
        return [
            HorizonScore(h, n, model / n, naive / n, inside / n)
            for h, (n, model, naive, inside) in sums.items() if n
        ]


def summary(scores: list[HorizonScore]) -> tuple[float, float, float]:
    """(mean P50 MAE, mean naive MAE, mean share inside P10..P90) over the horizons, equally weighted."""
    if not scores:
        return 0.0, 0.0, 0.0
    n = len(scores)
    return (sum(s.p50_mae for s in scores) / n, sum(s.naive_mae for s in scores) / n,
            sum(s.inside for s in scores) / n)
