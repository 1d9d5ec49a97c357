"""The engine's Prometheus metrics (DESIGN §5), fed by either runtime from events in and outputs out.

One `EngineMetrics` per process, registered in prometheus_client's default registry (the faust
worker's `/metrics` serves that registry; the demo's server does too), or in a private registry
in tests. It only observes: the engine's decisions never depend on it. Money becomes a float
here and only here, for display: a gauge's value is a float by Prometheus' own contract.
"""

import contextlib
import math
from collections.abc import Iterable
from typing import Any, Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.registry import REGISTRY

from models.base import WireModel
from models.codec import INPUT_TYPES
from models.errors import InvalidInput
from models.inputs import InputEvent, Payment, TreasuryBalance
from models.outputs import Alert, DeadLetter, Decision, Forecast

PREFIX: Final = "treasury"
# Which agent an input type goes to (stream/engine.py routes) and which agent an output comes from.
AGENT_OF_INPUT: Final = {
    "payment": "validation", "settlement": "validation", "indicator": "validation", "project": "validation",
    "payee_block": "validation", "treasury_balance": "forecasting", "treasury_flow": "forecasting",
    "clock": "forecasting",
}
_NAME_OF_INPUT: Final[dict[type, str]] = {model: name for name, model in INPUT_TYPES.items()}
# Wall seconds the engine takes for one event: tens of microseconds normally, a refit is slower.
LATENCY_BUCKETS_S: Final = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
_LIVE: Final = frozenset({"open", "acknowledged"})


def agent_of_alert(code: str) -> str:
    """T-codes come from the tracing agent, R-codes from the forecaster, the rest from validation."""
    return {"T": "tracing", "R": "forecasting"}.get(code[:1], "validation")


