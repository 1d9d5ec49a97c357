"""The demo's paced runtime and the engine metrics: the same outputs as a replay, counted right, paced by event time."""

import asyncio
import itertools
import math
import time
from collections import Counter
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from models.codec import decode_output
from models.outputs import Alert, Decision, Forecast
from stream.api.hub import AlertHub
from stream.cli import _replay
from stream.console.balances import BalancePoint, MemoryBalanceHistory
from stream.demo.generator import scenario as scenario_lines
from stream.demo.live import ObservedRuntime, Pace, feed_paced, line_time
from stream.engine import Engine
from stream.metrics import EngineMetrics
from stream.settings import Settings
from stream.sinks import FileSink, Sink
from stream.store.memory import MemoryStore
from stream.store.tee import TeeSink


def stream_file(path: Path, pace: Pace, stop: asyncio.Event, files: Sink, store: MemoryStore | None = None,
                registry: CollectorRegistry | None = None, balances: MemoryBalanceHistory | None = None,
                stop_after_s: float | None = None) -> ObservedRuntime:
    """Feed a file through the live runtime as the demo does; the chains' final state at the end."""

    async def main() -> ObservedRuntime:
        sink = files if store is None else TeeSink(files, store)
        runtime = ObservedRuntime(Engine(Settings().load_rules()), sink, AlertHub(), store=store, source=path.name,
                                  metrics=EngineMetrics(registry or CollectorRegistry()), balances=balances)
        await files.open()
        task = asyncio.create_task(runtime.run())
        if stop_after_s is not None:
            asyncio.get_running_loop().call_later(stop_after_s, stop.set)
        await feed_paced(runtime, path, pace, stop, 1 << 20)
        runtime.finish()
        await task
        await files.write(list(runtime.engine.chains()))
        await files.close()
        return runtime

    return asyncio.run(main())


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    found = registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


