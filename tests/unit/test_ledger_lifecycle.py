"""The payment lifecycle on the ledger: reserve, post, void, reverse; releases; redelivery; indicators."""

from collections.abc import Callable
from datetime import timedelta

import orjson
import pytest

from agents.findings import Refusal
from agents.ledger import Account, Ledger
from agents.validation.agent import ValidationAgent
from agents.validation.budget import Drawn, Opened
from alerts.signals import AlertSignal
from models.errors import InvariantViolation
from models.inputs import Payment
from models.outputs import Decision
from tests.unit.conftest import T0, make_indicator, make_payment, make_settlement, payment_data


def account(agent: ValidationAgent, indicator_id: str = "IND-1") -> Account:
    return agent.state.ledger.accounts[indicator_id]


def balances(agent: ValidationAgent, indicator_id: str = "IND-1") -> tuple[int, int, int, int, int]:
    """(amount, allocated, reserved, spent, available) in fen."""
    a = account(agent, indicator_id)
    return a.amount, a.allocated, a.reserved, a.spent, a.available


def only_decision(emitted: list[object]) -> Decision:
    (decision,) = emitted
    assert isinstance(decision, Decision)
    return decision


def only_signal(emitted: list[object], code: str) -> AlertSignal:
    (signal,) = emitted
    assert isinstance(signal, AlertSignal)
    assert signal.code == code
    return signal


def held(agent: ValidationAgent) -> Decision:
    """A payment to an individual under 30201: held (F004), 600.00 reserved."""
    decision = agent.on_payment(make_payment(payee={"kind": "individual"}))[0]
    assert isinstance(decision, Decision)
    assert decision.outcome == "held"
    return decision


# --- payments and settlements -----------------------------------------------------------------


def test_accepted_payment_reserves(ready_agent: ValidationAgent) -> None:
    assert balances(ready_agent) == (100_000, 0, 0, 0, 100_000)
    decision = only_decision(ready_agent.on_payment(make_payment()))
    assert decision.outcome == "accepted"
    assert decision.available_after == 40_000
    assert balances(ready_agent) == (100_000, 0, 60_000, 0, 40_000)
    assert ready_agent.payments["PAY-1"].status == "accepted"


def test_rejected_payment_reserves_nothing(ready_agent: ValidationAgent) -> None:
    decision = only_decision(ready_agent.on_payment(make_payment(amount="1000.01")))
    assert decision.outcome == "rejected"
    assert decision.available_after == 100_000
    assert balances(ready_agent) == (100_000, 0, 0, 0, 100_000)


def test_held_payment_reserves(ready_agent: ValidationAgent) -> None:
    decision = held(ready_agent)
    assert decision.available_after == 40_000
    assert balances(ready_agent) == (100_000, 0, 60_000, 0, 40_000)


def test_settlement_posts_reserved_to_spent(ready_agent: ValidationAgent) -> None:
    ready_agent.on_payment(make_payment())
    assert ready_agent.on_settlement(make_settlement()) == []
    assert balances(ready_agent) == (100_000, 0, 0, 60_000, 40_000)
    assert ready_agent.payments["PAY-1"].status == "settled"


def test_duplicate_settlement_is_ignored(ready_agent: ValidationAgent) -> None:
    ready_agent.on_payment(make_payment())
    ready_agent.on_settlement(make_settlement())
    assert ready_agent.on_settlement(make_settlement()) == []
    assert ready_agent.on_settlement(make_settlement(bank_ref="BR-0002")) == []
    assert balances(ready_agent) == (100_000, 0, 0, 60_000, 40_000)
    assert ready_agent.counts["duplicate_settlements"] == 2


def test_return_voids_the_reservation(ready_agent: ValidationAgent) -> None:
    ready_agent.on_payment(make_payment())
    assert ready_agent.on_settlement(make_settlement(status="returned")) == []
    assert balances(ready_agent) == (100_000, 0, 0, 0, 100_000)
    assert ready_agent.payments["PAY-1"].status == "returned"


def test_return_after_settlement_reverses_the_spending(ready_agent: ValidationAgent) -> None:
    ready_agent.on_payment(make_payment())
    ready_agent.on_settlement(make_settlement())
    assert ready_agent.on_settlement(make_settlement(status="returned", settled_at="2022-03-05T10:00:00+08:00")) == []
    assert balances(ready_agent) == (100_000, 0, 0, 0, 100_000)
    assert ready_agent.payments["PAY-1"].status == "returned"


