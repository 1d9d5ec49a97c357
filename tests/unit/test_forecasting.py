"""The forecaster: daily 30-day forecasts in whole fen, known flows exactly, the calendar learned,
the coverage ratio's arithmetic, calibration, determinism."""

from datetime import date, timedelta
from fractions import Fraction

import pytest

from agents.config import RulesConfig
from agents.forecasting.agent import ForecastingAgent
from agents.forecasting.calibration import percentile
from agents.forecasting.profile import day_of_month_class, fit_series, season
from models.base import trusted
from models.outputs import Forecast
from tests.unit.cash_history_helpers import day_of, feed_day, feed_history, forecast, plan
from tests.unit.conftest import make_balance, make_flow


@pytest.fixture
def agent(rules: RulesConfig) -> ForecastingAgent:
    return ForecastingAgent(rules)


def test_a_forecast_has_thirty_ordered_days_in_whole_fen(agent: ForecastingAgent) -> None:
    f = forecast(feed_history(agent, 3))
    assert f.treasury_code == "150100" and f.as_of == day_of(2)
    assert [p.date for p in f.points] == [day_of(2) + timedelta(days=h) for h in range(1, 31)]
    assert all(type(p.p50) is int and p.p10 <= p.p50 <= p.p90 for p in f.points)
    assert f == Forecast.model_validate(f.model_dump())  # `trusted` built a valid model


def test_one_forecast_per_treasury_per_day(agent: ForecastingAgent) -> None:
    feed_history(agent, 3)
    again = agent.on_balance(make_balance(balance="14000.00", as_of=f"{day_of(2)}T18:30:00+08:00"))
    assert again == []  # a corrected statement the same day: the day's forecast stands
    other = agent.on_balance(make_balance(treasury_code="150200", as_of=f"{day_of(2)}T18:30:00+08:00"))
    assert forecast(other).treasury_code == "150200"


def test_known_scheduled_flows_move_the_forecast_exactly(agent: ForecastingAgent) -> None:
    feed_history(agent, 40)
    plan(agent, 39, 43, "transfer_in", "2500.00")
    plan(agent, 39, 45, "other_out", "700.00", sanbao=True)
    f = forecast(feed_day(agent, 40, "15000.00"))
    by_day = {p.date: p.p50 for p in f.points}
    assert by_day[day_of(42)] == 1_500_000
    assert by_day[day_of(43)] == by_day[day_of(44)] == 1_750_000
    assert by_day[day_of(45)] == 1_680_000


def test_accepted_unsettled_payments_are_counted_on_day_one(agent: ForecastingAgent) -> None:
    feed_history(agent, 40)
    agent.book("150100").promise("PAY-9", 30_000, False)
    f = forecast(feed_day(agent, 40, "15000.00"))
    assert f.points[0].p50 == 1_470_000 and f.points[-1].p50 == 1_470_000


def test_coverage_ratio_is_balance_over_mean_monthly_outflow(agent: ForecastingAgent) -> None:
    f = forecast(feed_history(agent, 40, balance="15208.33"))
    book = agent.books["150100"]
    assert book.monthly_outflow(day_of(39), agent.rules.forecast) == Fraction(100_000 * 365, 12)
    assert f.coverage_ratio == round(1_520_833 / (100_000 * 365 / 12), 4) == 0.5


def test_coverage_ratio_needs_thirty_days_of_history(agent: ForecastingAgent) -> None:
    assert forecast(feed_history(agent, 29)).coverage_ratio is None
    assert forecast(feed_day(agent, 29, "15000.00")).coverage_ratio is not None


def test_coverage_ratio_uses_the_history_there_is(agent: ForecastingAgent) -> None:
    # 60 days, outflows 2000.00 for the first 30 and 1000.00 after: mean 1500.00 a day.
    for n in range(60):
        out = feed_day(agent, n, "15000.00", inflow=None, outflow="2000.00" if n < 30 else "1000.00")
    assert forecast(out).coverage_ratio == round(1_500_000 / (150_000 * 365 / 12), 4)


