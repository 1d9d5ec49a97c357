"""Acceptance on a generated two-year treasury history (weekday, tax-day and month-end patterns,
scheduled payroll, transfers and debt service): the P50 beats the naive forecast by a wide
margin, the P10-P90 band holds 70-90 % of outcomes, and a scheduled debt service that breaks
the floor is warned of (R002) at least 7 days ahead, with R006."""

from datetime import date

import pytest

from agents.config import RulesConfig
from agents.forecasting.agent import ForecastingAgent
from agents.forecasting.backtest import Backtest, summary
from alerts.signals import AlertSignal
from models.codec import decode_line
from models.inputs import TreasuryBalance
from models.outputs import Forecast
from stream.demo.cash_history import cash_history

BREAK = date(2022, 3, 16)


def _run(rules: RulesConfig, lines: list[bytes]) -> tuple[Backtest, list[AlertSignal]]:
    agent, scoring, signals = ForecastingAgent(rules), Backtest(rules.cash.horizon_days), []
    for raw in lines:
        event = decode_line(raw)
        if isinstance(event, TreasuryBalance):
            scoring.statement(event.treasury_code, agent.day(event.as_of), event.balance)
            out = agent.on_balance(event)
        else:
            out = agent.on_flow(event)  # type: ignore[arg-type]
        for item in out:
            if isinstance(item, Forecast):
                scoring.forecast(item)
            else:
                signals.append(item)
    return scoring, signals


@pytest.mark.parametrize("seed", [1, 2])
def test_p50_beats_naive_and_the_band_is_calibrated(rules: RulesConfig, seed: int) -> None:
    scoring, _ = _run(rules, cash_history(seed=seed))
    scores = scoring.scores()
    assert [s.horizon for s in scores] == list(range(1, 31))
    model, naive, inside = summary(scores)
    assert model <= 0.7 * naive
    assert 0.70 <= inside <= 0.90


def test_a_debt_service_breaking_the_floor_is_warned_of_ahead(rules: RulesConfig) -> None:
    _, signals = _run(rules, cash_history(seed=1, break_on=BREAK))
    warned = [s for s in signals if s.code == "R002" and s.active and s.evidence["date"] == BREAK.isoformat()
              and s.evidence["quantile"] == "p50"]
    assert warned, "no R002 for the debt service"
    first = warned[0]
    assert (BREAK - first.at.date()).days >= 7
    assert first.severity == "warning" and first.evidence["shortfall"] != "0.00"
    r006 = [s for s in signals if s.code == "R006" and s.active and s.evidence["date"] == BREAK.isoformat()]
    assert r006 and (BREAK - r006[0].at.date()).days >= 7
    assert r006[0].evidence["debt_service"] == "300000000.00"
    # Without the extra debt service, nothing was predicted for that day.
    _, calm = _run(rules, cash_history(seed=1))
    assert not [s for s in calm if s.code in ("R002", "R006") and s.active and s.evidence["date"] == BREAK.isoformat()]