def test_duplicate_return_is_ignored(ready_agent: ValidationAgent) -> None:
    ready_agent.on_payment(make_payment())
    ready_agent.on_settlement(make_settlement(status="returned"))
    assert ready_agent.on_settlement(make_settlement(status="returned")) == []
    assert balances(ready_agent) == (100_000, 0, 0, 0, 100_000)


def test_settlement_after_return_is_a_t005(ready_agent: ValidationAgent) -> None:
    ready_agent.on_payment(make_payment())
    ready_agent.on_settlement(make_settlement(status="returned"))
    signal = only_signal(ready_agent.on_settlement(make_settlement(status="settled")), "T005")
    assert "returned" in signal.evidence["problem"]
    assert balances(ready_agent) == (100_000, 0, 0, 0, 100_000)


def test_settlement_for_an_unknown_payment_is_a_t005(ready_agent: ValidationAgent) -> None:
    settlement = make_settlement(payment_id="PAY-404", bank_ref="BR-9")
    signal = only_signal(ready_agent.on_settlement(settlement), "T005")
    assert (signal.subject_kind, signal.subject_id) == ("payment", "PAY-404")
    assert signal.at == settlement.settled_at
    assert signal.active is True
    assert signal.evidence["payment_id"] == "PAY-404"
    assert signal.evidence["bank_ref"] == "BR-9"
    assert signal.evidence["amount"] == "600.00"
    assert "unknown" in signal.evidence["problem"]
    assert signal.evidence["problem_zh"]
    assert balances(ready_agent) == (100_000, 0, 0, 0, 100_000)


def test_settled_amount_mismatch_is_a_t005_and_posts_the_instructed_amount(ready_agent: ValidationAgent) -> None:
    ready_agent.on_payment(make_payment())
    signal = only_signal(ready_agent.on_settlement(make_settlement(amount="599.00")), "T005")
    assert "599.00" in signal.evidence["problem"]
    assert "600.00" in signal.evidence["problem"]
    assert "599.00" in signal.evidence["problem_zh"]
    assert balances(ready_agent) == (100_000, 0, 0, 60_000, 40_000)
    assert ready_agent.payments["PAY-1"].status == "settled"


def test_settlement_of_a_rejected_payment_is_a_t005(ready_agent: ValidationAgent) -> None:
    ready_agent.on_payment(make_payment(advance=True))
    signal = only_signal(ready_agent.on_settlement(make_settlement()), "T005")
    assert "rejected" in signal.evidence["problem"]
    assert balances(ready_agent) == (100_000, 0, 0, 0, 100_000)


def test_settlement_of_a_held_payment_is_a_t005_and_keeps_it_held(ready_agent: ValidationAgent) -> None:
    held(ready_agent)
    signal = only_signal(ready_agent.on_settlement(make_settlement()), "T005")
    assert "held" in signal.evidence["problem"]
    assert ready_agent.payments["PAY-1"].status == "held"
    assert balances(ready_agent) == (100_000, 0, 60_000, 0, 40_000)


# --- held payments ----------------------------------------------------------------------------


def test_release_turns_a_held_payment_into_an_accepted_one(ready_agent: ValidationAgent) -> None:
    first = held(ready_agent)
    later = T0 + timedelta(hours=3)
    second = only_decision(ready_agent.release("PAY-1", later))
    assert second.payment_id == "PAY-1"
    assert second.outcome == "accepted"
    assert second.decided_at == later
    assert second.available_after == 40_000
    assert second.duplicate_delivery is False
    assert first.outcome == "held"  # the first decision is unchanged
    assert balances(ready_agent) == (100_000, 0, 60_000, 0, 40_000)  # reserved once, not twice
    # Released, it settles like any accepted payment.
    assert ready_agent.on_settlement(make_settlement()) == []
    assert balances(ready_agent) == (100_000, 0, 0, 60_000, 40_000)


def test_reject_held_voids_the_reservation(ready_agent: ValidationAgent) -> None:
    held(ready_agent)
    later = T0 + timedelta(hours=3)
    second = only_decision(ready_agent.reject_held("PAY-1", later))
    assert second.outcome == "rejected"
    assert second.decided_at == later
    assert second.available_after == 100_000
    assert balances(ready_agent) == (100_000, 0, 0, 0, 100_000)
    assert ready_agent.payments["PAY-1"].status == "rejected"