def test_coverage_window_slides_after_twelve_months(agent: ForecastingAgent) -> None:
    # 400 days; the first 35 spend 5000.00 a day, then 1000.00: only the last 365 days count.
    for n in range(400):
        out = feed_day(agent, n, "15000.00", inflow=None, outflow="5000.00" if n < 35 else "1000.00")
    assert agent.books["150100"].monthly_outflow(day_of(399), agent.rules.forecast) == Fraction(100_000 * 365, 12)
    assert forecast(out).coverage_ratio == round(1_500_000 / (100_000 * 365 / 12), 4)


def test_planned_flows_and_settled_payments_count_as_outflow(agent: ForecastingAgent) -> None:
    feed_history(agent, 35, inflow=None, outflow=None)
    plan(agent, 34, 35, "debt_service", "3650.00", flow_id="ZW")
    agent.on_flow(plan_actual := make_flow(
        flow_id="ZW", kind="debt_service", amount="3650.00", value_date=day_of(35).isoformat(),
        recorded_at=f"{day_of(35)}T09:00:00+08:00"))
    assert plan_actual.flow_id not in agent.books["150100"].plans
    agent.book("150100").promise("PAY-1", 365_000, False)
    agent.moved("PAY-1", "150100", 365_000, "accepted", "settled", plan_actual.recorded_at)
    f = forecast(agent.on_balance(make_balance(as_of=f"{day_of(35)}T17:30:00+08:00")))
    # 730000 fen out over a 36-day window: 730000 x 365 / (12 x 36) a month.
    assert f.coverage_ratio == round(1_000_000 / (730_000 * 365 / (12 * 36)), 4)


def test_the_calendar_classes() -> None:
    assert day_of_month_class(date(2022, 2, 28)) == 31 and day_of_month_class(date(2022, 2, 26)) == 29
    assert day_of_month_class(date(2022, 1, 29)) == 29 and day_of_month_class(date(2022, 1, 15)) == 15
    assert [season(date(2022, m, d)) for m, d in ((11, 30), (12, 1), (12, 19), (12, 20), (12, 31))] == [0, 1, 1, 2, 2]


def test_the_model_learns_weekends_tax_days_and_month_end() -> None:
    days = [date(2021, 1, 1) + timedelta(days=i) for i in range(365)]
    tax = [0.0 if d.weekday() >= 5 else (300.0 if 10 <= d.day <= 15 else 100.0) for d in days]
    spend = [0.0 if d.weekday() >= 5 else (250.0 if day_of_month_class(d) >= 29 else 100.0) for d in days]
    inflow, outflow = fit_series(days, tax, 112), fit_series(days, spend, 112)
    assert inflow.expect(date(2022, 1, 8)) < 1 and inflow.expect(date(2022, 1, 9)) < 1  # a weekend
    monday, tax_day = inflow.expect(date(2022, 1, 3)), inflow.expect(date(2022, 1, 12))
    assert monday == pytest.approx(100, rel=0.05) and tax_day == pytest.approx(300, rel=0.05)
    assert outflow.expect(date(2022, 1, 31)) == pytest.approx(250, rel=0.05)


def test_percentiles_interpolate() -> None:
    assert percentile([0.0, 10.0], 0.5) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.1) == pytest.approx(1.4)
    assert percentile([7.0], 0.9) == 7.0


def test_bands_come_from_the_forecasters_own_residuals(agent: ForecastingAgent) -> None:
    # Statements alternate 15000 and 15100 around a flat flow history: the model cannot know the
    # wobble, so after calibration the P10-P90 band spans it at odd horizons (an odd number of
    # days away the balance is on the other side) and is exact at even ones.
    for n in range(80):
        out = feed_day(agent, n, "15000.00" if n % 2 else "15100.00")
    f = forecast(out)
    widths = [p.p90 - p.p10 for p in f.points]
    assert widths[0::2] == [20_000] * 15 and widths[1::2] == [0] * 15
    assert all(p.p10 <= p.p50 <= p.p90 for p in f.points)


