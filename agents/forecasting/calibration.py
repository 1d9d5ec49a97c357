"""Quantiles from the forecaster's own backtest: residuals of past forecasts, per horizon.

Every forecast's point path is remembered for the horizon; when a day's balance statement
arrives, the residual (actual balance - point forecast) of each path that forecast that day
joins the window of its horizon. P10/P50/P90 are the point plus
the window's 10th/50th/90th percentile, so the bands are as wide as this treasury's errors have
really been at that horizon, and the P50 absorbs any bias of the point. Until a horizon has
enough residuals, a cold-start spread stands in: the model's daily error grown with sqrt(h).
"""

from __future__ import annotations

from array import array
from collections import deque
from dataclasses import dataclass, field
from datetime import date
from math import floor, sqrt
from operator import sub

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


def _error(weight: float, residuals: list[float], model: list[float]) -> float:
    """Sum of |r - weight * m| in window order (the same float sum as a loop over the pairs)."""
    if weight == 0.0:  # |r - (+-0.0)| is |r| exactly
        total: float = sum(map(abs, residuals))
    elif weight == 1.0:  # 1.0 * m is m exactly
        total = sum(map(abs, map(sub, residuals, model)))
    else:
        total = sum(map(abs, map(sub, residuals, map(weight.__mul__, model))))
    return total


@dataclass(slots=True)
class Calibration:
    """Recent forecasts' point paths, residual windows per horizon, and the bands they give."""

    horizon: int
    keep: int
    needed: int
    # (forecast day's ordinal, known path, model part), oldest first: the known path is the
    # balance plus the known flows, the model part the cumulated expected unscheduled flow.
    paths: deque[tuple[int, array[float], array[float]]] = field(default_factory=deque)
    # Per horizon: (actual - known path) and the model part of each scored forecast, oldest
    # first; the window is the last `keep`. Raw doubles, not tuples of floats: scoring a
    # statement writes ~20 of them, and kept objects made that the forecaster's costliest step
    # in a large replay (memory traffic over a big heap, not arithmetic).
    scored: list[array[float]] = field(init=False)
    parts: list[array[float]] = field(init=False)
    bands: list[Band] = field(init=False)
    # Per horizon: how much of the model part to trust (see recalibrate).
    weights: list[float] = field(init=False)

    def __post_init__(self) -> None:
        self.scored = [array("d") for _ in range(self.horizon + 1)]
        self.parts = [array("d") for _ in range(self.horizon + 1)]
        self.bands = [(0.0, 0.0, 0.0)] * (self.horizon + 1)
        self.weights = [1.0] * (self.horizon + 1)

    def remember(self, as_of: date, known: list[float], model: list[float]) -> None:
        """A forecast's two parts for the days after `as_of` (horizon 1, 2, ...)."""
        self.paths.append((as_of.toordinal(), array("d", known), array("d", model)))

    def observe(self, day: date, balance: int) -> None:
        """A balance statement: score every remembered forecast that made a point for this day."""
        paths, today, scored, parts = self.paths, day.toordinal(), self.scored, self.parts
        while paths and today - paths[0][0] > self.horizon:
            paths.popleft()
        limit = 2 * self.keep
        for as_of, known, model in paths:  # `add` inlined: ~20 paths per statement
            h = today - as_of
            if 1 <= h <= len(known):
                residuals = scored[h]
                residuals.append(balance - known[h - 1])
                parts[h].append(model[h - 1])
                if len(residuals) > limit:
                    self._trim(h)

    def add(self, h: int, residual: float, model_part: float) -> None:
        """One scored forecast at horizon `h`: (actual - known path, model part)."""
        self.scored[h].append(residual)
        self.parts[h].append(model_part)
        if len(self.scored[h]) > 2 * self.keep:
            self._trim(h)

    def _trim(self, h: int) -> None:
        # Amortised: what left the window goes in one move once the arrays reach twice its size.
        gone = len(self.scored[h]) - self.keep
        del self.scored[h][:gone], self.parts[h][:gone]

    def window(self, h: int) -> list[tuple[float, float]]:
        """Horizon `h`'s window, oldest first: (actual - known path, model part) pairs."""
        return list(zip(self._last(self.scored[h]), self._last(self.parts[h]), strict=True))

    def _last(self, values: array[float]) -> list[float]:
        return values[max(0, len(values) - self.keep):].tolist()

    def calibrated(self) -> bool:
        """Whether every horizon has enough residuals (no cold-start band needed)."""
        return all(min(len(scored), self.keep) >= self.needed for scored in self.scored[1:])

    def recalibrate(self, daily_sigma: float) -> None:
        """Recompute every horizon's band (at refit time)."""
        for h in range(1, self.horizon + 1):
            residuals = self._last(self.scored[h])
            if len(residuals) >= self.needed:
                # The weight of the model part that would have erred least at this horizon
                # (far out, a calendar model's drift can cost more than it earns), then the
                # residuals of that combination give the band.
                model = self._last(self.parts[h])
                errors = {w: _error(w, residuals, model) for w in _WEIGHTS}
                weight = min(_WEIGHTS, key=lambda w: (errors[w], -w))
                ordered = sorted(map(sub, residuals, map(weight.__mul__, model)))
                self.weights[h] = weight
                self.bands[h] = (percentile(ordered, 0.1), percentile(ordered, 0.5), percentile(ordered, 0.9))
            else:
                spread = _Z90 * daily_sigma * sqrt(h)
                self.weights[h] = 1.0
                self.bands[h] = (-spread, 0.0, spread)
