"""One treasury's cash book: statements, actual and scheduled flows, pending payments, history.

Everything the forecaster, the cash-risk rules and S001 read about a treasury lives here, in
integer fen. Actual flows are history by value date, split into *planned* ones (their flow_id was
announced as scheduled first) and *unscheduled* ones (what the calendar model learns); settled
payments are unscheduled outflows on their settlement date.
"""

from collections import deque
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from typing import Final

from agents.config import ForecastRules
from agents.forecasting.calibration import Calibration
from agents.forecasting.profile import Profile
from models.inputs import TreasuryFlow

INFLOW_KINDS: Final = frozenset({"tax_revenue", "nontax_revenue", "transfer_in", "bond_proceeds"})
# An actual flow_id is remembered this long, so a redelivered copy is not counted twice.
_SEEN_DAYS: Final = 60


@dataclass(frozen=True, slots=True)
class Plan:
    """A scheduled flow not yet happened: + inflow, - outflow."""

    value_date: date
    signed: int
    kind: str
    sanbao: bool


@dataclass(slots=True)
class Day:
    """A day's actual flows in fen, by kind of knowledge."""

    inflow: int = 0  # unscheduled inflows (and payments returned after settlement)
    outflow: int = 0  # unscheduled outflows, settled payments included
    planned_in: int = 0
    planned_out: int = 0

    @property
    def total_out(self) -> int:
        return self.outflow + self.planned_out


