"""Allocation as steps across partitions: pending children, parked payments, redelivered steps."""

from agents.config import RulesConfig
from agents.validation.agent import ValidationAgent
from agents.validation.budget import Credit, Debit, Drawn, Opened, Verdict
from alerts.signals import AlertSignal
from models.inputs import Indicator
from models.outputs import Decision
from tests.unit.conftest import make_indicator, make_payment, make_project, make_settlement


def _agent(rules: RulesConfig) -> ValidationAgent:
    agent = ValidationAgent(rules)
    agent.on_project(make_project())
    agent.receive_indicator(make_indicator(amount="1000.00"))  # IND-1, a root: applied at once
    return agent


def _out(items: "list[object]") -> list[object]:
    """What a step hands on or decides, without the facts for the tracing agent."""
    return [item for item in items if not isinstance(item, Opened | Drawn)]


def _child(**overrides: object) -> Indicator:
    fields: dict[str, object] = {"indicator_id": "CH-1", "parent_indicator_id": "IND-1", "amount": "300.00"}
    return make_indicator(**(fields | overrides))


def test_a_growing_child_waits_for_its_parent_and_its_payments_wait_with_it(rules: RulesConfig) -> None:
    agent = _agent(rules)
    (debit,) = agent.receive_indicator(_child())
    assert isinstance(debit, Debit) and debit.delta_fen == 30_000
    assert "CH-1" in agent.state.pending and "CH-1" not in agent.state.indicators
    assert agent.on_payment(make_payment(indicator_id="CH-1", amount="100.00")) == []  # parked
    (verdict,) = _out(agent.on_step(debit))
    assert isinstance(verdict, Verdict) and verdict.granted
    assert agent.state.ledger.accounts["IND-1"].allocated == 30_000
    (decision,) = _out(agent.on_step(verdict))
    assert isinstance(decision, Decision) and decision.outcome == "accepted"
    assert decision.available_after == 20_000
    assert not agent.parked and not agent.state.pending


def test_redelivered_steps_change_nothing_twice(rules: RulesConfig) -> None:
    agent = _agent(rules)
    (debit,) = agent.receive_indicator(_child())
    (verdict,) = _out(agent.on_step(debit))
    assert _out(agent.on_step(debit)) == [verdict]  # the same answer again, no second debit
    assert agent.state.ledger.accounts["IND-1"].allocated == 30_000
    assert [type(item) for item in agent.on_step(verdict)] == [Opened]
    assert agent.on_step(verdict) == []
    assert agent.state.ledger.accounts["CH-1"].amount == 30_000
    (credit,) = agent.receive_indicator(_child(version=2, amount="200.00"))
    assert isinstance(credit, Credit) and credit.delta_fen == 10_000
    agent.on_step(credit)
    agent.on_step(credit)
    assert agent.state.ledger.accounts["IND-1"].allocated == 20_000


def test_a_refused_child_never_exists_and_its_waiting_payments_are_b001(rules: RulesConfig) -> None:
    agent = _agent(rules)
    (debit,) = agent.receive_indicator(_child(amount="1000.01"))
    agent.on_payment(make_payment(indicator_id="CH-1", amount="1.00"))
    signal, verdict = _out(agent.on_step(debit))
    assert isinstance(signal, AlertSignal) and signal.code == "T002"
    assert isinstance(verdict, Verdict) and not verdict.granted
    (decision,) = _out(agent.on_step(verdict))
    assert isinstance(decision, Decision) and decision.reasons[0].code == "B001"
    assert "CH-1" not in agent.state.indicators and agent.state.ledger.accounts["IND-1"].allocated == 0


def test_steps_run_later_give_the_same_ledger_as_steps_run_at_once(rules: RulesConfig) -> None:
    at_once, later = _agent(rules), _agent(rules)
    versions = [_child(), _child(version=2, amount="500.00"), _child(version=3, amount="100.00"),
                make_indicator(indicator_id="CH-2", parent_indicator_id="IND-1", amount="400.00")]
    for version in versions:
        at_once.on_indicator(version)
    queue = []
    for version in versions:
        queue.extend(later.receive_indicator(version))
    while queue:  # deliver the oldest step, and each step twice (redelivery)
        step = queue.pop(0)
        queue.extend(s for s in later.on_step(step) if isinstance(s, Debit | Verdict | Credit))
        later.on_step(step)
    for key in ("IND-1", "CH-1", "CH-2"):
        a, b = at_once.state.ledger.accounts[key], later.state.ledger.accounts[key]
        assert (a.amount, a.allocated, a.reserved, a.spent) == (b.amount, b.allocated, b.reserved, b.spent)
    assert at_once.state.ledger.accounts["IND-1"].allocated == 50_000


def test_parked_payments_and_settlements_keep_their_order(rules: RulesConfig) -> None:
    """A return parked behind two payments frees its money only after both were decided."""
    agent = _agent(rules)
    (debit,) = agent.receive_indicator(_child())
    agent.on_payment(make_payment(payment_id="P1", indicator_id="CH-1", amount="100.00"))
    agent.on_payment(make_payment(payment_id="P2", indicator_id="CH-1", amount="50.00",
                                  payee={"account": "6222000000000002"}))
    agent.on_settlement(make_settlement(payment_id="P1", indicator_id="CH-1", status="returned", amount="100.00"))
    (verdict,) = _out(agent.on_step(debit))
    first, second = _out(agent.on_step(verdict))
    assert isinstance(first, Decision) and first.available_after == 20_000
    assert isinstance(second, Decision) and second.available_after == 15_000  # P1 still reserved then
    assert agent.state.ledger.accounts["CH-1"].reserved == 5_000  # and returned afterwards
