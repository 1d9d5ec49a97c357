"""The engine: decodes a message, routes it to the pure agents, returns wire outputs.

Both runtimes call this one code path. It holds the event-time clock (the latest event time
seen); nothing here reads the wall clock, so a replay is byte-for-byte deterministic.
"""

from collections import Counter
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any

from agents.config import RulesConfig
from agents.findings import Refusal
from agents.forecasting.desk import CashDesk, DeskOut
from agents.tracing.chain import build_chains
from agents.tracing.watch import Deadline, TraceWatch
from agents.validation.agent import Emitted, ValidationAgent
from agents.validation.budget import BudgetOut, Credit, Debit, Drawn, Opened, Step, Verdict
from alerts.lifecycle import AlertBook
from alerts.signals import AlertSignal
from models.base import WireModel
from models.codec import DEFAULT_MAX_LINE_BYTES, decode_line, payment_hint
from models.errors import InvalidInput, InvariantViolation
from models.inputs import (
    Clock,
    Indicator,
    InputEvent,
    PayeeBlock,
    Payment,
    Project,
    Settlement,
    TreasuryBalance,
    TreasuryFlow,
)
from models.outputs import Chain, DeadLetter, Decision

# decided_at of a V001 when neither the line nor the stream has given any time yet: fixed, so
# replays stay deterministic, and obviously not a real payment time.
NO_EVENT_TIME = datetime(1970, 1, 1, tzinfo=UTC)
# A dead letter keeps the raw line whole up to this size (the engine's line limit is larger).
MAX_DEADLETTER_RAW_BYTES = 64 * 1024


def event_time(event: InputEvent) -> datetime:
    """The event's own timestamp: what drives the event-time clock."""
    return _TIME_OF[type(event)](event)


_TIME_OF: dict[type[Any], Callable[[Any], datetime]] = {
    Indicator: lambda e: e.issued_at,
    Project: lambda e: e.updated_at,
    Payment: lambda e: e.requested_at,
    Settlement: lambda e: e.settled_at,
    TreasuryBalance: lambda e: e.as_of,
    TreasuryFlow: lambda e: e.recorded_at,
    PayeeBlock: lambda e: e.blocked_at,
    Clock: lambda e: e.now,
}


