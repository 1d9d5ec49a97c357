"""R001-R007: each cash-risk code fires on its condition, names the date and shortfall, and is quiet
(a clearing signal) otherwise. History: 40 flat days of 1000.00 in and out, so the mean monthly
outflow is 100000 x 365 / 12 fen and the floor 10 % of it: 3041.66."""

from datetime import datetime, timedelta, timezone

import pytest

from agents.config import RulesConfig
from agents.forecasting.agent import ForecastingAgent
from agents.forecasting.book import CashBook
from agents.forecasting.calibration import Calibration
from agents.forecasting.forecaster import Path
from agents.forecasting.risk import path_signals
from tests.unit.cash_history_helpers import day_of, feed_day, feed_history, plan, signal

FLOOR = "3041.66"
LAST = 39  # the history's last day


@pytest.fixture
def agent(rules: RulesConfig) -> ForecastingAgent:
    return ForecastingAgent(rules)


def test_r001_fires_below_the_floor_naming_the_shortfall(agent: ForecastingAgent) -> None:
    r001 = signal(feed_history(agent, 40, balance="2000.00"), "R001")
    assert r001.active and (r001.subject_kind, r001.subject_id) == ("treasury", "150100")
    assert r001.evidence["balance"] == "2000.00" and r001.evidence["floor"] == FLOOR
    assert r001.evidence["shortfall"] == "1041.66"


def test_r001_quiet_above_the_floor(agent: ForecastingAgent) -> None:
    assert not signal(feed_history(agent, 40, balance="3041.67"), "R001").active


def test_r003_fires_when_coverage_is_below_0_3(agent: ForecastingAgent) -> None:
    r003 = signal(feed_history(agent, 40, balance="9000.00"), "R003")
    assert r003.active and r003.evidence["coverage_ratio"] == "0.2959" and r003.evidence["threshold"] == "0.3000"


def test_r003_and_r004_quiet_in_between(agent: ForecastingAgent) -> None:
    out = feed_history(agent, 40, balance="15000.00")
    assert not signal(out, "R003").active and not signal(out, "R004").active


def test_r004_fires_on_idle_cash(agent: ForecastingAgent) -> None:
    r004 = signal(feed_history(agent, 40, balance="25000.00"), "R004")
    assert r004.active and r004.evidence["coverage_ratio"] == "0.8219"


def test_r002_fires_on_a_scheduled_breach_naming_date_value_and_shortfall(agent: ForecastingAgent) -> None:
    feed_history(agent, 40)
    out = plan(agent, LAST, LAST + 10, "debt_service", "14000.00")
    r002 = signal(out, "R002")
    assert r002.active and r002.severity == "warning"
    assert r002.evidence["date"] == day_of(LAST + 10).isoformat() and r002.evidence["quantile"] == "p50"
    assert r002.evidence["value"] == "1000.00" and r002.evidence["floor"] == FLOOR
    assert r002.evidence["shortfall"] == "2041.66" and r002.evidence["days_ahead"] == 10
    assert not signal(out, "R006").active  # the balance still covers that day's debt service


def test_r002_quiet_without_a_breach(agent: ForecastingAgent) -> None:
    out = feed_history(agent, 40)
    assert not signal(out, "R002").active
    assert not signal(plan(agent, LAST, LAST + 10, "debt_service", "10000.00"), "R002").active


def test_r002_comes_the_day_a_breach_enters_the_horizon(agent: ForecastingAgent) -> None:
    feed_history(agent, 40)
    assert plan(agent, LAST, LAST + 45, "debt_service", "14000.00") == []  # outside the 30-day horizon
    for n in range(LAST + 1, LAST + 16):
        r002 = signal(feed_day(agent, n, "15000.00"), "R002")
        assert r002.active == (n + 30 >= LAST + 45)
        if r002.active:
            assert r002.evidence["days_ahead"] == 30 and n == LAST + 15
    assert r002.active