class EngineMetrics:
    """Counters, gauges and the latency histogram of one engine process."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        reg = REGISTRY if registry is None else registry
        self.registry = reg
        self.events_in = Counter(f"{PREFIX}_engine_events_in", "Input events handled, by agent and input type",
                                 ["agent", "type"], registry=reg)
        self.events_out = Counter(f"{PREFIX}_engine_events_out", "Outputs emitted, by agent and output type",
                                  ["agent", "type"], registry=reg)
        self.decisions = Counter(f"{PREFIX}_decisions", "Payment decisions (first deliveries), by outcome",
                                 ["outcome"], registry=reg)
        self.reasons = Counter(f"{PREFIX}_decision_reasons", "Reason codes on decisions, by code and outcome",
                               ["code", "outcome"], registry=reg)
        self.latency = Histogram(f"{PREFIX}_decision_latency_seconds",
                                 "Wall time the engine took to decide one payment event",
                                 buckets=LATENCY_BUCKETS_S, registry=reg)
        self.lag = Gauge(f"{PREFIX}_consumer_lag_messages", "Input messages not yet handled, per topic and partition",
                         ["topic", "partition"], registry=reg)
        self.alerts_open = Gauge(f"{PREFIX}_alerts_open", "Alerts open or acknowledged, by code and severity",
                                 ["code", "severity"], registry=reg)
        self.balance = Gauge(f"{PREFIX}_balance_yuan", "Last balance statement of a treasury (yuan)",
                             ["treasury"], registry=reg)
        self.coverage = Gauge(f"{PREFIX}_coverage_ratio",
                              "Coverage ratio (balance / mean monthly outflow) of the latest forecast",
                              ["treasury"], registry=reg)
        self.breach = Gauge(f"{PREFIX}_forecast_breach_horizon_days",
                            "Days from the forecast to its first P50 below the floor (+Inf: none in the horizon)",
                            ["treasury"], registry=reg)
        self.deadletters = Counter(f"{PREFIX}_deadletters", "Dead letters, by error code", ["error_code"],
                                   registry=reg)
        # Kafka runtime only: partition sequence numbers the aligner stopped waiting for.
        self.gaps_skipped = Counter(f"{PREFIX}_align_gaps_skipped",
                                    "Partition sequence numbers given up on by the Kafka aligner, by reason",
                                    ["reason"], registry=reg)
        self.journal_restored_entries = Counter(
            f"{PREFIX}_journal_restored_entries",
            "State entries applied again from the state journal after partitions were assigned (Kafka)",
            registry=reg)
        # alert_id -> (code, severity) of every alert now open or acknowledged, to move the gauge.
        self._live: dict[str, tuple[str, str]] = {}
        # Labelled children cached by key: `labels()` takes a lock and builds a tuple on every call,
        # which tripled the metrics' cost per event (BENCHMARKS.md, "Engine metrics").
        self._in: dict[type, Any] = {}
        self._out: dict[tuple[str, str], Any] = {}
        self._outcome: dict[str, Any] = {}
        self._reason: dict[tuple[str, str], Any] = {}
        self._treasury: dict[str, tuple[Any, Any, Any]] = {}  # balance, coverage, breach

    def observe(self, event: InputEvent | InvalidInput, outputs: Iterable[WireModel], seconds: float) -> None:
        """One input event handled in `seconds` of wall time, with what it put out."""
        kind = type(event)
        child = self._in.get(kind)
        if child is None:
            name = "invalid" if isinstance(event, InvalidInput) else _NAME_OF_INPUT.get(kind, "unknown")
            agent = "deadletter" if name == "invalid" else AGENT_OF_INPUT.get(name, "unknown")
            child = self._in[kind] = self.events_in.labels(agent, name)
        child.inc()
        if kind is Payment:
            self.latency.observe(seconds)
        elif kind is TreasuryBalance:
            self._gauges(event.treasury_code)[0].set(event.balance / 100)  # type: ignore[union-attr]
        if outputs:
            self.outputs(outputs)

    def outputs(self, outputs: Iterable[WireModel]) -> None:
        for model in outputs:
            kind = type(model)
            if kind is Decision:
                self._decision(model)  # type: ignore[arg-type]
            elif kind is Alert:
                self._count_out(agent_of_alert(model.code), "alert")  # type: ignore[attr-defined]
                self.alert(model)  # type: ignore[arg-type]
            elif kind is Forecast:
                self._count_out("forecasting", "forecast")
                self._forecast(model)  # type: ignore[arg-type]
            elif kind is DeadLetter:
                self._count_out("validation", "deadletter")
                self.deadletters.labels(model.error_code).inc()  # type: ignore[attr-defined]

    def _count_out(self, agent: str, kind: str) -> None:
        child = self._out.get((agent, kind))
        if child is None:
            child = self._out[agent, kind] = self.events_out.labels(agent, kind)
        child.inc()

    def _decision(self, decision: Decision) -> None:
        self._count_out("validation", "decision")
        if decision.duplicate_delivery:
            return
        outcome = decision.outcome
        child = self._outcome.get(outcome)
        if child is None:
            child = self._outcome[outcome] = self.decisions.labels(outcome)
        child.inc()
        for reason in decision.reasons:
            key = (reason.code, outcome)
            found = self._reason.get(key)
            if found is None:
                found = self._reason[key] = self.reasons.labels(*key)
            found.inc()

    def alert(self, alert: Alert) -> None:
        """An alert's new state (from the engine, or an operator's action) moves the open gauge."""
        before = self._live.pop(alert.alert_id, None)
        if before is not None:
            self.alerts_open.labels(*before).dec()
        if alert.status in _LIVE:
            now = (alert.code, alert.severity)
            self._live[alert.alert_id] = now
            self.alerts_open.labels(*now).inc()

    def _gauges(self, treasury: str) -> tuple[Any, Any, Any]:
        found = self._treasury.get(treasury)
        if found is None:
            found = self._treasury[treasury] = (self.balance.labels(treasury), self.coverage.labels(treasury),
                                                self.breach.labels(treasury))
        return found

    def _forecast(self, forecast: Forecast) -> None:
        _, coverage, breach = self._gauges(forecast.treasury_code)
        if forecast.coverage_ratio is not None:
            coverage.set(forecast.coverage_ratio)
        breach.set((forecast.breach_date - forecast.as_of).days if forecast.breach_date is not None else math.inf)

    def set_lag(self, topic: str, partition: int, messages: int) -> None:
        self.lag.labels(topic, str(partition)).set(max(messages, 0))

    def journal_restored(self, entries: int) -> None:
        self.journal_restored_entries.inc(entries)

    def forget_lag(self, topic: str, partition: int) -> None:
        """A partition no longer read here: its series goes (a stale lag would add to the new owner's)."""
        with contextlib.suppress(KeyError):
            self.lag.remove(topic, str(partition))

    def gaps_given_up(self, reason: str, numbers: int) -> None:
        """The Kafka aligner stopped waiting for `numbers` missing sequence numbers ("timeout"/"held_limit")."""
        self.gaps_skipped.labels(reason).inc(numbers)