@dataclass(slots=True)
class CashBook:
    """A treasury's cash state; `held` is the S001 queue in arrival order."""

    code: str
    calibration: Calibration
    balance: int | None = None
    statement_day: date | None = None
    since_statement: int = 0  # actual net movement recorded after the last statement
    first_day: date | None = None
    forecast_day: date | None = None
    days: dict[date, Day] = field(default_factory=dict)
    plans: dict[str, Plan] = field(default_factory=dict)
    seen: dict[str, date] = field(default_factory=dict)
    pending: dict[str, tuple[int, bool]] = field(default_factory=dict)  # payment_id -> (fen, 三保)
    pending_total: int = 0
    pending_sanbao: int = 0
    held: dict[str, int] = field(default_factory=dict)  # payment_id -> fen, insertion = arrival order
    profile: Profile | None = None
    fitted_on: date | None = None
    # Running total of all outflows from `out_from` on (the coverage ratio's window slides daily).
    out_sum: int = 0
    out_from: date | None = None
    out_slid: bool = False
    # R007: unscheduled outflow of each statement day in the trailing window, with exact sums.
    spikes: deque[tuple[date, int]] = field(default_factory=deque)
    spike_sum: int = 0
    spike_squares: int = 0
    raised: set[str] = field(default_factory=set)  # R-codes whose condition was last seen holding

    def _day(self, day: date) -> Day:
        if self.first_day is None or day < self.first_day:
            self.first_day = day
        found = self.days.get(day)
        if found is None:
            found = self.days[day] = Day()
        return found

    def flow(self, flow: TreasuryFlow) -> bool:
        """Apply a flow; True when it changed the known future (a plan added or replaced)."""
        inflow = flow.kind in INFLOW_KINDS
        if flow.scheduled:
            if flow.flow_id in self.seen:
                return False  # a plan arriving after its actual changes nothing
            signed = flow.amount if inflow else -flow.amount
            self.plans[flow.flow_id] = Plan(flow.value_date, signed, flow.kind, bool(flow.sanbao))
            return True
        if flow.flow_id in self.seen:
            return False  # redelivered
        self.seen[flow.flow_id] = flow.value_date
        planned = self.plans.pop(flow.flow_id, None) is not None
        day = self._day(flow.value_date)
        if not inflow:
            self._out(flow.value_date, flow.amount)
        if inflow:
            self.since_statement += flow.amount
            if planned:
                day.planned_in += flow.amount
            else:
                day.inflow += flow.amount
        else:
            self.since_statement -= flow.amount
            if planned:
                day.planned_out += flow.amount
            else:
                day.outflow += flow.amount
        return planned

    def settled(self, amount: int, day: date) -> None:
        self._day(day).outflow += amount
        self._out(day, amount)
        self.since_statement -= amount

    def promise(self, payment_id: str, amount: int, sanbao: bool) -> None:
        """An accepted payment not yet settled."""
        self.unpromise(payment_id)
        self.pending[payment_id] = (amount, sanbao)
        self.pending_total += amount
        if sanbao:
            self.pending_sanbao += amount

    def unpromise(self, payment_id: str) -> None:
        found = self.pending.pop(payment_id, None)
        if found is not None:
            self.pending_total -= found[0]
            if found[1]:
                self.pending_sanbao -= found[0]

    def _out(self, day: date, amount: int) -> None:
        if self.out_from is None:
            self.out_from = day
        if day >= self.out_from:
            self.out_sum += amount
        elif not self.out_slid:  # history reaching further back before the window ever moved
            self.out_from = day
            self.out_sum += amount

    def returned_after_settlement(self, amount: int, day: date) -> None:
        self._day(day).inflow += amount
        self.since_statement += amount

    def statement(self, balance: int, day: date) -> None:
        self._day(day)
        self.balance, self.statement_day, self.since_statement = balance, day, 0

    @property
    def position(self) -> int | None:
        """Cash now: the last statement plus what moved since (None before any statement)."""
        return None if self.balance is None else self.balance + self.since_statement

    def committed(self) -> int:
        """Accepted payments not yet settled: cash already promised."""
        return self.pending_total

    def sanbao_due(self, today: date, horizon: int) -> int:
        """三保 outflows due from today through the horizon: scheduled ones not yet happened, plus
        accepted 三保 payments not yet settled."""
        end = today + timedelta(days=horizon)
        scheduled = sum(
            -p.signed for p in self.plans.values() if p.sanbao and p.signed < 0 and today <= p.value_date <= end
        )
        return scheduled + self.pending_sanbao

    def history_window(self, as_of: date, rules: ForecastRules) -> int | None:
        """Days of history behind `as_of` used for averages (≤ history_days); None if too short."""
        if self.first_day is None:
            return None
        days = min(rules.history_days, (as_of - self.first_day).days + 1)
        return days if days >= rules.min_history_days else None

    def monthly_outflow(self, as_of: date, rules: ForecastRules) -> Fraction | None:
        """Mean monthly outflow over the trailing window: its daily mean x 365/12."""
        window = self.history_window(as_of, rules)
        if window is None or self.out_from is None:
            return None
        start = as_of - timedelta(days=window - 1)
        while self.out_from < start:  # slide: the days leaving the window leave the sum
            leaving = self.days.get(self.out_from)
            if leaving is not None:
                self.out_sum -= leaving.total_out
            self.out_from += timedelta(days=1)
            self.out_slid = True
        return Fraction(self.out_sum * 365, 12 * window)

    def series(self, as_of: date, rules: ForecastRules) -> tuple[date, list[float], list[float]]:
        """Unscheduled inflows and outflows per calendar day over the learning window."""
        window = self.history_window(as_of, rules) or (as_of - (self.first_day or as_of)).days + 1
        first = as_of - timedelta(days=window - 1)
        ins, outs = [0.0] * window, [0.0] * window
        base = first.toordinal()
        for day, flows in self.days.items():
            i = day.toordinal() - base
            if 0 <= i < window:
                ins[i], outs[i] = float(flows.inflow), float(flows.outflow)
        return first, ins, outs

    def prune(self, as_of: date, keep_days: int) -> None:
        """Forget history beyond what any window needs, stale plans and old flow ids."""
        horizon_start = as_of - timedelta(days=keep_days)
        for old in [d for d in self.days if d < horizon_start]:
            del self.days[old]
        for flow_id in [f for f, p in self.plans.items() if p.value_date < as_of]:
            del self.plans[flow_id]  # a plan whose day passed without its actual never happened
        seen_start = as_of - timedelta(days=_SEEN_DAYS)
        for flow_id in [f for f, d in self.seen.items() if d < seen_start]:
            del self.seen[flow_id]