@pytest.mark.parametrize("action", ["release", "reject_held"])
def test_a_payment_that_is_not_held_cannot_be_released(ready_agent: ValidationAgent, action: str) -> None:
    ready_agent.on_payment(make_payment())
    operate: Callable[..., list[object]] = getattr(ready_agent, action)
    (refusal,) = operate("PAY-1", T0)
    assert isinstance(refusal, Refusal)
    assert refusal.error_code == "not_held"
    assert "PAY-1" in refusal.message
    assert balances(ready_agent) == (100_000, 0, 60_000, 0, 40_000)
    assert ready_agent.payments["PAY-1"].status == "accepted"


def test_unknown_payment_cannot_be_released(ready_agent: ValidationAgent) -> None:
    (refusal,) = ready_agent.release("PAY-404", T0)
    assert refusal == Refusal("not_held", "payment PAY-404 is not held")


def test_release_twice_is_refused_the_second_time(ready_agent: ValidationAgent) -> None:
    held(ready_agent)
    assert only_decision(ready_agent.release("PAY-1", T0)).outcome == "accepted"
    (refusal,) = ready_agent.release("PAY-1", T0)
    assert isinstance(refusal, Refusal)
    (refusal,) = ready_agent.reject_held("PAY-1", T0)
    assert isinstance(refusal, Refusal)
    assert balances(ready_agent) == (100_000, 0, 60_000, 0, 40_000)


# --- redelivery and V001 ----------------------------------------------------------------------


def test_identical_redelivery_re_emits_the_decision_without_reserving_again(ready_agent: ValidationAgent) -> None:
    first = only_decision(ready_agent.on_payment(make_payment()))
    again = only_decision(ready_agent.on_payment(make_payment()))
    assert again.duplicate_delivery is True
    assert again.model_copy(update={"duplicate_delivery": False}) == first
    assert balances(ready_agent) == (100_000, 0, 60_000, 0, 40_000)
    assert ready_agent.counts["duplicate_deliveries"] == 1


def test_redelivery_with_fields_in_another_order_is_identical(ready_agent: ValidationAgent) -> None:
    first = only_decision(ready_agent.on_payment(make_payment()))
    reordered = dict(reversed(list(payment_data().items())))
    assert list(reordered) != list(payment_data())
    again = only_decision(ready_agent.on_payment(Payment.model_validate_json(orjson.dumps(reordered))))
    assert again.duplicate_delivery is True
    assert again.outcome == first.outcome
    assert balances(ready_agent)[2] == 60_000


def test_identical_redelivery_of_a_held_payment_does_not_alert_again(ready_agent: ValidationAgent) -> None:
    held(ready_agent)
    emitted = ready_agent.on_payment(make_payment(payee={"kind": "individual"}))
    decision = only_decision(emitted)
    assert decision.outcome == "held"
    assert decision.duplicate_delivery is True
    assert balances(ready_agent)[2] == 60_000


def test_redelivery_after_release_re_emits_the_latest_decision(ready_agent: ValidationAgent) -> None:
    held(ready_agent)
    ready_agent.release("PAY-1", T0)
    again = only_decision(ready_agent.on_payment(make_payment(payee={"kind": "individual"})))
    assert again.outcome == "accepted"
    assert again.duplicate_delivery is True
    assert balances(ready_agent)[2] == 60_000


def test_conflicting_redelivery_is_v002_and_the_original_stands(ready_agent: ValidationAgent) -> None:
    first = only_decision(ready_agent.on_payment(make_payment()))
    conflict = only_decision(ready_agent.on_payment(make_payment(amount="100.00")))
    assert conflict.outcome == "rejected"
    assert [r.code for r in conflict.reasons] == ["V002"]
    assert conflict.duplicate_delivery is False
    record = ready_agent.payments["PAY-1"]
    assert record.status == "accepted"
    assert record.amount_fen == 60_000
    assert record.decision == first
    assert balances(ready_agent) == (100_000, 0, 60_000, 0, 40_000)
    # The original still settles, and a faithful redelivery still gets the original decision.
    assert only_decision(ready_agent.on_payment(make_payment())).outcome == "accepted"
    assert ready_agent.on_settlement(make_settlement()) == []
    assert balances(ready_agent) == (100_000, 0, 0, 60_000, 40_000)


