"""The Operator port: an operator's action in, the resulting state or a clear refusal out.

The engine owns the ledgers and the alert books, so an action is a command applied *by the
engine*, between two events, at the engine's event time (a replay stays deterministic: the
wall-clock time of the request is only in the audit row). Implementations: `apply.EngineOperator`
(applies at once on an engine: tests, tools) and `live.LiveOperator` (commands into the running
embedded engine task); see ARCHITECTURE.md, "Operator actions", for the Kafka side.
"""

from dataclasses import dataclass
from typing import Literal, Protocol

from models.outputs import Alert, Decision

Action = Literal["acknowledge", "resolve", "release", "reject"]
# done: applied; unknown: no such alert/payment; conflict: not in a state the action applies to
# (an alert already resolved, a payment not held); pending: not applied within the wait (it will
# be, in order: poll the resource); unavailable: the engine is not running.
ResultStatus = Literal["done", "unknown", "conflict", "pending", "unavailable"]


@dataclass(frozen=True, slots=True)
class Command:
    """One operator action on one alert (acknowledge, resolve) or held payment (release, reject)."""

    action: Action
    target: str
    actor: str

    @property
    def on_alert(self) -> bool:
        return self.action in ("acknowledge", "resolve")


@dataclass(frozen=True, slots=True)
class OperatorResult:
    """What became of a command: the new alert or decision, or why nothing changed."""

    status: ResultStatus
    message: str
    state: Alert | Decision | None = None


class Operator(Protocol):
    """Carries operator actions to the engine; each returns once applied, refused, or timed out."""

    async def submit(self, command: Command) -> OperatorResult: ...

    async def acknowledge(self, alert_id: str, actor: str) -> OperatorResult: ...

    async def resolve(self, alert_id: str, actor: str) -> OperatorResult: ...

    async def release(self, payment_id: str, actor: str) -> OperatorResult: ...

    async def reject(self, payment_id: str, actor: str) -> OperatorResult: ...


class Actions:
    """The four named actions over `submit` (mixed into each implementation)."""

    async def submit(self, command: Command) -> OperatorResult:
        raise NotImplementedError

    async def acknowledge(self, alert_id: str, actor: str) -> OperatorResult:
        return await self.submit(Command("acknowledge", alert_id, actor))

    async def resolve(self, alert_id: str, actor: str) -> OperatorResult:
        return await self.submit(Command("resolve", alert_id, actor))

    async def release(self, payment_id: str, actor: str) -> OperatorResult:
        return await self.submit(Command("release", payment_id, actor))

    async def reject(self, payment_id: str, actor: str) -> OperatorResult:
        return await self.submit(Command("reject", payment_id, actor))
