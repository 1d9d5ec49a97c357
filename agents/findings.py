"""A rule's finding and its rendering as a decision reason in both languages."""

from dataclasses import dataclass, field
from typing import Any, Literal

from alerts.catalogue import spec
from models.base import trusted
from models.outputs import Reason

Effect = Literal["reject", "hold", "info"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule firing on one input: its code, what it does to the outcome, its evidence."""

    code: str
    effect: Effect
    evidence: dict[str, Any] = field(default_factory=dict)

    def reason(self) -> Reason:
        rule = spec(self.code)
        return trusted(
            Reason,
            code=self.code,
            message=rule.template_zh.format(**self.evidence),
            message_en=rule.template_en.format(**self.evidence),
            clause=rule.clause,
        )


@dataclass(frozen=True, slots=True)
class Refusal:
    """Input that was well-formed but cannot be applied (kept as a dead letter, with why)."""

    error_code: str
    message: str
