"""The validation agent: one decision per payment_id, reserved on the ledger, settled or voided.

Payment lifecycle: accepted/held reserve; settled posts; returned voids (or reverses a posting);
a held payment is released (accepted, a second decision) or rejected (voided).
"""

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, Protocol

from agents.config import RulesConfig
from agents.findings import Finding, Refusal
from agents.validation.budget import BudgetOut, Drawn, Opened, Step, TraceFact, Verdict
from agents.validation.patterns import PayeeHistory
from agents.validation.reference import ReferenceState
from agents.validation.rules import HOLD_RULES, REJECT_RULES, Check
from alerts.catalogue import CATALOGUE_ORDER
from alerts.signals import AlertSignal
from models.base import trusted
from models.codec import fingerprint as content_digest
from models.inputs import Indicator, Payee, PayeeBlock, Payment, Project, Settlement
from models.money import format_fen
from models.outputs import Decision, Outcome, PaymentStatus

Emitted = Decision | AlertSignal | Refusal | TraceFact
# Findings on a payment that also open an alert about it (DESIGN §4: subject is the payment).
ALERTING_CODES = frozenset({"D001", "F001", "F002", "F003", "F004"})


def _outcome(findings: list[Finding]) -> Outcome:
    effects = {f.effect for f in findings}
    return "rejected" if "reject" in effects else "held" if "hold" in effects else "accepted"


class CashGuard(Protocol):
    """The S001 seam: may hold a non-三保 payment the treasury's cash cannot yet afford.

    It is told of every payment that reserves or moves money, so it knows the cash already
    promised (accepted, unsettled) and which holds are for cash alone (`cash_hold`: released by
    the guard when cash allows; a hold that also has another reason waits for an operator).
    """

    def check(self, payment: Payment, treasury_code: str, sanbao: bool) -> Finding | None: ...

    def decided(self, payment: Payment, treasury_code: str, outcome: Outcome, cash_hold: bool) -> None: ...

    def moved(self, payment_id: str, treasury_code: str, amount_fen: int, before: PaymentStatus,
              after: PaymentStatus, at: datetime) -> None: ...


@dataclass(slots=True)
class PaymentRecord:
    """What the agent remembers of a decided payment."""

    fingerprint: bytes
    indicator_id: str
    amount_fen: int
    status: PaymentStatus
    decision: Decision
    # Who is paid: the end recipient of the fund chain (None only in state written before it was kept).
    payee: Payee | None = None


