"""How the engine applies an operator command: at its own event time, through the pure agents."""

from collections.abc import Sequence
from datetime import datetime

from models.base import WireModel
from models.outputs import Alert, Decision
from stream.engine import NO_EVENT_TIME, Engine
from stream.operator.port import Actions, Command, OperatorResult
from stream.sinks import Sink


def apply_command(engine: Engine, command: Command, at: datetime | None = None) -> tuple[OperatorResult,
                                                                                        list[WireModel]]:
    """The result and the outputs to write (the alert state, or the decision and what follows it).

    `at`: the event time the action applies at (the Kafka runtime passes its partition's lane
    time); by default the engine's latest event time. Never the wall clock.
    """
    at = at or engine.now or NO_EVENT_TIME
    if command.on_alert:
        return _on_alert(engine, command, at)
    record = engine.validation.payments.get(command.target)
    if record is None:
        return OperatorResult("unknown", f"no payment {command.target}"), []
    if record.status != "held":
        return OperatorResult("conflict", f"payment {command.target} is {record.status}, not held"), []
    if command.action == "release":
        emitted = engine.validation.release(command.target, at)
    else:
        emitted = engine.validation.reject_held(command.target, at)
    out = engine.emit(emitted)  # a release starts the payment's settlement clock (T005)
    decision = next(o for o in out if isinstance(o, Decision) and o.payment_id == command.target)
    return OperatorResult("done", f"payment {command.target} {decision.outcome}", decision), out


def _on_alert(engine: Engine, command: Command, at: datetime) -> tuple[OperatorResult, list[WireModel]]:
    tracked = engine.alerts.alerts.get(command.target)
    if tracked is None:
        return OperatorResult("unknown", f"no alert {command.target}"), []
    if command.action == "acknowledge":
        alert = engine.alerts.acknowledge(command.target, command.actor, at)
    else:
        alert = engine.alerts.resolve(command.target, command.actor, at)
    if alert is None:
        status = tracked.alert.status
        return OperatorResult("conflict", f"alert {command.target} is {status}: cannot {command.action} it"), []
    verb = "acknowledged" if command.action == "acknowledge" else "resolved"
    return OperatorResult("done", f"alert {command.target} {verb}", alert), [alert]


class EngineOperator(Actions):
    """Applies each command at once on an engine and writes its outputs to a sink (tests, tools).

    Only for an engine no other task is driving: the live runtime's `LiveOperator` queues instead.
    """

    def __init__(self, engine: Engine, sink: Sink, published: list[Alert] | None = None) -> None:
        self.engine = engine
        self.sink = sink
        self.published = published

    async def submit(self, command: Command) -> OperatorResult:
        result, out = apply_command(self.engine, command)
        await self.sink.write(out)
        if self.published is not None:
            self.published.extend(o for o in out if isinstance(o, Alert))
        return result


def alerts_in(out: Sequence[WireModel]) -> list[Alert]:
    return [o for o in out if isinstance(o, Alert)]