def test_replaying_the_same_history_gives_identical_forecasts(rules: RulesConfig) -> None:
    runs = []
    for _ in range(2):
        agent = ForecastingAgent(rules)
        out = []
        for n in range(50):
            out += feed_day(agent, n, f"{15000 + (n * 37) % 500}.00", outflow=f"{900 + (n * 53) % 200}.00")
        runs.append([o for o in out if isinstance(o, Forecast)])
    assert runs[0] == runs[1] and len(runs[0]) == 50


def test_trusted_forecast_equals_a_validated_copy(agent: ForecastingAgent) -> None:
    f = forecast(feed_history(agent, 40))
    rebuilt = trusted(Forecast, **dict(f))
    assert Forecast.model_validate_json(f.model_dump_json()) == rebuilt


def test_calibration_scores_paths_and_weighs_the_model_part_by_how_it_did() -> None:
    from agents.forecasting.calibration import Calibration

    calibration = Calibration(horizon=2, keep=50, needed=5)
    calibration.remember(date(2022, 1, 1), [1000.0, 1000.0], [100.0, 250.0])
    calibration.observe(date(2022, 1, 3), 1200)
    assert calibration.window(2) == [(200.0, 250.0)]  # actual - known path, model part
    for _ in range(10):
        # Horizon 1: the balance moved exactly as the model said. Horizon 2: not at all.
        calibration.add(1, 100.0, 100.0)
        calibration.add(2, 0.0, 100.0)
    calibration.recalibrate(0.0)
    assert calibration.weights[1:] == [1.0, 0.0]
    assert calibration.bands[1] == (0.0, 0.0, 0.0)


def test_a_second_statement_the_same_day_is_not_scored_twice(agent: ForecastingAgent) -> None:
    feed_history(agent, 5)
    calibration = agent.books["150100"].calibration
    before = calibration.window(1)
    agent.on_balance(make_balance(balance="15500.00", as_of=f"{day_of(4)}T18:30:00+08:00"))
    assert calibration.window(1) == before and before
    assert agent.books["150100"].position == 1_550_000  # but the position follows it


def test_a_calibration_window_keeps_the_last_scored_forecasts_in_order() -> None:
    from agents.forecasting.calibration import Calibration

    calibration = Calibration(horizon=1, keep=10, needed=5)
    for n in range(35):  # past 2 x keep: the arrays are trimmed, the window is unchanged
        calibration.add(1, float(n), float(-n))
    assert calibration.window(1) == [(float(n), float(-n)) for n in range(25, 35)]
    assert len(calibration.scored[1]) <= 20 and calibration.calibrated()
    assert not Calibration(horizon=1, keep=10, needed=11).calibrated()


def test_recalibrating_sums_errors_in_window_order_like_a_plain_loop() -> None:
    # The weight is chosen on float sums, so they must be the same sums, in the same order, as
    # the straightforward loop (replays stay byte-identical across versions).
    import random

    from agents.forecasting.calibration import _WEIGHTS, Calibration

    rng = random.Random(5)
    calibration = Calibration(horizon=3, keep=40, needed=20)
    for _ in range(90):
        for h in (1, 2, 3):
            calibration.add(h, rng.uniform(-1e9, 1e9) + 0.1, rng.uniform(-1e9, 1e9) / 3)
    calibration.recalibrate(1.0)
    for h in (1, 2, 3):
        window = calibration.window(h)
        weight = min(_WEIGHTS, key=lambda w: (sum(abs(r - w * m) for r, m in window), -w))
        ordered = sorted(r - weight * m for r, m in window)
        assert calibration.weights[h] == weight
        assert calibration.bands[h] == (percentile(ordered, 0.1), percentile(ordered, 0.5), percentile(ordered, 0.9))