def test_v001_does_not_bind_the_payment_id(ready_agent: ValidationAgent) -> None:
    decision = only_decision(ready_agent.on_malformed_payment("PAY-1", "IND-1", "amount: bad amount", T0))
    assert decision.outcome == "rejected"
    assert [r.code for r in decision.reasons] == ["V001"]
    assert "amount: bad amount" in decision.reasons[0].message
    assert "amount: bad amount" in decision.reasons[0].message_en
    assert decision.decided_at == T0
    assert decision.available_after == 100_000
    assert "PAY-1" not in ready_agent.payments
    corrected = only_decision(ready_agent.on_payment(make_payment()))
    assert corrected.outcome == "accepted"
    assert corrected.duplicate_delivery is False
    assert balances(ready_agent)[2] == 60_000


def test_v001_for_an_unknown_indicator_has_no_available(ready_agent: ValidationAgent) -> None:
    decision = only_decision(ready_agent.on_malformed_payment("PAY-1", None, "bad", T0))
    assert decision.indicator_id is None
    assert decision.available_after is None


def test_malformed_redelivery_of_a_decided_payment_emits_nothing(ready_agent: ValidationAgent) -> None:
    ready_agent.on_payment(make_payment())
    assert ready_agent.on_malformed_payment("PAY-1", "IND-1", "bad", T0) == []
    assert ready_agent.payments["PAY-1"].status == "accepted"
    assert ready_agent.counts["malformed_redeliveries"] == 1


# --- indicators -------------------------------------------------------------------------------


def test_higher_version_adjusts_the_amount(ready_agent: ValidationAgent) -> None:
    ready_agent.on_payment(make_payment())
    assert ready_agent.on_indicator(make_indicator(version=2, amount="1500.00")) == []
    assert balances(ready_agent) == (150_000, 0, 60_000, 0, 90_000)
    assert ready_agent.state.indicators["IND-1"].version == 2


def test_lower_or_equal_version_is_ignored_and_counted(ready_agent: ValidationAgent) -> None:
    ready_agent.on_indicator(make_indicator(version=3, amount="1500.00"))
    assert ready_agent.on_indicator(make_indicator(version=2, amount="9000.00")) == []
    assert ready_agent.on_indicator(make_indicator(version=3, amount="1500.00")) == []  # identical resend
    # The same version with other content is not applied, and kept as a dead letter saying why.
    (conflict,) = ready_agent.on_indicator(make_indicator(version=3, amount="9000.00", status="frozen"))
    assert isinstance(conflict, Refusal) and conflict.error_code == "version_conflict"
    assert ready_agent.state.stale_versions == 3
    assert balances(ready_agent) == (150_000, 0, 0, 0, 150_000)
    assert ready_agent.state.indicators["IND-1"].status == "active"


def test_adjustment_below_committed_is_refused(ready_agent: ValidationAgent) -> None:
    ready_agent.on_payment(make_payment())  # 600.00 committed
    (refusal,) = ready_agent.on_indicator(make_indicator(version=2, amount="599.99"))
    assert isinstance(refusal, Refusal)
    assert refusal.error_code == "below_committed"
    assert "599.99" in refusal.message
    assert "600.00" in refusal.message
    assert balances(ready_agent) == (100_000, 0, 60_000, 0, 40_000)
    assert ready_agent.state.indicators["IND-1"].version == 1


def test_adjustment_down_to_exactly_committed_is_applied(ready_agent: ValidationAgent) -> None:
    ready_agent.on_payment(make_payment())
    assert ready_agent.on_indicator(make_indicator(version=2, amount="600.00")) == []
    assert balances(ready_agent) == (60_000, 0, 60_000, 0, 0)


def test_allocation_to_a_child_debits_the_parents_allocated(ready_agent: ValidationAgent) -> None:
    child = make_indicator(indicator_id="IND-C", parent_indicator_id="IND-1", amount="300.00")
    assert [type(i) for i in ready_agent.on_indicator(child)] == [Drawn, Opened]
    assert balances(ready_agent) == (100_000, 30_000, 0, 0, 70_000)
    assert balances(ready_agent, "IND-C") == (30_000, 0, 0, 0, 30_000)
    # The child is adjusted up, then down: the parent's allocation follows the difference.
    ready_agent.on_indicator(make_indicator(indicator_id="IND-C", parent_indicator_id="IND-1", amount="500.00",
                                            version=2))
    assert balances(ready_agent)[1] == 50_000
    ready_agent.on_indicator(make_indicator(indicator_id="IND-C", parent_indicator_id="IND-1", amount="200.00",
                                            version=3))
    assert balances(ready_agent) == (100_000, 20_000, 0, 0, 80_000)
    assert balances(ready_agent, "IND-C") == (20_000, 0, 0, 0, 20_000)


