"""The embedded runtime with forecasting: balances, flows and clock events reach the forecaster,
settled payments are its outflows, forecasts are written deterministically, and `treasury
backtest` scores a file."""

from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from agents.config import RulesConfig
from models.codec import encode
from models.outputs import Alert, Decision, Forecast
from stream.cli import main
from stream.demo.cash_history import cash_history
from stream.demo.generator import scenario
from stream.engine import Engine
from tests.unit.conftest import indicator_data, line, payment_data, project_data, settlement_data


def _replay(rules: RulesConfig, lines: list[bytes]) -> list[bytes]:
    engine = Engine(rules)
    return [encode(o) for n, raw in enumerate(lines) for o in engine.handle_line(raw.rstrip(b"\n"), "s", n)]


@pytest.fixture(scope="module")
def demo() -> list[bytes]:
    """The generated region's first four months (the lines are in event-time order)."""
    lines = list(scenario(3, 300))
    return lines[: len(lines) // 3]


def test_the_demo_region_gets_daily_forecasts_and_no_cash_holds(rules: RulesConfig, demo: list[bytes]) -> None:
    engine = Engine(rules)
    out = [o for n, raw in enumerate(demo) for o in engine.handle_line(raw.rstrip(b"\n"), "s", n)]
    forecasts = [o for o in out if isinstance(o, Forecast)]
    balances = sum(1 for raw in demo if raw.startswith(b'{"type":"treasury_balance"'))
    assert balances - 5 <= len(forecasts) <= balances  # one per treasury and day (a bad line or two aside)
    assert len({(f.treasury_code, f.as_of) for f in forecasts}) == len(forecasts)
    assert all(len(f.points) == 30 for f in forecasts)
    # The generated region keeps its cash: no S001, so decisions match the Kafka runtime's.
    assert not [r for d in out if isinstance(d, Decision) for r in d.reasons if r.code == "S001"]
    cash_alerts = [a for a in out if isinstance(a, Alert) and a.code.startswith("R")]
    assert all(a.subject.kind == "treasury" for a in cash_alerts)


def test_replaying_twice_gives_identical_bytes(rules: RulesConfig, demo: list[bytes]) -> None:
    first, second = _replay(rules, demo), _replay(rules, demo)
    assert first == second
    kinds = Counter(raw.split(b'"', 4)[3] for raw in first)
    assert kinds[b"forecast"] > 0 and kinds[b"decision"] > 0


def test_settled_payments_are_outflows_on_their_settlement_date(rules: RulesConfig) -> None:
    engine = Engine(rules)
    lines = [line("indicator", indicator_data()), line("project", project_data()),
             line("payment", payment_data()), line("settlement", settlement_data())]
    for n, raw in enumerate(lines):
        engine.handle_line(raw, "s", n)
    book = engine.cash.forecasting.books["150100"]
    assert book.days[date(2022, 3, 2)].outflow == 60_000 and book.pending == {}


def test_backtest_prints_every_horizon(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cash.jsonl"
    path.write_bytes(b"".join(cash_history(seed=3, days=200)))
    assert main(["backtest", str(path)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split()[:3] == ["horizon", "outcomes", "P50"]
    assert [int(row.split()[0]) for row in printed[1:31]] == list(range(1, 31))
    assert printed[-1].startswith("mean 1-30")


def test_backtest_of_a_missing_file_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", str(tmp_path / "nope.jsonl")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_generate_writes_the_cash_history_for_backtest(tmp_path: Path) -> None:
    path = tmp_path / "cash.jsonl"
    assert main(["generate", str(path), "--cash-history", "--seed", "2"]) == 0
    assert path.read_bytes() == b"".join(cash_history(seed=2))
