"""The payment rules of DESIGN §4 that need no history: one small pure function per code.

Each rule looks at a `Check` (the payment and what the reference state says about it) and
returns a Finding or None. Codes, messages and clauses live in the alert catalogue.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from agents.config import RulesConfig
from agents.findings import Finding
from alerts.catalogue import PAYEE_KIND_ZH
from models.inputs import Indicator, PayeeBlock, Payment, Project
from models.money import format_fen


@dataclass(slots=True)  # not frozen: built once per payment on the hot path, never mutated
class Check:
    """One payment and the state the rules judge it against."""

    payment: Payment
    indicator: Indicator | None
    available_fen: int | None
    direct_fund_code: str | None
    project: Project | None
    block: PayeeBlock | None
    rules: RulesConfig
    fiscal_tz: tzinfo


Rule = Callable[[Check], Finding | None]


def b001_unknown_indicator(c: Check) -> Finding | None:
    if c.indicator is None:
        return Finding("B001", "reject", {"indicator_id": c.payment.indicator_id})
    return None


def b002_indicator_inactive(c: Check) -> Finding | None:
    if c.indicator is not None and c.indicator.status != "active":
        return Finding("B002", "reject", {"indicator_id": c.indicator.indicator_id, "status": c.indicator.status})
    return None


def local_year(at: datetime, tz: tzinfo) -> int:
    """The calendar year of `at` in `tz` (the treasury's local time), whatever offset `at` has."""
    # Offsets differ by under 27 h, so only 31 Dec and 1 Jan can change year: convert just those
    # (an aware conversion costs ~10x a field read on the hot path).
    if (at.month == 12 and at.day == 31) or (at.month == 1 and at.day == 1):
        return at.astimezone(tz).year
    return at.year


def b003_fiscal_year(c: Check) -> Finding | None:
    year = local_year(c.payment.requested_at, c.fiscal_tz)
    if c.indicator is not None and year != c.indicator.fiscal_year:
        return Finding("B003", "reject", {"payment_year": year, "fiscal_year": c.indicator.fiscal_year})
    return None


def b004_agency(c: Check) -> Finding | None:
    if c.indicator is not None and c.payment.agency_code != c.indicator.agency_code:
        return Finding(
            "B004", "reject",
            {"agency_code": c.payment.agency_code, "indicator_agency": c.indicator.agency_code},
        )
    return None


def b005_classification(c: Check) -> Finding | None:
    ind, pay = c.indicator, c.payment
    if ind is None:
        return None
    function_differs = pay.function_code != ind.function_code
    economic_differs = pay.economic_code != ind.economic_code
    # A carry-over paid under another economic code with the same function code is C001's.
    if ind.source == "carryover" and not function_differs:
        return None
    if function_differs or economic_differs:
        return Finding(
            "B005", "reject",
            {
                "function_code": pay.function_code,
                "economic_code": pay.economic_code,
                "indicator_function": ind.function_code,
                "indicator_economic": ind.economic_code,
            },
        )
    return None


def b006_available(c: Check) -> Finding | None:
    if c.available_fen is not None and c.payment.amount > c.available_fen:
        return Finding(
            "B006", "reject",
            {"amount": format_fen(c.payment.amount), "available": format_fen(c.available_fen)},
        )
    return None


def p001_project_unknown(c: Check) -> Finding | None:
    if c.project is None:
        return Finding("P001", "reject", {"project_id": c.payment.project_id})
    return None


def p002_project_not_executable(c: Check) -> Finding | None:
    if c.project is not None and c.project.status not in c.rules.validation.executable_project_statuses:
        return Finding("P002", "reject", {"project_id": c.project.project_id, "status": c.project.status})
    return None


def p003_project_mismatch(c: Check) -> Finding | None:
    if c.indicator is not None and c.payment.project_id != c.indicator.project_id:
        return Finding(
            "P003", "reject",
            {"project_id": c.payment.project_id, "indicator_project": c.indicator.project_id},
        )
    return None


def c001_carryover_purpose(c: Check) -> Finding | None:
    ind, pay = c.indicator, c.payment
    if ind is None or ind.source != "carryover":
        return None
    if pay.function_code != ind.function_code or pay.economic_code == ind.economic_code:
        return None
    evidence = {"economic_code": pay.economic_code, "indicator_economic": ind.economic_code}
    # Research funds are the policy's exception (II.(6)): accepted, with the reason shown.
    research = c.project is not None and c.project.research
    return Finding("C001", "info" if research else "reject", evidence)


def a001_advance_approval(c: Check) -> Finding | None:
    if c.payment.advance and c.payment.advance_approval is None:
        return Finding("A001", "reject", {})
    return None


def d001_direct_fund_payee(c: Check) -> Finding | None:
    kind = c.payment.payee.kind
    if c.direct_fund_code is not None and kind in c.rules.validation.direct_fund_forbidden_payees:
        return Finding(
            "D001", "reject",
            {"payee_kind": kind, "payee_kind_zh": PAYEE_KIND_ZH[kind], "direct_fund_code": c.direct_fund_code},
        )
    return None


def f003_blocked_payee(c: Check) -> Finding | None:
    if c.block is not None:
        return Finding("F003", "reject", {"reason": c.block.reason})
    return None


def f004_individual_economic_code(c: Check) -> Finding | None:
    pay = c.payment
    if pay.payee.kind == "individual" and not pay.economic_code.startswith(
        c.rules.validation.individual_economic_prefixes
    ):
        return Finding("F004", "hold", {"economic_code": pay.economic_code})
    return None


# Rules that can reject: all run, so the operator sees every reason at once.
REJECT_RULES: tuple[Rule, ...] = (
    b001_unknown_indicator,
    b002_indicator_inactive,
    b003_fiscal_year,
    b004_agency,
    b005_classification,
    b006_available,
    p001_project_unknown,
    p002_project_not_executable,
    p003_project_mismatch,
    c001_carryover_purpose,
    a001_advance_approval,
    d001_direct_fund_payee,
    f003_blocked_payee,
)
# Rules that hold: run only for a payment no rule rejected (a hold is a question, not an answer).
HOLD_RULES: tuple[Rule, ...] = (f004_individual_economic_code,)