def test_allocation_of_everything_available_is_applied(ready_agent: ValidationAgent) -> None:
    child = make_indicator(indicator_id="IND-C", parent_indicator_id="IND-1", amount="1000.00")
    assert [type(i) for i in ready_agent.on_indicator(child)] == [Drawn, Opened]
    assert balances(ready_agent) == (100_000, 100_000, 0, 0, 0)


def test_over_allocation_is_a_t002_and_the_child_does_not_exist(ready_agent: ValidationAgent) -> None:
    ready_agent.on_payment(make_payment())  # parent available 400.00
    child = make_indicator(indicator_id="IND-C", parent_indicator_id="IND-1", amount="400.01")
    signal = only_signal(ready_agent.on_indicator(child), "T002")
    assert (signal.subject_kind, signal.subject_id) == ("indicator", "IND-1")
    assert signal.at == child.issued_at
    assert signal.evidence == {
        "indicator_id": "IND-1",
        "child_indicator_id": "IND-C",
        "requested": "400.01",
        "available": "400.00",
    }
    assert "IND-C" not in ready_agent.state.indicators
    assert "IND-C" not in ready_agent.state.ledger.accounts
    assert balances(ready_agent) == (100_000, 0, 60_000, 0, 40_000)


def test_over_allocating_adjustment_is_a_t002_and_the_child_keeps_its_amount(ready_agent: ValidationAgent) -> None:
    ready_agent.on_indicator(make_indicator(indicator_id="IND-C", parent_indicator_id="IND-1", amount="300.00"))
    bigger = make_indicator(indicator_id="IND-C", parent_indicator_id="IND-1", amount="1000.01", version=2)
    signal = only_signal(ready_agent.on_indicator(bigger), "T002")
    assert signal.evidence["requested"] == "700.01"
    assert signal.evidence["available"] == "700.00"
    assert balances(ready_agent, "IND-C") == (30_000, 0, 0, 0, 30_000)
    assert balances(ready_agent)[1] == 30_000
    assert ready_agent.state.indicators["IND-C"].version == 1


def test_unknown_parent_is_refused(ready_agent: ValidationAgent) -> None:
    child = make_indicator(indicator_id="IND-C", parent_indicator_id="IND-404", amount="300.00")
    (refusal,) = ready_agent.on_indicator(child)
    assert refusal == Refusal("unknown_parent", "parent indicator IND-404 is unknown")
    assert "IND-C" not in ready_agent.state.indicators
    assert "IND-C" not in ready_agent.state.ledger.accounts


def test_moving_an_indicator_to_another_parent_is_refused(ready_agent: ValidationAgent) -> None:
    ready_agent.on_indicator(make_indicator(indicator_id="IND-2", amount="500.00"))
    ready_agent.on_indicator(make_indicator(indicator_id="IND-C", parent_indicator_id="IND-1", amount="300.00"))
    moved = make_indicator(indicator_id="IND-C", parent_indicator_id="IND-2", amount="300.00", version=2)
    (refusal,) = ready_agent.on_indicator(moved)
    assert isinstance(refusal, Refusal)
    assert refusal.error_code == "parent_changed"
    assert balances(ready_agent)[1] == 30_000
    assert balances(ready_agent, "IND-2")[1] == 0


def test_child_inherits_the_direct_fund_code(ready_agent: ValidationAgent) -> None:
    ready_agent.on_indicator(make_indicator(indicator_id="IND-D", direct_fund_code="ZD-1"))
    ready_agent.on_indicator(make_indicator(indicator_id="IND-D1", parent_indicator_id="IND-D", amount="500.00"))
    ready_agent.on_indicator(make_indicator(indicator_id="IND-D2", parent_indicator_id="IND-D1", amount="100.00"))
    assert ready_agent.state.direct_fund == {"IND-D": "ZD-1", "IND-D1": "ZD-1", "IND-D2": "ZD-1"}


# --- the ledger on its own --------------------------------------------------------------------


@pytest.fixture
def ledger() -> Ledger:
    ledger = Ledger()
    ledger.open("I", 10_000)
    ledger.reserve("I", 3_000)
    ledger.post("I", 1_000)
    return ledger  # amount 10000, reserved 2000, spent 1000, available 7000


