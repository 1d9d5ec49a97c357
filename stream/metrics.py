"""The engine's Prometheus metrics (DESIGN §5), fed by either runtime from events in and outputs out.

One `EngineMetrics` per process, registered in prometheus_client's default registry (the faust
worker's `/metrics` serves that registry; the demo's server does too), or in a private registry
in tests. It only observes: the engine's decisions never depend on it. Money becomes a float
here and only here, for display: a gauge's value is a float by Prometheus' own contract.
"""

import math
from collections.abc import Iterable
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.registry import REGISTRY

from models.base import WireModel
from models.codec import INPUT_TYPES
from models.errors import InvalidInput
from models.inputs import InputEvent, TreasuryBalance
from models.outputs import Alert, DeadLetter, Decision, Forecast

PREFIX: Final = "treasury"
# Which agent an input type goes to (stream/engine.py routes) and which agent an output comes from.
AGENT_OF_INPUT: Final = {
    "payment": "validation", "settlement": "validation", "indicator": "validation", "project": "validation",
    "payee_block": "validation", "treasury_balance": "forecasting", "treasury_flow": "forecasting",
    "clock": "forecasting",
}
_NAME_OF_INPUT: Final = {model: name for name, model in INPUT_TYPES.items()}
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
        # alert_id -> (code, severity) of every alert now open or acknowledged, to move the gauge.
        self._live: dict[str, tuple[str, str]] = {}

    def observe(self, event: InputEvent | InvalidInput, outputs: Iterable[WireModel], seconds: float) -> None:
        """One input event handled in `seconds` of wall time, with what it put out."""
        if isinstance(event, InvalidInput):
            self.events_in.labels("deadletter", "invalid").inc()
        else:
            name = _NAME_OF_INPUT.get(type(event), "unknown")
            self.events_in.labels(AGENT_OF_INPUT.get(name, "unknown"), name).inc()
            if name == "payment":
                self.latency.observe(seconds)
            elif isinstance(event, TreasuryBalance):
                self.balance.labels(event.treasury_code).set(event.balance / 100)
        self.outputs(outputs)

    def outputs(self, outputs: Iterable[WireModel]) -> None:
        for model in outputs:
            if isinstance(model, Decision):
                self._decision(model)
            elif isinstance(model, Alert):
                self.events_out.labels(agent_of_alert(model.code), "alert").inc()
                self.alert(model)
            elif isinstance(model, Forecast):
                self.events_out.labels("forecasting", "forecast").inc()
                self._forecast(model)
            elif isinstance(model, DeadLetter):
                self.events_out.labels("validation", "deadletter").inc()
                self.deadletters.labels(model.error_code).inc()

    def _decision(self, decision: Decision) -> None:
        self.events_out.labels("validation", "decision").inc()
        if decision.duplicate_delivery:
            return
        self.decisions.labels(decision.outcome).inc()
        for reason in decision.reasons:
            self.reasons.labels(reason.code, decision.outcome).inc()

    def alert(self, alert: Alert) -> None:
        """An alert's new state (from the engine, or an operator's action) moves the open gauge."""
        before = self._live.pop(alert.alert_id, None)
        if before is not None:
            self.alerts_open.labels(*before).dec()
        if alert.status in _LIVE:
            now = (alert.code, alert.severity)
            self._live[alert.alert_id] = now
            self.alerts_open.labels(*now).inc()

    def _forecast(self, forecast: Forecast) -> None:
        treasury = forecast.treasury_code
        if forecast.coverage_ratio is not None:
            self.coverage.labels(treasury).set(forecast.coverage_ratio)
        days = (forecast.breach_date - forecast.as_of).days if forecast.breach_date is not None else math.inf
        self.breach.labels(treasury).set(days)

    def set_lag(self, topic: str, partition: int, messages: int) -> None:
        self.lag.labels(topic, str(partition)).set(max(messages, 0))
