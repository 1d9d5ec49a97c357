"""S001 三保 protection: a non-三保 payment the cash cannot afford beside the 三保 outflows due in the
next 30 days is held; held payments are released in arrival order as cash allows (a second
decision, accepted). Cash here: balance 10000.00, a 三保 payroll of 8000.00 due in 9 days, so
2000.00 of headroom."""

from datetime import datetime

import pytest

from agents.config import RulesConfig
from agents.forecasting.desk import CashDesk
from agents.validation.agent import ValidationAgent
from models.inputs import Clock
from models.outputs import Decision
from stream.engine import Engine
from tests.unit.conftest import (
    at,
    balance_data,
    flow_data,
    indicator_data,
    line,
    make_balance,
    make_flow,
    make_indicator,
    make_payment,
    make_project,
    make_settlement,
    payment_data,
    project_data,
)

PAYROLL = {"flow_id": "GZ-0310", "kind": "other_out", "amount": "8000.00", "value_date": "2022-03-10",
           "scheduled": True, "sanbao": True, "recorded_at": "2022-02-25T08:00:00+08:00"}
STATEMENT = {"balance": "10000.00", "as_of": "2022-03-01T08:00:00+08:00"}


def make_clock(now: str) -> Clock:
    return Clock.model_validate_json(f'{{"now": "{now}"}}')


def _tax(amount: str, hour: int) -> dict[str, object]:
    return {"flow_id": f"SS-{hour}", "amount": amount, "recorded_at": at(hour - 9.5)}


@pytest.fixture
def desk(rules: RulesConfig) -> tuple[ValidationAgent, CashDesk]:
    agent = ValidationAgent(rules)
    agent.on_indicator(make_indicator(economic_code="31002", amount="100000.00"))
    agent.on_indicator(make_indicator(indicator_id="IND-2", economic_code="30101", amount="100000.00"))
    agent.on_project(make_project())
    cash = CashDesk(rules)
    cash.routes(agent)
    cash.on_flow(make_flow(**PAYROLL))
    cash.on_balance(make_balance(**STATEMENT))
    return agent, cash


def _pay(agent: ValidationAgent, payment_id: str, amount: str, minutes: int, kind: str = "organization") -> Decision:
    out = agent.on_payment(make_payment(payment_id=payment_id, amount=amount, economic_code="31002",
                                        payee={"account": f"62220000{payment_id}", "kind": kind},
                                        requested_at=at(minutes=minutes)))
    return next(o for o in out if isinstance(o, Decision))


def test_a_payment_the_cash_allows_is_accepted(desk: tuple[ValidationAgent, CashDesk]) -> None:
    agent, _ = desk
    assert _pay(agent, "A", "2000.00", 0).outcome == "accepted"  # exactly the headroom


def test_a_payment_below_the_sanbao_due_is_held_with_the_figures(desk: tuple[ValidationAgent, CashDesk]) -> None:
    agent, _ = desk
    decision = _pay(agent, "B", "2000.01", 0)
    assert decision.outcome == "held" and [r.code for r in decision.reasons] == ["S001"]
    assert "8000.00" in decision.reasons[0].message and "三保" in decision.reasons[0].message_en
    assert agent.state.ledger.accounts["IND-1"].reserved == 200_001  # a hold reserves, as every hold does


def test_sanbao_payments_are_never_held(desk: tuple[ValidationAgent, CashDesk]) -> None:
    agent, _ = desk
    out = agent.on_payment(make_payment(payment_id="W", indicator_id="IND-2", economic_code="30101",
                                        amount="50000.00", requested_at=at()))
    assert next(o for o in out if isinstance(o, Decision)).outcome == "accepted"
    # ...and it is itself a 三保 obligation: the next non-三保 payment sees less headroom.
    assert _pay(agent, "X", "1.00", 1).outcome == "held"


def test_no_s001_before_a_balance_statement(rules: RulesConfig) -> None:
    agent = ValidationAgent(rules)
    agent.on_indicator(make_indicator(economic_code="31002", amount="100000.00"))
    agent.on_project(make_project())
    CashDesk(rules).routes(agent)
    assert _pay(agent, "A", "90000.00", 0).outcome == "accepted"


