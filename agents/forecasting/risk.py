"""Cash-risk rules R001-R007 over a treasury's book and forecast path, as alert signals.

Each rule says, on every evaluation, whether its condition holds (an active signal naming the
date and the shortfall) or not (a clearing signal, so an open alert resolves itself). The
subject is always the treasury. Comparisons are in integer fen or exact fractions.
"""

from datetime import date, datetime, timedelta
from fractions import Fraction
from math import sqrt
from typing import Any

from agents.config import RulesConfig
from agents.forecasting.book import CashBook
from agents.forecasting.forecaster import Path
from alerts.signals import AlertSignal, Severity
from models.money import format_fen


def coverage_text(ratio: Fraction) -> str:
    return f"{float(ratio):.4f}"


def _signal(code: str, book: CashBook, at: datetime, evidence: dict[str, Any] | None,
            severity: Severity | None = None) -> list[AlertSignal]:
    """The condition's signal: raised with its evidence, or cleared, but only if it was raised (a
    clearing signal for a condition never raised would be one more no-op for the alert book)."""
    if evidence is None:
        if code not in book.raised:
            return []
        book.raised.discard(code)
        return [AlertSignal(code, "treasury", book.code, at, active=False)]
    book.raised.add(code)
    return [AlertSignal(code, "treasury", book.code, at, {"treasury_code": book.code, **evidence},
                        severity=severity)]


def floor_of(monthly: Fraction | None, rules: RulesConfig) -> int | None:
    """The floor: a share of the mean monthly outflow, whole fen (None without enough history)."""
    if monthly is None:
        return None
    # Integer arithmetic on the fraction's parts: exact, and much cheaper than Fraction operators.
    return monthly.numerator * rules.cash.floor_percent_of_monthly_outflow // (monthly.denominator * 100)


def balance_signals(book: CashBook, balance: int, monthly: Fraction | None, at: datetime,
                    rules: RulesConfig) -> list[AlertSignal]:
    """R001 (balance below the floor), R003/R004 (coverage ratio low / idle cash)."""
    floor = floor_of(monthly, rules)
    if monthly is None or floor is None:
        return []
    r001 = None
    if balance < floor:
        r001 = {"balance": format_fen(balance), "floor": format_fen(floor), "shortfall": format_fen(floor - balance)}
    out = _signal("R001", book, at, r001)
    cash = rules.cash
    r003 = r004 = None
    if monthly.numerator > 0:
        # ratio = balance / monthly against percent / 100, compared as integers (monthly > 0):
        # exact, and a Fraction is only made when the evidence needs its text.
        scaled, parts = balance * monthly.denominator * 100, monthly.numerator
        if scaled < cash.coverage_low_percent * parts:
            r003 = _coverage_evidence(balance, monthly, cash.coverage_low_percent)
        if scaled > cash.coverage_high_percent * parts:
            r004 = _coverage_evidence(balance, monthly, cash.coverage_high_percent)
    out += _signal("R003", book, at, r003) + _signal("R004", book, at, r004)
    return out


def _coverage_evidence(balance: int, monthly: Fraction, threshold_percent: int) -> dict[str, Any]:
    return {"coverage_ratio": coverage_text(Fraction(balance) / monthly),
            "threshold": coverage_text(Fraction(threshold_percent, 100)),
            "balance": format_fen(balance), "monthly_outflow": format_fen(int(monthly))}


def path_signals(book: CashBook, path: Path, floor: int | None, at: datetime, rules: RulesConfig) -> list[AlertSignal]:
    """R002 (forecast below the floor), R005 (三保 not covered), R006 (debt service not covered)."""
    out: list[AlertSignal] = []
    if floor is not None:
        r002: dict[str, Any] | None = None
        severity: Severity | None = None
        for quantile, values in (("p50", path.p50), ("p10", path.p10)):
            if not values or min(values) >= floor:  # the usual case, found in C
                continue
            i = next(i for i, value in enumerate(values) if value < floor)
            day, value = path.days[i], values[i]
            r002 = {"date": day.isoformat(), "value": format_fen(value), "floor": format_fen(floor),
                    "shortfall": format_fen(floor - value), "quantile": quantile,
                    "days_ahead": (day - path.as_of).days}
            severity = "warning" if quantile == "p50" else "info"
            break
        out += _signal("R002", book, at, r002, severity)
    out += _signal("R005", book, at, _sanbao_gap(book, path, rules))
    r006 = None
    if path.debt_service:
        for day, p50 in zip(path.days, path.p50, strict=True):
            debt = path.debt_service.get(day, 0)
            # The balance that day before the debt service is paid (its other flows included).
            available = p50 + debt
            if debt and available < debt:
                r006 = {"date": day.isoformat(), "value": format_fen(available),
                        "debt_service": format_fen(debt), "shortfall": format_fen(debt - available)}
                break
    out += _signal("R006", book, at, r006)
    return out


def _sanbao_gap(book: CashBook, path: Path, rules: RulesConfig) -> dict[str, Any] | None:
    """The first day whose forecast balance is below the 三保 outflows still due in the horizon
    after it (today: the balance against everything due in the next `horizon_days`)."""
    sanbao = path.sanbao_out
    end = path.days[-1] if path.days else path.as_of
    due = sum(fen for day, fen in sanbao.items() if day <= end) + book.pending_sanbao
    if due <= 0:
        return None
    # What is due only falls day by day (三保 outflows are positive), so a path never below
    # today's total has no gap: the usual case, checked in C before the day-by-day walk.
    if path.balance >= due and (not path.p50 or min(path.p50) >= due):
        return None
    day, value = path.as_of, path.balance
    for i in range(-1, len(path.days)):
        if i >= 0:
            day, value = path.days[i], path.p50[i]
            due -= sanbao.get(day, 0)
        if due > 0 and value < due:
            return {"date": day.isoformat(), "value": format_fen(value), "sanbao_due": format_fen(due),
                    "shortfall": format_fen(due - value), "horizon_days": rules.cash.horizon_days}
    return None


def spike_signal(book: CashBook, day: date, at: datetime, rules: RulesConfig) -> list[AlertSignal]:
    """R007: the day's unscheduled outflow above the trailing statement days' mean + k sigma.

    The window's sums are kept exactly in integers as the days come (one step per statement).
    """
    today = book.days.get(day)
    if today is None:
        return []
    window_start = day - timedelta(days=rules.cash.spike_window_days)
    spikes = book.spikes
    while spikes and spikes[0][0] < window_start:
        _, old = spikes.popleft()
        book.spike_sum -= old
        book.spike_squares -= old * old
    n, total, squares = len(spikes), book.spike_sum, book.spike_squares
    spikes.append((day, today.outflow))
    book.spike_sum += today.outflow
    book.spike_squares += today.outflow * today.outflow
    if n < rules.forecast.spike_min_days:
        return []
    mean = total / n
    sigma = sqrt(max(0, squares * n - total * total)) / n
    limit = mean + rules.cash.spike_sigmas * sigma
    evidence = None
    if today.outflow > limit:
        evidence = {"date": day.isoformat(), "outflow": format_fen(today.outflow),
                    "window_days": rules.cash.spike_window_days, "sigmas": rules.cash.spike_sigmas,
                    "mean": format_fen(round(mean)), "threshold": format_fen(round(limit))}
    return _signal("R007", book, at, evidence)
