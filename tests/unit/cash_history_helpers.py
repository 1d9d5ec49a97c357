"""Builders of small, exact treasury histories for the forecasting tests."""

from datetime import UTC, date, datetime, timedelta

from agents.forecasting.agent import ForecastingAgent, ForecastOut
from alerts.signals import AlertSignal
from models.outputs import Forecast
from tests.unit.conftest import make_balance, make_flow

START = date(2022, 1, 3)  # a Monday


def day_of(n: int) -> date:
    return START + timedelta(days=n)


def feed_day(agent: ForecastingAgent, n: int, balance: str, inflow: str | None = "1000.00",
             outflow: str | None = "1000.00") -> list[ForecastOut]:
    """One day: an unscheduled tax inflow, an unscheduled outflow, then the balance statement."""
    d = day_of(n)
    out: list[ForecastOut] = []
    if inflow is not None:
        out += agent.on_flow(make_flow(flow_id=f"IN{d}", kind="tax_revenue", amount=inflow, value_date=d.isoformat(),
                                       recorded_at=f"{d}T10:00:00+08:00"))
    if outflow is not None:
        out += agent.on_flow(make_flow(flow_id=f"OUT{d}", kind="other_out", amount=outflow,
                                       value_date=d.isoformat(), recorded_at=f"{d}T14:00:00+08:00"))
    return out + agent.on_balance(make_balance(balance=balance, as_of=f"{d}T17:30:00+08:00"))


def feed_history(
    agent: ForecastingAgent, days: int, balance: str = "15000.00", **flows: str | None
) -> list[ForecastOut]:
    """`days` identical days (inflow = outflow = 1000.00 unless told): a flat, exactly known history."""
    out: list[ForecastOut] = []
    for n in range(days):
        out = feed_day(agent, n, balance, **flows)
    return out  # the last day's outputs


def plan(agent: ForecastingAgent, n_recorded: int, n_value: int, kind: str, amount: str, sanbao: bool | None = None,
         flow_id: str | None = None) -> list[ForecastOut]:
    """A scheduled flow announced on day `n_recorded` for day `n_value`."""
    extra = {} if sanbao is None else {"sanbao": sanbao}
    return agent.on_flow(make_flow(
        flow_id=flow_id or f"PLAN{n_value}{kind}", kind=kind, amount=amount, value_date=day_of(n_value).isoformat(),
        scheduled=True, recorded_at=f"{day_of(n_recorded)}T16:00:00+08:00", **extra,
    ))


def signal(out: list[ForecastOut], code: str) -> AlertSignal:
    """The last signal of a code in the outputs; none at all reads as a quiet (inactive) one: a
    condition that was never raised is not cleared again and again."""
    found = [o for o in out if isinstance(o, AlertSignal) and o.code == code]
    if not found:
        return AlertSignal(code, "treasury", "150100", datetime(1970, 1, 1, tzinfo=UTC), active=False)
    return found[-1]


def forecast(out: list[ForecastOut]) -> Forecast:
    found = [o for o in out if isinstance(o, Forecast)]
    if len(found) != 1:
        raise AssertionError(f"expected one forecast, got {len(found)}")
    return found[0]
