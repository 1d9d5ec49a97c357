"""Input events of the wire contract (DESIGN §3), one strict model per type."""

from datetime import date
from typing import Literal

from pydantic import AwareDatetime

from models.base import Code, DivisionCode, FiscalYear, Name, Text, Version, WireModel
from models.money import PositiveFen, SignedFen

FundType = Literal["general", "gov_fund", "state_capital", "special_bond"]
FundSource = Literal["current", "carryover", "advance_notice"]
IndicatorStatus = Literal["active", "frozen", "cancelled"]
ProjectStatus = Literal["reserve", "approved", "budgeted", "executing", "completed", "terminated"]
PayeeKind = Literal[
    "organization",
    "individual",
    "agency",
    "own_account",
    "fiscal_special_account",
    "platform_company",
]
FlowKind = Literal[
    "tax_revenue",
    "nontax_revenue",
    "transfer_in",
    "bond_proceeds",
    "transfer_out",
    "debt_service",
    "other_out",
]


class Indicator(WireModel):
    """An approved budget line (预算指标); a child of another when it is an allocation."""

    indicator_id: Code
    version: Version
    fiscal_year: FiscalYear
    treasury_code: DivisionCode
    agency_code: Code
    project_id: Code
    function_code: Code
    economic_code: Code
    fund_type: FundType
    source: FundSource
    amount: PositiveFen
    status: IndicatorStatus
    parent_indicator_id: Code | None = None
    direct_fund_code: Code | None = None
    issued_at: AwareDatetime


class Project(WireModel):
    """An entry of the project library (项目库), versioned."""

    project_id: Code
    version: Version
    name: Name
    agency_code: Code
    status: ProjectStatus
    research: bool
    special_bond: bool
    updated_at: AwareDatetime


class Payee(WireModel):
    """Who receives a payment."""

    name: Name
    account: Code
    bank_code: Code
    kind: PayeeKind


class Payment(WireModel):
    """A payment instruction (支付凭证); `payment_id` is the idempotency key."""

    payment_id: Code
    indicator_id: Code
    agency_code: Code
    project_id: Code
    function_code: Code
    economic_code: Code
    amount: PositiveFen
    payee: Payee
    method: Literal["direct", "authorized"]
    purpose: Text
    advance: bool
    advance_approval: Code | None = None
    requested_at: AwareDatetime


class Settlement(WireModel):
    """The bank's confirmation (清算/回单) or return (退票) of a payment."""

    payment_id: Code
    indicator_id: Code
    status: Literal["settled", "returned"]
    amount: PositiveFen
    bank_ref: Code
    settled_at: AwareDatetime


class TreasuryBalance(WireModel):
    """The bank's statement of a treasury single account; may be zero or negative."""

    treasury_code: DivisionCode
    balance: SignedFen
    as_of: AwareDatetime


class TreasuryFlow(WireModel):
    """A treasury inflow or outflow, actual or scheduled (same `flow_id` replaces the plan)."""

    flow_id: Code
    treasury_code: DivisionCode
    kind: FlowKind
    amount: PositiveFen
    value_date: date
    scheduled: bool
    sanbao: bool | None = None
    recorded_at: AwareDatetime


class PayeeBlock(WireModel):
    """A blocklist entry for a payee account."""

    account: Code
    reason: Text
    blocked_at: AwareDatetime


class Clock(WireModel):
    """Advances event time with no other effect."""

    now: AwareDatetime


InputEvent = (
    Indicator | Project | Payment | Settlement | TreasuryBalance | TreasuryFlow | PayeeBlock | Clock
)
