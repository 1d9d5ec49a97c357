"""A treasury's forecast path: known flows exactly, the calendar model for the rest, calibrated bands.

balance(d) = statement + scheduled flows up to d + accepted-unsettled payments (all on day 1)
           + the model's expected unscheduled net flow up to d, then P10/P50/P90 from the
           backtest residuals at that horizon. Rounded to whole fen at the end only.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate, repeat
from math import sqrt
from operator import add, mul

from agents.config import RulesConfig
from agents.forecasting.book import CashBook
from agents.forecasting.profile import fit_profile


@dataclass(frozen=True, slots=True)
class Path:
    """The balance now and the next `horizon` days (P10/P50/P90 in fen, day by day), with the
    scheduled debt service and 三保 outflows by date."""

    as_of: date
    balance: int
    days: tuple[date, ...]
    p10: list[int]
    p50: list[int]
    p90: list[int]
    debt_service: dict[date, int]
    sanbao_out: dict[date, int]


def refit(book: CashBook, as_of: date, rules: RulesConfig) -> None:
    """Refit the calendar model and recalibrate the bands every `refit_days` event-time days (more
    often while the history is young: every quarter of its length, at least daily)."""
    every = rules.forecast
    if book.first_day is None:
        return
    history = (as_of - book.first_day).days + 1
    if book.fitted_on is not None and (as_of - book.fitted_on).days < min(every.refit_days, max(1, history // 4)):
        return
    book.fitted_on = as_of
    if history < every.min_history_days:
        # Too little history to tell a weekday from a tax day: known flows only (a naive path);
        # the cold-start band is the spread of the daily unscheduled net flow so far.
        _, ins, outs = book.series(as_of, every)
        nets = [i - o for i, o in zip(ins, outs, strict=True)]
        mean = sum(nets) / len(nets)
        book.profile = None
        book.calibration.recalibrate(sqrt(sum((n - mean) ** 2 for n in nets) / len(nets)))
        return
    first, ins, outs = book.series(as_of, every)
    book.profile = fit_profile(first, ins, outs, every.level_days, with_sigma=not book.calibration.calibrated())
    book.calibration.recalibrate(book.profile.daily_sigma)
    book.prune(as_of, max(every.history_days, rules.cash.spike_window_days) + 1)


def project(book: CashBook, as_of: date, balance: int, horizon: int, remember: bool) -> Path:
    """The path from `balance` on `as_of`; `remember` records the points for calibration."""
    known: dict[date, int] = {}
    debt: dict[date, int] = {}
    sanbao: dict[date, int] = {}
    for plan in book.plans.values():
        if plan.value_date > as_of:
            known[plan.value_date] = known.get(plan.value_date, 0) + plan.signed
            if plan.kind == "debt_service":
                debt[plan.value_date] = debt.get(plan.value_date, 0) - plan.signed
            if plan.sanbao and plan.signed < 0:
                sanbao[plan.value_date] = sanbao.get(plan.value_date, 0) - plan.signed
    days = days_after(as_of, horizon)
    # Accepted payments leave within days; counted on day 1, the cautious side.
    known[days[0]] = known.get(days[0], 0) - book.committed()
    profile, calibration = book.profile, book.calibration
    bands, weights = calibration.bands[1:horizon + 1], calibration.weights[1:horizon + 1]
    # The same float operations, in the same order, as the loops they replace (replays stay
    # byte-identical), with the loops in C: map over operator functions.
    nets = list(map(profile.net, days)) if profile is not None else [0.0] * horizon
    base = list(accumulate(map(float, map(known.get, days, repeat(0))), initial=float(balance)))[1:]
    model = list(accumulate(nets))
    if remember:
        calibration.remember(as_of, base, model)
    levels = list(map(add, base, map(mul, weights, model)))  # known path + w_h x model part
    low, mid, high = zip(*bands, strict=True)
    return Path(as_of, balance, days,
                list(map(_whole, map(add, levels, low))),
                list(map(_whole, map(add, levels, mid))),
                list(map(_whole, map(add, levels, high))),
                debt, sanbao)


# round(x) for a float x, without the builtin's look-up of __round__ (90 calls per forecast).
_whole = float.__round__

_DAYS: dict[tuple[date, int], tuple[date, ...]] = {}


def days_after(as_of: date, horizon: int) -> tuple[date, ...]:
    """The `horizon` calendar days after `as_of` (shared by every treasury forecasting that day)."""
    found = _DAYS.get((as_of, horizon))
    if found is None:
        if len(_DAYS) > 4096:
            _DAYS.clear()
        found = _DAYS[(as_of, horizon)] = tuple(as_of + timedelta(days=h) for h in range(1, horizon + 1))
    return found