@dataclass(slots=True)
class ValidationAgent:
    """Decides payments; applies indicators, projects, blocks and settlements to its state."""

    rules: RulesConfig
    cash_guard: CashGuard | None = None
    state: ReferenceState = field(default_factory=ReferenceState)
    payments: MutableMapping[str, PaymentRecord] = field(default_factory=dict)
    # Payments and settlements for an indicator still waiting for its parent's verdict, in
    # arrival order (they are applied in that order once the verdict is in).
    parked: MutableMapping[str, list[Payment | Settlement]] = field(default_factory=dict)
    # Settlements that arrived before their payment (another topic may deliver it later).
    early_settlements: MutableMapping[str, list[Settlement]] = field(default_factory=dict)
    history: PayeeHistory = field(init=False)
    counts: dict[str, int] = field(default_factory=dict)
    _fiscal_tz: tzinfo = field(init=False)

    def __post_init__(self) -> None:
        self.history = PayeeHistory(self.rules.validation)
        self._fiscal_tz = self.rules.validation.fiscal_timezone

    def _count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def on_indicator(self, indicator: Indicator) -> list[Emitted]:
        """All allocation steps at once (embedded runtime)."""
        outcomes = [item for item in self.state.apply(indicator)
                    if isinstance(item, Refusal | AlertSignal | Opened | Drawn)]
        return self._released(outcomes, indicator.indicator_id)

    def receive_indicator(self, indicator: Indicator) -> list[Emitted | BudgetOut]:
        """Step 1 only (Kafka runtime): the steps it hands on are the caller's to deliver."""
        return self._released(self.state.receive(indicator), indicator.indicator_id)

    def on_step(self, step: Step) -> list[Emitted | BudgetOut]:
        """A later allocation step; a verdict releases the payments that waited for it."""
        done: list[Emitted | BudgetOut] = list(self.state.run(step))
        return self._released(done, step.child_id) if isinstance(step, Verdict) else done

    def _released(self, done: list[Any], indicator_id: str) -> list[Any]:
        """Decide, in arrival order, the payments that waited for an indicator no longer pending."""
        if indicator_id in self.state.pending or indicator_id not in self.parked:
            return done
        for item in self.parked.pop(indicator_id):
            done.extend(self.on_payment(item) if isinstance(item, Payment) else self.on_settlement(item))
        return done

    def _waits_for_verdict(self, indicator_id: str) -> bool:
        return indicator_id in self.state.pending and indicator_id not in self.state.indicators

    def _park(self, item: Payment | Settlement) -> list[Emitted]:
        self.parked[item.indicator_id] = [*self.parked.get(item.indicator_id, []), item]
        return []

    def on_project(self, project: Project) -> list[Emitted]:
        self.state.apply_project(project)
        return []

    def on_block(self, block: PayeeBlock) -> list[Emitted]:
        self.state.apply_block(block)
        return []

    def is_live(self, payment_id: str) -> bool:
        """Counts for F001/F002: decided and neither rejected nor returned (a bounced payment
        never reached the payee, so paying it again is not a duplicate)."""
        record = self.payments.get(payment_id)
        return record is not None and record.status not in ("rejected", "returned")

    def on_payment(self, payment: Payment) -> list[Emitted]:
        fingerprint = content_digest(payment)
        known = self.payments.get(payment.payment_id)
        if known is not None:
            return [self._redelivery(payment, fingerprint, known)]
        if self._waits_for_verdict(payment.indicator_id):
            return self._park(payment)  # decided once its indicator's verdict is in
        findings = self._judge(payment)
        outcome = _outcome(findings) if findings else "accepted"
        if outcome != "rejected":
            self.state.ledger.reserve(payment.indicator_id, payment.amount)
            self.history.record(payment)
        decision = self._decision(payment.payment_id, outcome, findings, payment.indicator_id, payment.requested_at)
        self.payments[payment.payment_id] = PaymentRecord(
            fingerprint, payment.indicator_id, payment.amount, outcome, decision, payment.payee
        )
        emitted: list[Emitted] = [decision]
        if self.cash_guard is not None and outcome != "rejected":
            self._tell_guard(payment, outcome, findings)
        for f in findings:
            if f.code in ALERTING_CODES:
                emitted.append(AlertSignal(f.code, "payment", payment.payment_id, payment.requested_at, f.evidence))
            if f.code == "D001":  # T004: the tracing side of a diversion, about the same payment
                evidence = {**f.evidence, "payment_id": payment.payment_id, "indicator_id": payment.indicator_id,
                            "amount": format_fen(payment.amount)}
                emitted.append(AlertSignal("T004", "payment", payment.payment_id, payment.requested_at, evidence))
        early = self.early_settlements.pop(payment.payment_id, None)
        if early:
            emitted.append(AlertSignal("T005", "payment", payment.payment_id, payment.requested_at, active=False))
            for settlement in early:
                emitted.extend(self.on_settlement(settlement))
        return emitted

    def _tell_guard(self, payment: Payment, outcome: Outcome, findings: list[Finding]) -> None:
        indicator = self.state.indicators.get(payment.indicator_id)
        if self.cash_guard is None or indicator is None:
            return
        codes = {f.code for f in findings if f.effect == "hold"}
        self.cash_guard.decided(payment, indicator.treasury_code, outcome, codes == {"S001"})

    def _guard_moved(self, payment_id: str, record: PaymentRecord, before: PaymentStatus, at: datetime) -> None:
        indicator = self.state.indicators.get(record.indicator_id)
        if self.cash_guard is not None and indicator is not None:
            self.cash_guard.moved(payment_id, indicator.treasury_code, record.amount_fen, before, record.status, at)

    def _judge(self, payment: Payment) -> list[Finding]:
        state = self.state
        indicator = state.indicators.get(payment.indicator_id)
        check = Check(
            payment=payment,
            indicator=indicator,
            available_fen=state.ledger.available(payment.indicator_id) if indicator is not None else None,
            direct_fund_code=state.direct_fund.get(payment.indicator_id),
            project=state.project(payment.project_id),
            block=state.blocklist.get(payment.payee.account),
            rules=self.rules,
            fiscal_tz=self._fiscal_tz,
        )
        findings = [f for rule in REJECT_RULES if (f := rule(check)) is not None]
        if findings and _outcome(findings) == "rejected":
            return findings
        findings.extend(f for rule in HOLD_RULES if (f := rule(check)) is not None)
        findings.extend(self.history.findings(payment, self.is_live))
        if self.cash_guard is not None and indicator is not None:
            sanbao = self.rules.is_sanbao(payment.economic_code)
            held = self.cash_guard.check(payment, indicator.treasury_code, sanbao)
            if held is not None:
                findings.append(held)
        if len(findings) > 1:
            findings.sort(key=lambda f: CATALOGUE_ORDER[f.code])
        return findings

    def _redelivery(self, payment: Payment, fingerprint: bytes, known: PaymentRecord) -> Decision:
        if fingerprint == known.fingerprint:
            self._count("duplicate_deliveries")
            return known.decision.model_copy(update={"duplicate_delivery": True})
        self._count("conflicting_deliveries")
        conflict = Finding("V002", "reject", {"payment_id": payment.payment_id})
        return self._decision(payment.payment_id, "rejected", [conflict], payment.indicator_id, payment.requested_at)

    def _decision(
        self, payment_id: str, outcome: Outcome, findings: list[Finding], indicator_id: str | None, at: datetime
    ) -> Decision:
        account = self.state.ledger.accounts.get(indicator_id) if indicator_id is not None else None
        return trusted(
            Decision,
            payment_id=payment_id,
            outcome=outcome,
            reasons=tuple([f.reason() for f in findings]) if findings else (),
            indicator_id=indicator_id,
            available_after=account.available if account is not None else None,
            decided_at=at,
            duplicate_delivery=False,
        )

    def on_malformed_payment(
        self, payment_id: str, indicator_id: str | None, error: str, at: datetime
    ) -> list[Emitted]:
        """V001 for a payment that failed the contract, unless the id already has a decision.

        A V001 does not bind the id: a corrected instruction with the same id is decided anew.
        """
        if payment_id in self.payments:
            self._count("malformed_redeliveries")
            return []
        v001 = Finding("V001", "reject", {"error": error})
        return [self._decision(payment_id, "rejected", [v001], indicator_id, at)]

    def on_settlement(self, settlement: Settlement) -> list[Emitted]:
        record = self.payments.get(settlement.payment_id)
        if record is None and self._waits_for_verdict(settlement.indicator_id):
            return self._park(settlement)  # after the payments parked before it, in order
        if record is None:
            # Kept: applied when the payment arrives (the alert then resolves itself).
            waiting = self.early_settlements.get(settlement.payment_id, [])
            self.early_settlements[settlement.payment_id] = [*waiting, settlement]
            return [self._t005(settlement, "settlement for an unknown payment", "未知支付的清算")]
        ledger = self.state.ledger
        status, previous = settlement.status, record.status
        if status == previous:
            self._count("duplicate_settlements")
            return []
        if status == "settled" and previous == "accepted":
            ledger.post(record.indicator_id, record.amount_fen)
        elif status == "returned" and previous == "accepted":
            ledger.void(record.indicator_id, record.amount_fen)
        elif status == "returned" and previous == "settled":
            ledger.reverse(record.indicator_id, record.amount_fen)
        else:
            problem_en = f"{status} for a payment that is {previous}"
            return [self._t005(settlement, problem_en, f"{previous} 状态的支付收到 {status}")]
        record.status = status
        self.payments[settlement.payment_id] = record  # written back: the mapping may be a durable table
        self._guard_moved(settlement.payment_id, record, previous, settlement.settled_at)
        if settlement.indicator_id != record.indicator_id:
            # Applied to the payment's own indicator (payment_id is the key); the bank's label is flagged.
            problem_en = f"settlement names {settlement.indicator_id}, the payment is on {record.indicator_id}"
            problem_zh = f"清算指标 {settlement.indicator_id} 与支付指标 {record.indicator_id} 不符"
            return [self._t005(settlement, problem_en, problem_zh)]
        if settlement.amount != record.amount_fen:
            # The ledger posts the instructed amount; the bank's differing figure is flagged.
            bank, instructed = format_fen(settlement.amount), format_fen(record.amount_fen)
            problem_zh = f"银行金额 {bank} 与指令金额 {instructed} 不符"
            return [self._t005(settlement, f"bank reports {bank}, instructed {instructed}", problem_zh)]
        return []

    def _t005(self, settlement: Settlement, problem_en: str, problem_zh: str) -> AlertSignal:
        self._count("settlement_anomalies")
        return AlertSignal(
            "T005", "payment", settlement.payment_id, settlement.settled_at,
            {"payment_id": settlement.payment_id, "problem": problem_en, "problem_zh": problem_zh,
             "bank_ref": settlement.bank_ref, "amount": format_fen(settlement.amount)},
        )

    def release(self, payment_id: str, at: datetime) -> list[Emitted]:
        """Operator (or cash) release of a held payment: a second decision, accepted."""
        return self._settle_hold(payment_id, "accepted", at)

    def reject_held(self, payment_id: str, at: datetime) -> list[Emitted]:
        """Operator rejection of a held payment: its reservation is voided."""
        return self._settle_hold(payment_id, "rejected", at)

    def _settle_hold(self, payment_id: str, outcome: Outcome, at: datetime) -> list[Emitted]:
        record = self.payments.get(payment_id)
        if record is None or record.status != "held":
            return [Refusal("not_held", f"payment {payment_id} is not held")]
        if outcome == "rejected":
            self.state.ledger.void(record.indicator_id, record.amount_fen)
        record.status = outcome
        account = self.state.ledger.accounts[record.indicator_id]
        record.decision = record.decision.model_copy(
            update={"outcome": outcome, "decided_at": at, "available_after": account.available}
        )
        self.payments[payment_id] = record
        self._guard_moved(payment_id, record, "held", at)
        return [record.decision]