@dataclass(slots=True)
class Engine:
    """The core agents behind one entry point; state lives in the agents' mappings."""

    rules: RulesConfig
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    validation: ValidationAgent = field(init=False)
    tracing: TraceWatch = field(init=False)
    alerts: AlertBook = field(default_factory=AlertBook)
    now: datetime | None = None
    # Event time per lane (see agents/tracing/watch.py); the Kafka runtime makes each partition a lane.
    lane: Callable[[], str] = field(default=lambda: "")
    _lane_now: dict[str, datetime] = field(default_factory=dict)
    events_by_type: Counter[type] = field(default_factory=Counter)
    _routes: dict[type, Callable[[Any], Sequence[DeskOut]]] = field(init=False)
    # Forecasting and S001: balance statements, flows and clock events go to the cash desk.
    cash: CashDesk = field(init=False)

    # Set by the Kafka runtime: allocation steps go to the partition that owns their indicator
    # instead of running here at once (see agents/validation/budget.py).
    forward: Callable[[Step], None] | None = None

    def __post_init__(self) -> None:
        self.cash = CashDesk(self.rules)
        self.bind(ValidationAgent(self.rules))

    def bind(self, agent: ValidationAgent, deadlines: MutableMapping[str, Deadline] | None = None) -> None:
        """Use this agent (e.g. one whose state mappings are durable tables)."""
        self.validation = agent
        self.tracing = TraceWatch(self.rules.tracing, agent.state.ledger.accounts,
                                  {} if deadlines is None else deadlines, answered=self._answered)
        self._routes = {
            Payment: agent.on_payment,
            Settlement: agent.on_settlement,
            Indicator: self._on_indicator,
            Project: agent.on_project,
            PayeeBlock: agent.on_block,
        }
        self._routes.update(self.cash.routes(agent))

    def _on_indicator(self, indicator: Indicator) -> list[Emitted]:
        if self.forward is None:
            return self.validation.on_indicator(indicator)
        return self._forwarding(self.validation.receive_indicator(indicator))

    def handle_step(self, step: Step, raw: bytes, source: str, offset: int) -> list[WireModel]:
        """An allocation step handed over from another partition (Kafka runtime).

        A step may start a clock (a verdict opens an indicator) on a lane whose event time is
        already past the deadline, and the lane may see no later event: check it now.
        """
        emitted = self._forwarding(self.validation.on_step(step))
        # A verdict releases parked payments and settlements: a settlement among them stops its
        # payment's clock (started just now by the released decision).
        released = [item.payment_id for item in emitted if isinstance(item, Decision)]
        out = self._wire(emitted, raw, source, offset, released, step.at)
        now = self._lane_now.get(self.lane())
        due = self._advance(now) if now is not None else []
        return [*out, *self._wire([*due], raw, source, offset)] if due else out

    def _forwarding(self, items: list[Emitted | BudgetOut]) -> list[Emitted]:
        emitted: list[Emitted] = []
        for item in items:
            if isinstance(item, Debit | Verdict | Credit):
                if self.forward is None:
                    raise InvariantViolation("an allocation step to forward with no forwarder")
                self.forward(item)
            else:
                emitted.append(item)
        return emitted

    def handle_line(self, line: bytes, source: str, offset: int) -> list[WireModel]:
        """Decode and handle one JSON line; invalid input becomes data, never an exception."""
        try:
            event = decode_line(line, self.max_line_bytes)
        except InvalidInput as error:
            return self.invalid(line, source, offset, error)
        return self.handle(event, line, source, offset)

    def handle(self, event: InputEvent, raw: bytes, source: str, offset: int) -> list[WireModel]:
        kind = type(event)
        at = _TIME_OF[kind](event)
        if self.now is None or at > self.now:
            self.now = at
        self.events_by_type[kind] += 1
        due = self._advance(at)  # deadlines passed before this event happened
        route = self._routes.get(kind)
        if route is None:
            return self._wire([*due], raw, source, offset) if due else []
        emitted = route(event)
        if not due and len(emitted) == 1 and type(emitted[0]) is Decision:
            # The common case: one decision. Its payment cannot be settled yet (an early
            # settlement would have come out with it), so no clock to stop.
            out: list[WireModel] = []
            self._decided(emitted[0], out)
            return out
        closing = [event.payment_id] if isinstance(event, Payment | Settlement) else []
        return self._wire([*due, *emitted], raw, source, offset, closing, at)

    def lane_time(self) -> datetime | None:
        """The current lane's event time (the partition's, in the Kafka runtime)."""
        return self._lane_now.get(self.lane())

    def emit(self, emitted: Sequence[DeskOut]) -> list[WireModel]:
        """Outputs of something the engine did outside an event (an operator's action), in order."""
        return self._wire(emitted, b"", "operator", 0)

    def _advance(self, at: datetime) -> list[AlertSignal]:
        lane = self.lane()
        now = self._lane_now.get(lane)
        if now is None or now < at:
            self._lane_now[lane] = now = at
        return self.tracing.advance(lane, now)

    def _answered(self, payment_id: str) -> bool:
        record = self.validation.payments.get(payment_id)
        return record is not None and record.status in ("settled", "returned")

    def _closed(self, payment_id: str, at: datetime) -> list[AlertSignal]:
        """A payment the bank has answered (settled or returned) stops its settlement clock."""
        record = self.validation.payments.get(payment_id)
        if record is None or record.status not in ("settled", "returned"):
            return []
        return [*self.tracing.closed(payment_id, at), *self.tracing.spent(record.indicator_id, at)]

    def chains(self) -> list[Chain]:
        """Every fund chain's current state, by root."""
        state = self.validation.state
        return build_chains(state.roots, state.indicators, state.ledger.accounts, self.validation.payments)

    def invalid(
        self,
        raw: bytes,
        source: str,
        offset: int,
        error: InvalidInput,
        whole: "Whole | None" = None,
        kind: str | None = None,
    ) -> list[WireModel]:
        """A dead letter for the raw message, and a V001 decision when it names a payment.

        `whole` describes the full message when `raw` is only its first bytes (an overlong line).
        """
        self.events_by_type[InvalidInput] += 1
        # An overlong message is not parsed at all, not even for a hint (bounded work per message):
        # from a file only its first bytes are here (`whole`), from Kafka the whole value is.
        overlong = whole is not None or error.code == "line_too_long"
        payment_id, indicator_id, requested_at = (None, None, None) if overlong else payment_hint(raw, kind)
        out: list[WireModel] = [_dead_letter(raw, source, offset, error.code, error.message, payment_id, whole)]
        at = _aware(requested_at) or self.now or NO_EVENT_TIME
        if payment_id is not None:
            out.extend(
                d for d in self.validation.on_malformed_payment(payment_id, indicator_id, error.message, at)
                if isinstance(d, WireModel)
            )
        return out

    def _wire(
        self,
        emitted: Sequence[DeskOut],
        raw: bytes,
        source: str,
        offset: int,
        closing: list[str] | None = None,
        at: datetime | None = None,
    ) -> list[WireModel]:
        """Outputs in order; tracing facts go to the watch. `closing`: payments whose bank answer
        may have come with this event (their settlement clocks stop after they were started)."""
        out: list[WireModel] = []
        reconciled = {s.subject_id for s in emitted if isinstance(s, AlertSignal) and s.code == "T005" and s.active}
        for item in emitted:
            self._one(item, out, reconciled, raw, source, offset)
        for payment_id in closing or ():
            for signal in self._closed(payment_id, at or NO_EVENT_TIME):
                self._one(signal, out, reconciled, raw, source, offset)
        return out

    def _one(self, item: DeskOut, out: list[WireModel], reconciled: set[str], raw: bytes, source: str,
             offset: int) -> None:
        if isinstance(item, Decision):
            self._decided(item, out)
        elif isinstance(item, WireModel):  # forecasts
            out.append(item)
        elif isinstance(item, AlertSignal):
            if item.code == "T005" and not item.active and item.subject_id in reconciled:
                return  # the same settlement raised a new mismatch: the alert stays open
            self._alert([item], out)
        elif isinstance(item, Opened):
            self.tracing.opened(item.indicator, item.direct_fund_code is not None, self.lane())
        elif isinstance(item, Drawn):
            self._alert(self.tracing.drawn(item.indicator_id, item.at), out)
        elif isinstance(item, Refusal):
            out.append(_dead_letter(raw, source, offset, item.error_code, item.message, None, None))

    def _decided(self, decision: Decision, out: list[WireModel]) -> None:
        """A decision out; an accepted one starts its settlement clock (T005) and uses its indicator."""
        out.append(decision)
        if decision.outcome == "accepted" and not decision.duplicate_delivery and decision.indicator_id is not None:
            self._alert(self.tracing.accepted(decision.payment_id, decision.indicator_id, decision.decided_at,
                                              self.lane()), out)

    def _alert(self, signals: list[AlertSignal], out: list[WireModel]) -> None:
        for signal in signals:
            alert = self.alerts.apply(signal)
            if alert is not None:
                out.append(alert)


def _aware(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


@dataclass(frozen=True, slots=True)
class Whole:
    """Size and digest of a message of which only a prefix was read."""

    total_bytes: int
    sha256: str


def _dead_letter(
    raw: bytes, source: str, offset: int, code: str, message: str, payment_id: str | None, whole: Whole | None
) -> DeadLetter:
    kept = raw[:MAX_DEADLETTER_RAW_BYTES]
    total = len(raw) if whole is None else whole.total_bytes
    return DeadLetter.model_construct(
        source=source,
        offset=offset,
        error_code=code,
        error=message,
        payment_id=payment_id,
        raw=kept.decode("utf-8", errors="replace").rstrip("\r\n"),
        raw_bytes=total,
        raw_truncated=len(kept) < total,
        raw_sha256=sha256(raw).hexdigest() if whole is None else whole.sha256,
    )