def test_r002_is_info_when_only_the_p10_breaches(rules: RulesConfig) -> None:
    book = CashBook("150100", Calibration(30, 120, 20))
    as_of = day_of(0)
    days = tuple(as_of + timedelta(days=h) for h in range(1, 31))
    p10 = [200_000 if h == 7 else 400_000 for h in range(1, 31)]
    path = Path(as_of, 500_000, days, p10, [500_000] * 30, [600_000] * 30, {}, {})
    at = datetime(2022, 1, 3, 17, 30, tzinfo=timezone(timedelta(hours=8)))
    r002 = signal(list(path_signals(book, path, 304_166, at, rules)), "R002")
    assert r002.active and r002.severity == "info" and r002.evidence["quantile"] == "p10"
    assert r002.evidence["date"] == (as_of + timedelta(days=7)).isoformat()
    assert r002.evidence["shortfall"] == "1041.66"


def test_r005_fires_when_cash_does_not_cover_the_sanbao_due(agent: ForecastingAgent) -> None:
    feed_history(agent, 40)
    r005 = signal(plan(agent, LAST, LAST + 5, "other_out", "16000.00", sanbao=True), "R005")
    assert r005.active and r005.evidence["date"] == day_of(LAST).isoformat()
    assert r005.evidence["value"] == "15000.00" and r005.evidence["sanbao_due"] == "16000.00"
    assert r005.evidence["shortfall"] == "1000.00" and r005.evidence["horizon_days"] == 30


def test_r005_quiet_when_cash_covers_the_sanbao_due(agent: ForecastingAgent) -> None:
    feed_history(agent, 40)
    assert not signal(plan(agent, LAST, LAST + 5, "other_out", "10000.00", sanbao=True), "R005").active


def test_r006_fires_when_the_debt_service_day_is_not_covered(agent: ForecastingAgent) -> None:
    feed_history(agent, 40)
    r006 = signal(plan(agent, LAST, LAST + 10, "debt_service", "16000.00"), "R006")
    assert r006.active and r006.evidence["date"] == day_of(LAST + 10).isoformat()
    assert r006.evidence["value"] == "15000.00" and r006.evidence["debt_service"] == "16000.00"
    assert r006.evidence["shortfall"] == "1000.00"


def test_r006_quiet_without_debt_service(agent: ForecastingAgent) -> None:
    out = feed_history(agent, 40)
    assert not signal(out, "R006").active


def _spiky_history(agent: ForecastingAgent) -> None:
    for n in range(40):  # outflows alternate 900 / 1100: mean 1000, sigma 100, limit 1400
        feed_day(agent, n, "15000.00", outflow="900.00" if n % 2 else "1100.00")


def test_r007_fires_on_an_outflow_spike(agent: ForecastingAgent) -> None:
    _spiky_history(agent)
    r007 = signal(feed_day(agent, 40, "15000.00", outflow="1500.00"), "R007")
    assert r007.active and r007.evidence["date"] == day_of(40).isoformat()
    assert r007.evidence["outflow"] == "1500.00" and r007.evidence["mean"] == "1000.00"
    assert r007.evidence["threshold"] == "1400.00" and r007.evidence["sigmas"] == 4


def test_r007_quiet_within_four_sigma(agent: ForecastingAgent) -> None:
    _spiky_history(agent)
    assert not signal(feed_day(agent, 40, "15000.00", outflow="1390.00"), "R007").active


def test_no_floor_rules_before_thirty_days_of_history(agent: ForecastingAgent) -> None:
    out = feed_history(agent, 20, balance="100.00")
    assert not [o for o in out if getattr(o, "code", "") in ("R001", "R002", "R003", "R004", "R007")]


def test_a_raised_condition_is_cleared_once_so_its_alert_resolves(agent: ForecastingAgent) -> None:
    raised = signal(feed_history(agent, 40, balance="2000.00"), "R001")
    cleared = [o for o in feed_day(agent, 40, "15000.00") if getattr(o, "code", "") == "R001"]
    assert raised.active and len(cleared) == 1 and not cleared[0].active
    assert [o for o in feed_day(agent, 41, "15000.00") if getattr(o, "code", "") == "R001"] == []
