"""Alert lifecycle: dedup on (code, subject), open -> acknowledged -> resolved, with history.

Pure: signals and operator actions come in with their event time; alert states come out. Each
state says what changed it (`action`) and who (`actor`: "engine" or the operator's name).

What the engine does to an operator's action (ARCHITECTURE.md, "Alert lifecycle"):
- an update of an acknowledged alert keeps it acknowledged (evidence and message updated), unless
  its severity rises: then it is open again (`escalated`), since the operator saw a milder one;
- the condition clearing resolves an open or acknowledged alert (actor "engine");
- an operator's resolve while the condition still holds stands: further signals of the same
  condition change nothing (the operator has dealt with it) until it clears (silently, nothing to
  show) or its severity rises (reopened); after it cleared, a new occurrence reopens the alert.
"""

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import blake2b
from typing import Any, Final

from alerts.catalogue import spec
from alerts.signals import AlertSignal
from models.outputs import Alert, AlertAction, AlertStatus, Message, Subject

Action = AlertAction
ENGINE: Final = "engine"
_RANK: Final = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """Who did what to an alert, and when (append-only)."""

    at: datetime
    action: Action
    actor: str


@dataclass(slots=True)
class Tracked:
    """An alert's current state and how it got there."""

    alert: Alert
    history: list[HistoryEntry] = field(default_factory=list)
    # Resolved by an operator while the condition still held: repeats of it change nothing.
    waived: bool = False


def alert_id(code: str, subject_kind: str, subject_id: str) -> str:
    """Stable for the same condition: the code plus a digest of the subject."""
    digest = blake2b(f"{code}\x1f{subject_kind}\x1f{subject_id}".encode(), digest_size=8).hexdigest()
    return f"{code}-{digest}"


def render(code: str, evidence: dict[str, Any]) -> Message:
    rule = spec(code)
    return Message.model_construct(zh=rule.template_zh.format(**evidence), en=rule.template_en.format(**evidence))


@dataclass(slots=True)
class AlertBook:
    """Every alert by id; one open alert per condition, its evidence updated in place."""

    # May be a durable table: every change is written back (`alerts[key] = tracked`).
    alerts: MutableMapping[str, Tracked] = field(default_factory=dict)

    def apply(self, signal: AlertSignal) -> Alert | None:
        """The alert's new state, or None when the signal changes nothing (storm suppression)."""
        key = alert_id(signal.code, signal.subject_kind, signal.subject_id)
        tracked = self.alerts.get(key)
        if not signal.active:
            return self._clear(tracked, signal.at) if tracked is not None else None
        severity = signal.severity or spec(signal.code).severity
        if tracked is None:
            alert = Alert.model_construct(
                alert_id=key,
                code=signal.code,
                severity=severity,
                subject=Subject.model_construct(kind=signal.subject_kind, id=signal.subject_id),
                message=render(signal.code, signal.evidence),
                evidence=signal.evidence,
                opened_at=signal.at,
                updated_at=signal.at,
                status="open",
                action="opened",
                actor=ENGINE,
            )
            self.alerts[key] = Tracked(alert, [HistoryEntry(signal.at, "opened", ENGINE)])
            return alert
        rises = _RANK[severity] > _RANK[tracked.alert.severity]
        if tracked.alert.status == "resolved":
            if tracked.waived and not rises:
                return None  # the operator resolved this occurrence; it has not cleared since
            tracked.waived = False
            tracked.alert = tracked.alert.model_copy(update={"opened_at": signal.at, "severity": severity})
            return self._move(tracked, "open", "reopened", ENGINE, signal.at, signal.evidence)
        if tracked.alert.evidence == signal.evidence and tracked.alert.severity == severity:
            return None
        if tracked.alert.severity != severity:
            tracked.alert = tracked.alert.model_copy(update={"severity": severity})
        if rises and tracked.alert.status == "acknowledged":
            return self._move(tracked, "open", "escalated", ENGINE, signal.at, signal.evidence)
        return self._move(tracked, tracked.alert.status, "updated", ENGINE, signal.at, signal.evidence)

    def _clear(self, tracked: Tracked, at: datetime) -> Alert | None:
        if tracked.alert.status == "resolved":
            if tracked.waived:
                tracked.waived = False  # cleared: the next occurrence is a new one
                self.alerts[tracked.alert.alert_id] = tracked
            return None
        return self._move(tracked, "resolved", "resolved", ENGINE, at)

    def acknowledge(self, key: str, actor: str, at: datetime) -> Alert | None:
        """An operator takes an open alert in hand; None when it is unknown or not open."""
        tracked = self.alerts.get(key)
        if tracked is None or tracked.alert.status != "open":
            return None
        return self._move(tracked, "acknowledged", "acknowledged", actor, at)

    def resolve(self, key: str, actor: str, at: datetime) -> Alert | None:
        """An operator closes an alert; None when it is unknown or already resolved."""
        tracked = self.alerts.get(key)
        if tracked is None or tracked.alert.status == "resolved":
            return None
        tracked.waived = True
        return self._move(tracked, "resolved", "resolved", actor, at)

    def history(self, key: str) -> tuple[HistoryEntry, ...]:
        tracked = self.alerts.get(key)
        return tuple(tracked.history) if tracked is not None else ()

    def _move(
        self,
        tracked: Tracked,
        status: AlertStatus,
        action: Action,
        actor: str,
        at: datetime,
        evidence: dict[str, Any] | None = None,
    ) -> Alert:
        # Never back in time: a signal from another partition may carry an earlier event time.
        at = max(at, tracked.alert.updated_at)
        update: dict[str, Any] = {"status": status, "updated_at": at, "action": action, "actor": actor}
        if evidence is not None:
            update["evidence"] = evidence
            update["message"] = render(tracked.alert.code, evidence)
        tracked.alert = tracked.alert.model_copy(update=update)
        tracked.history.append(HistoryEntry(at, action, actor))
        self.alerts[tracked.alert.alert_id] = tracked
        return tracked.alert
