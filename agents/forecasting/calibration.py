"""Quantiles from the forecaster's own backtest: residuals of past forecasts, per horizon.

Every forecast's point path is remembered for the horizon; when a day's balance statement
arrives, the residual (actual balance - point forecast) of each path that forecast that day
joins the window of its horizon. P10/P50/P90 are the point plus
the window's 10th/50th/90th percentile, so the bands are as wide as this treasury's errors have
really been at that horizon, and the P50 absorbs any bias of the point. Until a horizon has
enough residuals, a cold-start spread stands in: the model's daily error grown with sqrt(h).
"""

from collections import deque
from dataclasses import dataclass, field
from datetime import date
from math import floor, sqrt

# The standard normal's 90th percentile: the cold-start band is +-1.2816 sigma (P10..P90).
_Z90 = 1.2815515655446004
Band = tuple[float, float, float]
_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)  # offsets of P10, P50, P90 from the point forecast


def percentile(ordered: list[float], share: float) -> float:
    """Linear interpolation between closest ranks of a sorted, non-empty list."""
    position = share * (len(ordered) - 1)
    low = floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(slots=True)
class Calibration:
    """Recent forecasts' point paths, residual windows per horizon, and the bands they give."""

    horizon: int
    keep: int
    needed: int
    # (forecast day's ordinal, known path, model part), oldest first: the known path is the
    # balance plus the known flows, the model part the cumulated expected unscheduled flow.
    paths: deque[tuple[int, list[float], list[float]]] = field(default_factory=deque)
    # Per horizon: (actual - known path, model part) of each scored forecast.
    residuals: list[deque[tuple[float, float]]] = field(init=False)
    bands: list[Band] = field(init=False)
    # Per horizon: how much of the model part to trust (see recalibrate).
    weights: list[float] = field(init=False)

    def __post_init__(self) -> None:
        self.residuals = [deque(maxlen=self.keep) for _ in range(self.horizon + 1)]
        self.bands = [(0.0, 0.0, 0.0)] * (self.horizon + 1)
        self.weights = [1.0] * (self.horizon + 1)

    def remember(self, as_of: date, known: list[float], model: list[float]) -> None:
        """A forecast's two parts for the days after `as_of` (horizon 1, 2, ...)."""
        self.paths.append((as_of.toordinal(), known, model))

    def observe(self, day: date, balance: int) -> None:
        """A balance statement: score every remembered forecast that made a point for this day."""
        paths, today, residuals = self.paths, day.toordinal(), self.residuals
        while paths and today - paths[0][0] > self.horizon:
            paths.popleft()
        for as_of, known, model in paths:
            h = today - as_of
            if 1 <= h <= len(known):
                residuals[h].append((balance - known[h - 1], model[h - 1]))

    def calibrated(self) -> bool:
        """Whether every horizon has enough residuals (no cold-start band needed)."""
        return all(len(window) >= self.needed for window in self.residuals[1:])

    def recalibrate(self, daily_sigma: float) -> None:
        """Recompute every horizon's band (at refit time: sorting is the costly part)."""
        for h in range(1, self.horizon + 1):
            window = self.residuals[h]
            if len(window) >= self.needed:
                # The weight of the model part that would have erred least at this horizon
                # (far out, a calendar model's drift can cost more than it earns), then the
                # residuals of that combination give the band.
                weight = min(_WEIGHTS, key=lambda w: (sum(abs(r - w * m) for r, m in window), -w))
                ordered = sorted(r - weight * m for r, m in window)
                self.weights[h] = weight
                self.bands[h] = (percentile(ordered, 0.1), percentile(ordered, 0.5), percentile(ordered, 0.9))
            else:
                spread = _Z90 * daily_sigma * sqrt(h)
                self.weights[h] = 1.0
                self.bands[h] = (-spread, 0.0, spread)