@pytest.fixture(scope="module")
def streamed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CollectorRegistry, MemoryStore,
                                                                MemoryBalanceHistory, Path]:
    """A small region streamed unpaced through LiveRun, and the same file replayed."""
    work = tmp_path_factory.mktemp("live")
    scenario = work / "scenario.jsonl"
    lines = list(scenario_lines(5, 120))
    scenario.write_bytes(b"".join(lines[: len(lines) // 4]))  # the region's first three months
    registry, store, balances = CollectorRegistry(), MemoryStore(), MemoryBalanceHistory()
    stream_file(scenario, Pace(day_s=0), asyncio.Event(), FileSink(work / "live"), store, registry, balances)
    _replay(scenario, work / "replay", Settings(), quiet=True)
    return work, registry, store, balances, scenario


def _outputs(directory: Path, name: str) -> list[bytes]:
    return (directory / name).read_bytes().splitlines()


@pytest.mark.parametrize("name", ["decisions.jsonl", "alerts.jsonl", "forecasts.jsonl", "chains.jsonl",
                                  "deadletters.jsonl"])
def test_streaming_writes_exactly_what_a_replay_writes(streamed: tuple, name: str) -> None:  # type: ignore[type-arg]
    work = streamed[0]
    assert _outputs(work / "live", name) == _outputs(work / "replay", name)
    if name != "deadletters.jsonl":
        assert _outputs(work / "live", name)


def test_the_store_gets_the_outputs_and_every_chain(streamed: tuple) -> None:  # type: ignore[type-arg]
    work, _, store, _, _ = streamed
    decisions = [decode_output(line) for line in _outputs(work / "replay", "decisions.jsonl")]
    effective = {d.payment_id for d in decisions if isinstance(d, Decision)
                 and {r.code for r in d.reasons} != {"V002"}}
    assert set(store.tables["decisions"]) == effective
    chains = _outputs(work / "replay", "chains.jsonl")
    assert len({row["root"] for row in store.tables["chain_nodes"].values()}) == len(chains)


def test_metrics_count_decisions_alerts_and_dead_letters(streamed: tuple) -> None:  # type: ignore[type-arg]
    work, registry, _, _, _ = streamed
    decisions = [decode_output(line) for line in _outputs(work / "replay", "decisions.jsonl")]
    firsts = [d for d in decisions if isinstance(d, Decision) and not d.duplicate_delivery]
    for outcome, count in Counter(d.outcome for d in firsts).items():
        assert _value(registry, "treasury_decisions_total", outcome=outcome) == count
    reasons = Counter((r.code, d.outcome) for d in firsts for r in d.reasons)
    for (code, outcome), count in reasons.items():
        assert _value(registry, "treasury_decision_reasons_total", code=code, outcome=outcome) == count
    payments = _value(registry, "treasury_engine_events_in_total", agent="validation", type="payment")
    assert payments > 0
    assert _value(registry, "treasury_decision_latency_seconds_count") == payments
    letters = len(_outputs(work / "replay", "deadletters.jsonl"))
    assert sum(s.value for m in registry.collect() if m.name == "treasury_deadletters"
               for s in m.samples if s.name.endswith("_total")) == letters

    latest: dict[str, Alert] = {}
    for line in _outputs(work / "replay", "alerts.jsonl"):
        alert = decode_output(line)
        assert isinstance(alert, Alert)
        latest[alert.alert_id] = alert
    live = Counter((a.code, a.severity) for a in latest.values() if a.status != "resolved")
    assert live  # the region's injected anomalies leave alerts open
    for (code, severity), count in live.items():
        assert _value(registry, "treasury_alerts_open", code=code, severity=severity) == count


def test_metrics_follow_each_treasury_balance_and_forecast(streamed: tuple) -> None:  # type: ignore[type-arg]
    work, registry, _, balances, _ = streamed
    forecasts: dict[str, Forecast] = {}
    for line in _outputs(work / "replay", "forecasts.jsonl"):
        forecast = decode_output(line)
        assert isinstance(forecast, Forecast)
        forecasts[forecast.treasury_code] = forecast
    treasuries = balances.treasuries()
    assert len(treasuries) == len(forecasts) > 10
    for code, point in treasuries:
        assert _value(registry, "treasury_balance_yuan", treasury=code) == point.balance_fen / 100
        forecast = forecasts[code]
        if forecast.coverage_ratio is not None:
            assert _value(registry, "treasury_coverage_ratio", treasury=code) == forecast.coverage_ratio
        breach = _value(registry, "treasury_forecast_breach_horizon_days", treasury=code)
        expected = math.inf if forecast.breach_date is None else (forecast.breach_date - forecast.as_of).days
        assert breach == expected
    history = balances.history("150000", 400)
    assert history is not None and len(history) > 30
    assert all(a.day < b.day for a, b in itertools.pairwise(history))
    assert history[-1].floor_fen is not None and history[-1].floor_fen > 0


def test_an_alert_resolved_by_an_operator_leaves_the_open_gauge() -> None:
    registry = CollectorRegistry()
    metrics = EngineMetrics(registry)
    from tests.unit.test_store_memory import BATCHES

    alerts = [m for batch in BATCHES for m in batch if isinstance(m, Alert)]
    assert alerts
    first = alerts[0]
    metrics.alert(first.model_copy(update={"status": "open"}))
    metrics.alert(first.model_copy(update={"status": "acknowledged"}))
    labels = {"code": first.code, "severity": first.severity}
    assert _value(registry, "treasury_alerts_open", **labels) == 1
    metrics.alert(first.model_copy(update={"status": "resolved"}))
    assert _value(registry, "treasury_alerts_open", **labels) == 0


def test_a_revoked_partitions_lag_leaves_the_metrics() -> None:
    registry = CollectorRegistry()
    metrics = EngineMetrics(registry)
    metrics.set_lag("treasury.payment", 3, 120)
    metrics.set_lag("treasury.payment", 4, -1)  # past the cached highwater: never negative
    assert _value(registry, "treasury_consumer_lag_messages", topic="treasury.payment", partition="3") == 120
    assert _value(registry, "treasury_consumer_lag_messages", topic="treasury.payment", partition="4") == 0
    metrics.forget_lag("treasury.payment", 3)
    metrics.forget_lag("treasury.payment", 7)  # never reported: nothing to do
    assert registry.get_sample_value("treasury_consumer_lag_messages",
                                     {"topic": "treasury.payment", "partition": "3"}) is None


def _clock_file(path: Path, days: int) -> Path:
    lines = [f'{{"type":"clock","data":{{"now":"2022-03-{1 + d:02d}T09:00:00+08:00"}}}}\n' for d in range(days)]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def _run_clock(path: Path, pace: Pace, stop: asyncio.Event, stop_after_s: float | None = None) -> int:
    runtime = stream_file(path, pace, stop, FileSink(path.parent / "out"), stop_after_s=stop_after_s)
    return runtime.stats.lines


def test_event_time_is_paced_onto_wall_time(tmp_path: Path) -> None:
    path = _clock_file(tmp_path / "clock.jsonl", 4)  # three event-time days after the first event
    started = time.monotonic()
    assert _run_clock(path, Pace(day_s=0.1), asyncio.Event()) == 4
    assert 0.28 <= time.monotonic() - started < 2.0


def test_stop_ends_a_paced_stream_at_once(tmp_path: Path) -> None:
    path = _clock_file(tmp_path / "clock.jsonl", 20)
    started = time.monotonic()
    lines = _run_clock(path, Pace(day_s=1.0), asyncio.Event(), stop_after_s=0.3)
    assert lines < 20
    assert time.monotonic() - started < 1.5
    assert (tmp_path / "out" / "chains.jsonl").exists()  # closed cleanly, files complete


def test_line_time_reads_each_types_event_time_and_nothing_else() -> None:
    assert line_time(b'{"type":"clock","data":{"now":"2022-03-01T09:00:00+08:00"}}') is not None
    assert line_time(b'{"type":"payment","data":{"requested_at":"2022-03-01T09:00:00+08:00"}}') is not None
    for bad in (b"not json", b'{"type":"clock","data":{}}', b'{"type":"nope","data":{"now":"x"}}',
                b'{"type":"clock","data":{"now":"2022-03-01T09:00:00"}}', b'{"type":"clock","data":{"now":5}}', b"[]"):
        assert line_time(bad) is None, bad


def test_the_balance_history_keeps_each_days_first_statement_and_is_bounded() -> None:
    from datetime import date, timedelta

    history = MemoryBalanceHistory(keep_days=3)
    day = date(2022, 1, 1)
    for n in range(5):
        history.record("150000", BalancePoint(day + timedelta(days=n), 100 + n, None))
        history.record("150000", BalancePoint(day + timedelta(days=n), 999, 1))  # a second statement that day
    points = history.history("150000", 10)
    assert points is not None and [p.balance_fen for p in points] == [102, 103, 104]
    assert history.history("150000", 2) == points[-2:]
    assert history.history("150100", 2) is None
    assert [code for code, _ in history.treasuries()] == ["150000"]