def test_held_payments_are_released_in_arrival_order_when_cash_allows(desk: tuple[ValidationAgent, CashDesk]) -> None:
    agent, cash = desk
    assert _pay(agent, "A", "1500.00", 0).outcome == "accepted"
    assert _pay(agent, "B", "1000.00", 10).outcome == "held"
    assert _pay(agent, "C", "300.00", 20).outcome == "held"  # it alone would fit, but B came first
    # 600.00 comes in: B still does not fit (7800 < 8000), and C may not jump ahead of it.
    assert cash.on_flow(make_flow(**_tax("600.00", 11))) == []
    out = cash.on_flow(make_flow(**_tax("1000.00", 12)))
    released = [o for o in out if isinstance(o, Decision)]
    assert [(d.payment_id, d.outcome) for d in released] == [("B", "accepted"), ("C", "accepted")]
    assert all(d.decided_at == datetime.fromisoformat(at(2.5)) for d in released)
    assert agent.payments["B"].status == agent.payments["C"].status == "accepted"
    assert cash.forecasting.books["150100"].held == {}


def test_a_balance_statement_can_release(desk: tuple[ValidationAgent, CashDesk]) -> None:
    agent, cash = desk
    assert _pay(agent, "B", "2500.00", 0).outcome == "held"
    out = cash.on_balance(make_balance(balance="10600.00", as_of=at(days=1)))
    assert [(o.payment_id, o.outcome) for o in out if isinstance(o, Decision)] == [("B", "accepted")]


def test_a_hold_with_another_reason_waits_for_an_operator(desk: tuple[ValidationAgent, CashDesk]) -> None:
    agent, cash = desk
    held = _pay(agent, "P", "2500.00", 0, kind="individual")
    assert [r.code for r in held.reasons] == ["F004", "S001"]
    assert [o for o in cash.on_flow(make_flow(**_tax("5000.00", 12))) if isinstance(o, Decision)] == []
    assert agent.payments["P"].status == "held"


def test_an_operator_release_leaves_the_queue(desk: tuple[ValidationAgent, CashDesk]) -> None:
    agent, cash = desk
    assert _pay(agent, "B", "2500.00", 0).outcome == "held"
    assert _pay(agent, "C", "100.00", 1).outcome == "held"
    agent.release("B", datetime.fromisoformat(at(1)))  # the director approved it early
    book = cash.forecasting.books["150100"]
    assert list(book.held) == ["C"] and "B" in book.pending
    out = cash.on_flow(make_flow(**_tax("700.00", 12)))
    assert [(o.payment_id, o.outcome) for o in out if isinstance(o, Decision)] == [("C", "accepted")]


def test_settlement_moves_the_promise_into_the_history(desk: tuple[ValidationAgent, CashDesk]) -> None:
    agent, cash = desk
    assert _pay(agent, "A", "1500.00", 0).outcome == "accepted"
    agent.on_settlement(make_settlement(payment_id="A", amount="1500.00", settled_at=at(3)))
    book = cash.forecasting.books["150100"]
    assert book.pending == {} and book.position == 1_000_000 - 150_000
    assert book.days[datetime.fromisoformat(at(3)).date()].outflow == 150_000


def test_the_engine_writes_the_release_as_a_second_decision(rules: RulesConfig) -> None:
    engine = Engine(rules)
    lines = [
        line("indicator", indicator_data(economic_code="31002", amount="100000.00")),
        line("project", project_data()),
        line("treasury_flow", flow_data(**PAYROLL)),
        line("treasury_balance", balance_data(**STATEMENT)),
        line("payment", payment_data(payment_id="B", economic_code="31002", amount="2500.00")),
        line("treasury_flow", flow_data(**_tax("600.00", 12))),
    ]
    out = [o for n, raw in enumerate(lines) for o in engine.handle_line(raw, "t", n)]
    decisions = [(d.payment_id, d.outcome) for d in out if isinstance(d, Decision)]
    assert decisions == [("B", "held"), ("B", "accepted")]


def test_a_clock_past_the_sanbao_date_releases_what_it_protected(desk: tuple[ValidationAgent, CashDesk]) -> None:
    agent, cash = desk
    assert _pay(agent, "B", "2500.00", 0).outcome == "held"
    assert cash.on_clock(make_clock(now="2022-03-10T00:00:00+08:00")) == []  # payroll day: still due
    out = cash.on_clock(make_clock(now="2022-03-11T00:00:00+08:00"))  # its day passed without it
    assert [(o.payment_id, o.outcome) for o in out if isinstance(o, Decision)] == [("B", "accepted")]
