"""Output types of the wire contract (DESIGN §3): decisions, alerts, forecasts, chains, dead letters."""

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field

from models.base import Code, DivisionCode, Name, Text, WireModel
from models.inputs import PayeeKind
from models.money import PositiveFen, SignedFen

Outcome = Literal["accepted", "rejected", "held"]
Severity = Literal["info", "warning", "critical"]
AlertStatus = Literal["open", "acknowledged", "resolved"]
# What made an alert's state: the engine (opened, updated, reopened, escalated, resolved) or an
# operator (acknowledged, resolved).
AlertAction = Literal["opened", "updated", "acknowledged", "resolved", "reopened", "escalated"]
PaymentStatus = Literal["accepted", "held", "settled", "returned", "rejected"]


class Reason(WireModel):
    """Why a decision came out as it did: the rule code, its message and the policy clause."""

    code: Code
    message: Text
    message_en: Text
    clause: Text


class Decision(WireModel):
    """The engine's decision on a payment instruction."""

    payment_id: Code
    outcome: Outcome
    reasons: tuple[Reason, ...]
    indicator_id: Code | None = None
    available_after: SignedFen | None = None
    decided_at: AwareDatetime
    duplicate_delivery: bool


class Subject(WireModel):
    """What an alert is about."""

    kind: Literal["payment", "indicator", "treasury"]
    id: Code


class Message(WireModel):
    """A text in both languages of the console."""

    zh: Text
    en: Text


class Alert(WireModel):
    """One state of an alert; `alert_id` is stable for the same (code, subject)."""

    alert_id: Code
    code: Code
    severity: Severity
    subject: Subject
    message: Message
    evidence: dict[str, Any]
    opened_at: AwareDatetime
    updated_at: AwareDatetime
    status: AlertStatus
    # The change that made this state, and who made it ("engine", or the operator's name).
    action: AlertAction = "opened"
    actor: Text = "engine"


class ForecastPoint(WireModel):
    """One day of a cash forecast, in fen at the edge as decimal strings."""

    date: date
    p10: SignedFen
    p50: SignedFen
    p90: SignedFen


class Forecast(WireModel):
    """A treasury's cash forecast made once per event-time day."""

    treasury_code: DivisionCode
    as_of: date
    coverage_ratio: float | None = None
    points: tuple[ForecastPoint, ...]
    breach_date: date | None = None


class ChainNode(WireModel):
    """One indicator of a fund chain with its ledger totals."""

    indicator_id: Code
    parent_indicator_id: Code | None = None
    treasury_code: DivisionCode
    agency_code: Code
    amount: PositiveFen
    allocated: SignedFen
    reserved: SignedFen
    spent: SignedFen
    issued_at: AwareDatetime


class ChainPayment(WireModel):
    """One payment out of a fund chain, to its end recipient."""

    payment_id: Code
    indicator_id: Code
    payee_name: Name
    payee_account: Code
    payee_kind: PayeeKind
    amount: PositiveFen
    status: PaymentStatus


class Chain(WireModel):
    """A direct-fund chain from its root down to every recipient."""

    root: Code
    nodes: tuple[ChainNode, ...]
    payments: tuple[ChainPayment, ...]


class DeadLetter(WireModel):
    """Input that could not be applied, kept whole with the reason (nothing is dropped)."""

    source: Text
    offset: int = Field(ge=0)
    error_code: Code
    error: Text
    payment_id: Code | None = None
    raw: str
    raw_bytes: int = Field(ge=0)
    raw_truncated: bool
    raw_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
