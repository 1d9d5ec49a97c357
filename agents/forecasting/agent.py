"""The forecasting agent: per treasury, a daily 30-day cash forecast, cash-risk alerts and S001.

Inputs: balance statements, actual and scheduled flows, and (from the payment side) accepted,
settled and returned payments. Once per event-time day per treasury, at that day's first
balance statement, it emits a forecast and evaluates R001-R007. A scheduled flow that changes
the known future within the horizon re-evaluates R002, R005 and R006 at once, so a breach is
warned of as soon as it can be seen. It is also the validation agent's CashGuard (S001).
"""

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from fractions import Fraction

from agents.config import RulesConfig
from agents.findings import Finding
from agents.forecasting.book import CashBook
from agents.forecasting.calibration import Calibration
from agents.forecasting.forecaster import Path, project, refit
from agents.forecasting.guard import releasable, s001
from agents.forecasting.risk import balance_signals, floor_of, path_signals, spike_signal
from alerts.signals import AlertSignal
from models.base import trusted
from models.forecastwire import points as forecast_points
from models.inputs import Payment, TreasuryBalance, TreasuryFlow
from models.outputs import Forecast, Outcome, PaymentStatus

ForecastOut = Forecast | AlertSignal


@dataclass(slots=True)
class ForecastingAgent:
    """Every treasury's cash book; pure, driven by event time only."""

    rules: RulesConfig
    books: MutableMapping[str, CashBook] = field(default_factory=dict)
    _tz: tzinfo = field(init=False)
    _horizon: int = field(init=False)

    def __post_init__(self) -> None:
        self._tz = self.rules.validation.fiscal_timezone
        self._horizon = self.rules.cash.horizon_days

    def day(self, at: datetime) -> date:
        """The treasury's local calendar day of an event time."""
        return at.astimezone(self._tz).date()

    def book(self, treasury_code: str) -> CashBook:
        found = self.books.get(treasury_code)
        if found is None:
            every = self.rules.forecast
            calibration = Calibration(self._horizon, every.calibration_origins, every.min_calibration)
            found = self.books[treasury_code] = CashBook(treasury_code, calibration)
        return found

    def on_balance(self, statement: TreasuryBalance) -> list[ForecastOut]:
        book, day, at = self.book(statement.treasury_code), self.day(statement.as_of), statement.as_of
        if book.forecast_day == day:
            book.statement(statement.balance, day)
            return []  # a corrected statement the same day: the day's forecast (and score) stand
        book.calibration.observe(day, statement.balance)
        book.statement(statement.balance, day)
        book.forecast_day = day
        refit(book, day, self.rules)
        path = project(book, day, statement.balance, self._horizon, remember=True)
        monthly = book.monthly_outflow(day, self.rules.forecast)
        floor = floor_of(monthly, self.rules)
        out: list[ForecastOut] = [_forecast(book.code, path, monthly, floor)]
        out += balance_signals(book, statement.balance, monthly, at, self.rules)
        out += path_signals(book, path, floor, at, self.rules)
        out += spike_signal(book, day, at, self.rules)
        return out

    def on_flow(self, flow: TreasuryFlow) -> list[ForecastOut]:
        book = self.book(flow.treasury_code)
        changed = book.flow(flow)
        as_of, position = book.forecast_day, book.position
        if not (changed and flow.scheduled) or as_of is None or position is None:
            return []
        if not as_of < flow.value_date <= as_of + timedelta(days=self._horizon):
            return []
        # A new plan inside the horizon: the forecast rules see it now, not at tomorrow's statement.
        path = project(book, as_of, position, self._horizon, remember=False)
        floor = floor_of(book.monthly_outflow(as_of, self.rules.forecast), self.rules)
        return list(path_signals(book, path, floor, flow.recorded_at, self.rules))

    # --- the payment side: the validation agent tells its CashGuard (see CashGuard) -----------

    def decided(self, payment: Payment, treasury_code: str, outcome: Outcome, cash_hold: bool) -> None:
        book = self.book(treasury_code)
        if outcome == "accepted":
            book.promise(payment.payment_id, payment.amount, self.rules.is_sanbao(payment.economic_code))
        elif outcome == "held" and cash_hold:
            book.held[payment.payment_id] = payment.amount  # waits for cash, in arrival order

    def moved(self, payment_id: str, treasury_code: str, amount_fen: int, before: PaymentStatus,
              after: PaymentStatus, at: datetime) -> None:
        book = self.book(treasury_code)
        if before == "held":
            book.held.pop(payment_id, None)
            if after == "accepted" and payment_id not in book.pending:  # released (by cash, or by an operator)
                book.promise(payment_id, amount_fen, False)
        elif before == "accepted":
            book.unpromise(payment_id)
            if after == "settled":
                book.settled(amount_fen, self.day(at))
        elif before == "settled" and after == "returned":
            book.returned_after_settlement(amount_fen, self.day(at))

    def forget(self, treasury_code: str, payment_id: str) -> None:
        """A released id the validation agent did not hold after all: no cash promised for it."""
        self.book(treasury_code).unpromise(payment_id)

    def releasable(self, treasury_code: str, at: datetime) -> list[str]:
        """Held payments cash now allows, in arrival order (already counted as accepted)."""
        book = self.books.get(treasury_code)
        if book is None or not book.held:
            return []
        return releasable(book, self.day(at), self.rules)

    def waiting(self) -> list[str]:
        """Treasuries with payments held for cash."""
        return [code for code, book in self.books.items() if book.held]

    # --- CashGuard (agents/validation/agent.py) ---------------------------------------------

    def check(self, payment: Payment, treasury_code: str, sanbao: bool) -> Finding | None:
        if sanbao:
            return None
        book = self.books.get(treasury_code)
        if book is None:
            return None
        return s001(book, payment.amount, self.day(payment.requested_at), self.rules)


def _forecast(code: str, path: Path, monthly: Fraction | None, floor: int | None) -> Forecast:
    """The wire forecast; the coverage ratio (库款保障水平) is rounded to 4 decimals only here."""
    ratio = None
    if monthly is not None and monthly > 0:
        # balance / monthly as one correctly rounded integer division: the same float as
        # float(Fraction(balance) / monthly), without normalising a Fraction first.
        ratio = round(path.balance * monthly.denominator / monthly.numerator, 4)
    breach = None if floor is None else next((d for d, v in zip(path.days, path.p50, strict=True) if v < floor), None)
    points = forecast_points(path.days, path.p10, path.p50, path.p90)
    return trusted(Forecast, treasury_code=code, as_of=path.as_of, coverage_ratio=ratio, points=points,
                   breach_date=breach)