def test_ledger_fixture_balances(ledger: Ledger) -> None:
    a = ledger.accounts["I"]
    assert (a.amount, a.allocated, a.reserved, a.spent, a.available, a.committed) == (
        10_000, 0, 2_000, 1_000, 7_000, 3_000,
    )


MISUSES: dict[str, Callable[[Ledger], None]] = {
    "open twice": lambda led: led.open("I", 1),
    "open zero": lambda led: led.open("J", 0),
    "open negative": lambda led: led.open("J", -5),
    "adjust below committed": lambda led: led.adjust("I", 2_999),
    "adjust to zero": lambda led: led.adjust("I", 0),
    "allocate beyond available": lambda led: led.allocate("I", 7_001),
    "give back more than allocated": lambda led: led.allocate("I", -1),
    "reserve beyond available": lambda led: led.reserve("I", 7_001),
    "reserve zero": lambda led: led.reserve("I", 0),
    "reserve negative": lambda led: led.reserve("I", -1),
    "void beyond reserved": lambda led: led.void("I", 2_001),
    "void zero": lambda led: led.void("I", 0),
    "post beyond reserved": lambda led: led.post("I", 2_001),
    "post negative": lambda led: led.post("I", -1),
    "reverse beyond spent": lambda led: led.reverse("I", 1_001),
    "reverse zero": lambda led: led.reverse("I", 0),
}


@pytest.mark.parametrize("misuse", sorted(MISUSES))
def test_ledger_misuse_raises_and_changes_nothing(ledger: Ledger, misuse: str) -> None:
    before = {key: (a.amount, a.allocated, a.reserved, a.spent) for key, a in ledger.accounts.items()}
    with pytest.raises(InvariantViolation):
        MISUSES[misuse](ledger)
    after = {key: (a.amount, a.allocated, a.reserved, a.spent) for key, a in ledger.accounts.items()}
    assert after == before


def test_ledger_boundaries_are_allowed(ledger: Ledger) -> None:
    ledger.adjust("I", 3_000)  # exactly committed
    assert ledger.available("I") == 0
    ledger.adjust("I", 10_000)
    ledger.allocate("I", 7_000)  # exactly available
    assert ledger.available("I") == 0
    ledger.allocate("I", -7_000)  # give it all back
    ledger.reserve("I", 7_000)
    ledger.void("I", 9_000)  # all reserved
    ledger.reverse("I", 1_000)  # all spent
    a = ledger.accounts["I"]
    assert (a.allocated, a.reserved, a.spent, a.available) == (0, 0, 0, 10_000)


def test_settlement_naming_another_indicator_is_applied_by_payment_and_flagged(ready_agent: ValidationAgent) -> None:
    ready_agent.on_payment(make_payment())
    (signal,) = ready_agent.on_settlement(make_settlement(indicator_id="IND-OTHER"))
    assert isinstance(signal, AlertSignal) and signal.code == "T005"
    assert "IND-OTHER" in signal.evidence["problem"]
    assert balances(ready_agent) == (100_000, 0, 0, 60_000, 40_000)


def test_a_returned_payment_is_not_a_duplicate_of_its_repayment(ready_agent: ValidationAgent) -> None:
    ready_agent.on_payment(make_payment())
    ready_agent.on_settlement(make_settlement(status="returned"))
    (decision,) = ready_agent.on_payment(make_payment(payment_id="PAY-2"))
    assert isinstance(decision, Decision)
    assert decision.outcome == "accepted" and decision.reasons == ()


def test_a_settlement_before_its_payment_is_applied_when_the_payment_arrives(ready_agent: ValidationAgent) -> None:
    (early,) = ready_agent.on_settlement(make_settlement())
    assert isinstance(early, AlertSignal) and early.code == "T005" and early.active
    assert balances(ready_agent) == (100_000, 0, 0, 0, 100_000)
    emitted = ready_agent.on_payment(make_payment())
    decision = emitted[0]
    assert isinstance(decision, Decision) and decision.outcome == "accepted"
    resolved = [e for e in emitted if isinstance(e, AlertSignal)]
    assert [(s.code, s.active) for s in resolved] == [("T005", False)]
    assert balances(ready_agent) == (100_000, 0, 0, 60_000, 40_000)
    assert ready_agent.payments["PAY-1"].status == "settled"
    assert not ready_agent.early_settlements
