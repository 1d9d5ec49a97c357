"""What an agent says about a condition; the lifecycle turns signals into alert states."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

SubjectKind = Literal["payment", "indicator", "treasury"]
Severity = Literal["info", "warning", "critical"]


@dataclass(frozen=True, slots=True)
class AlertSignal:
    """A condition on a subject, raised (`active`) or cleared, at an event time."""

    code: str
    subject_kind: SubjectKind
    subject_id: str
    at: datetime
    evidence: dict[str, Any] = field(default_factory=dict)
    active: bool = True
    # Overrides the catalogue's severity where a code has two (R002: P50 warning, P10 info).
    severity: Severity | None = None
