"""A deterministic multi-year cash history of one treasury, for the forecaster's tests and benchmark.

Working days (Monday-Friday) carry unscheduled tax revenue (heavier on the tax-payment days, the
10th-15th), small non-tax revenue that pulls the balance back towards a target (the treasury's
cash management), and ordinary spending (heavier on the month's last three days, in December and
most at year-end). Scheduled flows, announced from the 25th of the month before: transfers in
(5th) and out (18th), payroll (10th, 三保), livelihood (20th, 三保), debt service each quarter
(24th). `break_on` adds one extra debt service, announced 60 days ahead, large enough to take the
treasury below its floor; bond proceeds restore the cash three days later. One
`random.Random(seed)`, no clock: the same arguments give the same bytes.
"""

import calendar
import random
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import orjson

from models.money import format_fen

CST = timezone(timedelta(hours=8))
DAILY = 5_000_000_00  # ordinary daily spending, fen (5 million yuan)
# Scheduled flows: (tag, kind, day of month, multiple of DAILY, 三保, quarterly only).
_SCHEDULE = (
    ("ZYR", "transfer_in", 5, 12.0, False, False),
    ("GZ", "other_out", 10, 4.0, True, False),
    ("ZYC", "transfer_out", 18, 6.0, False, False),
    ("MS", "other_out", 20, 2.0, True, False),
    ("ZW", "debt_service", 24, 5.0, False, True),
)


def _working(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _spend_factor(day: date) -> float:
    last = calendar.monthrange(day.year, day.month)[1]
    factor = 2.2 if last - day.day < 3 else 1.0
    if day.month == 12:
        factor *= 2.5 if day.day >= 20 else 1.5
    return factor


def _tax_factor(day: date) -> float:
    return 3.0 if 10 <= day.day <= 15 else 0.7


def _ts(day: date, hour: int, minute: int = 0) -> str:
    return datetime.combine(day, time(hour, minute), CST).isoformat()


def cash_history(
    seed: int = 1, start: date = date(2021, 1, 1), days: int = 730, code: str = "150100",
    break_on: date | None = None,
) -> list[bytes]:
    """The history as JSON lines of `treasury_flow` and `treasury_balance`, in event-time order."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible history, not a secret
    events: list[tuple[str, int, bytes]] = []

    def emit(at: str, kind: str, data: dict[str, Any]) -> None:
        events.append((at, len(events), orjson.dumps({"type": kind, "data": data}) + b"\n"))

    def flow(day: date, tag: str, kind: str, fen: int, scheduled: bool, at: str, sanbao: bool | None) -> None:
        data: dict[str, Any] = {"flow_id": f"LS{code}{day:%Y%m%d}{tag}", "treasury_code": code, "kind": kind,
                                "amount": format_fen(max(100, fen)), "value_date": day.isoformat(),
                                "scheduled": scheduled}
        if sanbao is not None:
            data["sanbao"] = sanbao
        data["recorded_at"] = at
        emit(at, "treasury_flow", data)

    calendar_days = [start + timedelta(days=i) for i in range(days)]
    planned: dict[date, list[tuple[str, str, int, bool]]] = {}
    for day in calendar_days:
        if day.day != 1:
            continue
        announce = _working((day - timedelta(days=1)).replace(day=25))
        for tag, kind, dom, multiple, sanbao, quarterly in _SCHEDULE:
            if quarterly and day.month % 3:
                continue
            value = _working(day.replace(day=dom))
            fen = int(DAILY * multiple)
            planned.setdefault(value, []).append((tag, kind, fen, sanbao))
            if announce >= start:
                flow(value, tag, kind, fen, True, _ts(announce, 8), sanbao or None)
    if break_on is not None:
        fen = 60 * DAILY
        planned.setdefault(break_on, []).append(("ZWX", "debt_service", fen, False))
        flow(break_on, "ZWX", "debt_service", fen, True, _ts(break_on - timedelta(days=60), 8), None)
        relief = _working(break_on + timedelta(days=3))
        planned.setdefault(relief, []).append(("ZQ", "bond_proceeds", fen, False))

    # Revenue is sized so a year's expected inflows match its expected outflows.
    work = [d for d in calendar_days if d.weekday() < 5]
    spend = sum(_spend_factor(d) for d in work) * DAILY * 1.03
    scheduled_net = sum((1 if k in ("transfer_in", "bond_proceeds") else -1) * f
                        for items in planned.values() for _, k, f, _ in items)
    tax_unit = (spend - scheduled_net) / (sum(_tax_factor(d) for d in work) * 1.046)
    target = 16 * DAILY
    balance = target
    for day in work:
        for tag, kind, fen, sanbao in planned.get(day, ()):
            flow(day, tag, kind, fen, False, _ts(day, 9, 30), sanbao or None)
            balance += fen if kind in ("transfer_in", "bond_proceeds") else -fen
        tax = int(tax_unit * _tax_factor(day) * rng.lognormvariate(0, 0.3))
        spent = int(DAILY * _spend_factor(day) * rng.lognormvariate(0, 0.25))
        nontax = max(DAILY // 50, int(0.05 * (target - balance) + DAILY * 0.1 * rng.lognormvariate(0, 0.3)))
        flow(day, "SS", "tax_revenue", tax, False, _ts(day, 10), None)
        flow(day, "FS", "nontax_revenue", nontax, False, _ts(day, 11), None)
        flow(day, "ZC", "other_out", spent, False, _ts(day, 14), False)
        balance += tax + nontax - spent
        emit(_ts(day, 17, 30), "treasury_balance",
             {"treasury_code": code, "balance": format_fen(balance), "as_of": _ts(day, 17, 30)})
    events.sort()
    return [line for _, _, line in events]
