"""Every payment rule code of DESIGN §4: where it fires, and the same setup minus the one difference."""

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.validation.agent import ValidationAgent
from agents.validation.rules import local_year
from alerts.catalogue import CATALOGUE
from alerts.signals import AlertSignal
from models.outputs import Decision
from tests.unit.conftest import (
    at,
    make_block,
    make_indicator,
    make_payment,
    make_project,
    make_settlement,
)

CATALOGUE_ORDER = list(CATALOGUE)


def decide(agent: ValidationAgent, **overrides: Any) -> Decision:
    """Decide one payment; return its decision (the first thing emitted)."""
    emitted = agent.on_payment(make_payment(**overrides))
    decision = emitted[0]
    assert isinstance(decision, Decision)
    return decision


def signals(agent: ValidationAgent, **overrides: Any) -> list[AlertSignal]:
    return [e for e in agent.on_payment(make_payment(**overrides)) if isinstance(e, AlertSignal)]


def codes(decision: Decision) -> list[str]:
    return [reason.code for reason in decision.reasons]


def assert_fires(decision: Decision, code: str, outcome: str, *specifics: str) -> None:
    """The decision has exactly this reason, rendered in full, naming every specific."""
    assert decision.outcome == outcome
    assert codes(decision) == [code]
    (reason,) = decision.reasons
    assert reason.message.strip()
    assert reason.message_en.strip()
    assert reason.clause.strip()
    assert reason.clause == CATALOGUE[code].clause
    for specific in specifics:
        assert specific in reason.message, (specific, reason.message)
        assert specific in reason.message_en, (specific, reason.message_en)


def assert_accepted(decision: Decision) -> None:
    assert decision.outcome == "accepted"
    assert decision.reasons == ()
    assert decision.duplicate_delivery is False


def test_the_baseline_payment_is_accepted_and_reserves(ready_agent: ValidationAgent) -> None:
    decision = decide(ready_agent)
    assert_accepted(decision)
    assert decision.payment_id == "PAY-1"
    assert decision.indicator_id == "IND-1"
    assert decision.available_after == 40_000
    assert decision.decided_at == make_payment().requested_at


# --- V002 -------------------------------------------------------------------------------------


def test_v002_same_id_other_content_is_rejected(ready_agent: ValidationAgent) -> None:
    assert_accepted(decide(ready_agent))
    decision = decide(ready_agent, amount="500.00")
    assert_fires(decision, "V002", "rejected", "PAY-1")
    assert decision.duplicate_delivery is False
    # Nothing more was reserved: only the first 600.00.
    assert ready_agent.state.ledger.available("IND-1") == 40_000


def test_v002_same_id_same_content_is_the_original_decision(ready_agent: ValidationAgent) -> None:
    first = decide(ready_agent)
    again = decide(ready_agent)
    assert again.outcome == "accepted"
    assert again.reasons == ()
    assert again.duplicate_delivery is True
    assert again.model_copy(update={"duplicate_delivery": False}) == first


# --- B001 - B006 ------------------------------------------------------------------------------


def test_b001_unknown_indicator(ready_agent: ValidationAgent) -> None:
    decision = decide(ready_agent, indicator_id="IND-404")
    assert_fires(decision, "B001", "rejected", "IND-404")
    assert decision.available_after is None


def test_b001_known_indicator_is_accepted(ready_agent: ValidationAgent) -> None:
    assert_accepted(decide(ready_agent, indicator_id="IND-1"))


@pytest.mark.parametrize("status", ["frozen", "cancelled"])
def test_b002_inactive_indicator(agent: ValidationAgent, status: str) -> None:
    agent.on_indicator(make_indicator(status=status))
    agent.on_project(make_project())
    decision = decide(agent)
    assert_fires(decision, "B002", "rejected", "IND-1", status)
    assert decision.available_after == 100_000


def test_b002_active_indicator_is_accepted(agent: ValidationAgent) -> None:
    agent.on_indicator(make_indicator(status="active"))
    agent.on_project(make_project())
    assert_accepted(decide(agent))


def test_b002_freeze_by_adjustment_applies_to_later_payments(ready_agent: ValidationAgent) -> None:
    ready_agent.on_indicator(make_indicator(version=2, status="frozen"))
    assert_fires(decide(ready_agent), "B002", "rejected", "frozen")


def test_b003_payment_year_in_its_own_offset(ready_agent: ValidationAgent) -> None:
    # 2023-01-01 00:30 in Hohhot is still 2022-12-31 16:30 UTC: the local year (2023) counts.
    decision = decide(ready_agent, requested_at="2023-01-01T00:30:00+08:00")
    assert_fires(decision, "B003", "rejected", "2023", "2022")


def test_b003_year_is_taken_in_treasury_local_time(ready_agent: ValidationAgent) -> None:
    # 2022-12-31 23:30 at -05:00 is 2023-01-01 12:30 in Beijing: the treasury's fiscal year 2023.
    assert_fires(decide(ready_agent, requested_at="2022-12-31T23:30:00-05:00"), "B003", "rejected", "2023")
    # 2022-12-31 15:30 UTC is 23:30 in Beijing: still 2022.
    assert_accepted(decide(ready_agent, payment_id="PAY-2", amount="1.00", requested_at="2022-12-31T15:30:00+00:00"))
    assert_accepted(decide(ready_agent, payment_id="PAY-3", amount="2.00",
                           requested_at="2022-12-31T23:30:00+08:00"))


def test_b003_payment_in_an_earlier_year(ready_agent: ValidationAgent) -> None:
    assert_fires(decide(ready_agent, requested_at="2021-12-31T23:59:59+08:00"), "B003", "rejected", "2021")


def test_b004_agency_mismatch(ready_agent: ValidationAgent) -> None:
    assert_fires(decide(ready_agent, agency_code="AG-2"), "B004", "rejected", "AG-2", "AG-1")


def test_b004_same_agency_is_accepted(ready_agent: ValidationAgent) -> None:
    assert_accepted(decide(ready_agent, agency_code="AG-1"))


def test_b005_function_code_mismatch(ready_agent: ValidationAgent) -> None:
    decision = decide(ready_agent, function_code="2050102")
    assert_fires(decision, "B005", "rejected", "2050102", "2050101")


def test_b005_economic_code_mismatch_on_a_current_indicator(ready_agent: ValidationAgent) -> None:
    decision = decide(ready_agent, economic_code="30202")
    assert_fires(decision, "B005", "rejected", "30202", "30201")


def test_b005_same_codes_are_accepted(ready_agent: ValidationAgent) -> None:
    assert_accepted(decide(ready_agent, function_code="2050101", economic_code="30201"))


def test_b006_amount_above_available(ready_agent: ValidationAgent) -> None:
    decision = decide(ready_agent, amount="1000.01")
    assert_fires(decision, "B006", "rejected", "1000.01", "1000.00")
    assert decision.available_after == 100_000


def test_b006_amount_equal_to_available_is_accepted(ready_agent: ValidationAgent) -> None:
    decision = decide(ready_agent, amount="1000.00")
    assert_accepted(decision)
    assert decision.available_after == 0


def test_b006_counts_reservations(ready_agent: ValidationAgent) -> None:
    assert_accepted(decide(ready_agent))  # 600.00 reserved, 400.00 left
    rejected = decide(ready_agent, payment_id="PAY-2", amount="400.01")
    assert_fires(rejected, "B006", "rejected", "400.01", "400.00")
    accepted = decide(ready_agent, payment_id="PAY-3", amount="400.00")
    assert_accepted(accepted)
    assert accepted.available_after == 0


def test_b006_counts_allocations_to_children(ready_agent: ValidationAgent) -> None:
    ready_agent.on_indicator(make_indicator(indicator_id="IND-C", parent_indicator_id="IND-1", amount="300.00"))
    assert_fires(decide(ready_agent, amount="700.01"), "B006", "rejected", "700.01", "700.00")
    assert_accepted(decide(ready_agent, payment_id="PAY-2", amount="700.00"))


def test_b006_counts_spending(ready_agent: ValidationAgent) -> None:
    assert_accepted(decide(ready_agent))
    ready_agent.on_settlement(make_settlement())
    assert_fires(decide(ready_agent, payment_id="PAY-2", amount="400.01"), "B006", "rejected", "400.00")


# --- P001 - P003 ------------------------------------------------------------------------------


def test_p001_project_not_in_library(agent: ValidationAgent) -> None:
    agent.on_indicator(make_indicator())
    assert_fires(decide(agent), "P001", "rejected", "PRJ-1")


def test_p001_project_in_library_is_accepted(agent: ValidationAgent) -> None:
    agent.on_indicator(make_indicator())
    agent.on_project(make_project())
    assert_accepted(decide(agent))


@pytest.mark.parametrize("status", ["reserve", "approved", "completed", "terminated"])
def test_p002_project_not_executable(agent: ValidationAgent, status: str) -> None:
    agent.on_indicator(make_indicator())
    agent.on_project(make_project(status=status))
    assert_fires(decide(agent), "P002", "rejected", "PRJ-1", status)


@pytest.mark.parametrize("status", ["budgeted", "executing"])
def test_p002_executable_project_is_accepted(agent: ValidationAgent, status: str) -> None:
    agent.on_indicator(make_indicator())
    agent.on_project(make_project(status=status))
    assert_accepted(decide(agent))


def test_p002_uses_the_latest_project_version(ready_agent: ValidationAgent) -> None:
    ready_agent.on_project(make_project(version=2, status="terminated"))
    ready_agent.on_project(make_project(version=1, status="executing"))  # stale: ignored
    assert_fires(decide(ready_agent), "P002", "rejected", "terminated")


def test_p003_project_differs_from_the_indicators(ready_agent: ValidationAgent) -> None:
    ready_agent.on_project(make_project(project_id="PRJ-2"))
    assert_fires(decide(ready_agent, project_id="PRJ-2"), "P003", "rejected", "PRJ-2", "PRJ-1")


def test_p003_same_project_is_accepted(ready_agent: ValidationAgent) -> None:
    ready_agent.on_project(make_project(project_id="PRJ-2"))
    assert_accepted(decide(ready_agent, project_id="PRJ-1"))


# --- C001 -------------------------------------------------------------------------------------


def _carryover_agent(agent: ValidationAgent, *, research: bool = False) -> ValidationAgent:
    agent.on_indicator(make_indicator(source="carryover"))
    agent.on_project(make_project(research=research))
    return agent


def test_c001_carryover_under_another_economic_code(agent: ValidationAgent) -> None:
    decision = decide(_carryover_agent(agent), economic_code="30202")
    assert_fires(decision, "C001", "rejected", "30202", "30201")
    assert decision.available_after == 100_000


def test_c001_carryover_under_its_own_codes_is_accepted(agent: ValidationAgent) -> None:
    assert_accepted(decide(_carryover_agent(agent), economic_code="30201"))


def test_c001_research_project_is_accepted_with_an_info_reason(agent: ValidationAgent) -> None:
    decision = decide(_carryover_agent(agent, research=True), economic_code="30202")
    assert decision.outcome == "accepted"
    assert codes(decision) == ["C001"]
    (reason,) = decision.reasons
    assert "30202" in reason.message
    assert "30202" in reason.message_en
    assert reason.clause
    assert decision.available_after == 40_000  # accepted: reserved


def test_c001_carryover_under_another_function_code_is_b005(agent: ValidationAgent) -> None:
    decision = decide(_carryover_agent(agent), function_code="2050102")
    assert_fires(decision, "B005", "rejected", "2050102", "2050101")


def test_c001_carryover_under_other_function_and_economic_codes_is_b005_only(agent: ValidationAgent) -> None:
    decision = decide(_carryover_agent(agent, research=True), function_code="2050102", economic_code="30202")
    assert_fires(decision, "B005", "rejected", "2050102", "30202")


# --- A001 -------------------------------------------------------------------------------------


def test_a001_advance_without_approval(ready_agent: ValidationAgent) -> None:
    decision = decide(ready_agent, advance=True)
    assert_fires(decision, "A001", "rejected")
    assert "审批" in decision.reasons[0].message
    assert "approval" in decision.reasons[0].message_en


def test_a001_advance_with_approval_is_accepted(ready_agent: ValidationAgent) -> None:
    assert_accepted(decide(ready_agent, advance=True, advance_approval="内财预〔2022〕12号"))


def test_a001_no_advance_needs_no_approval(ready_agent: ValidationAgent) -> None:
    assert_accepted(decide(ready_agent, advance=False))


# --- D001 -------------------------------------------------------------------------------------

KIND_ZH = {"fiscal_special_account": "财政专户", "platform_company": "融资平台公司", "own_account": "本单位账户"}


@pytest.mark.parametrize("kind", sorted(KIND_ZH))
def test_d001_direct_funds_to_a_forbidden_account(agent: ValidationAgent, kind: str) -> None:
    agent.on_indicator(make_indicator(direct_fund_code="ZD-2022-001"))
    agent.on_project(make_project())
    emitted = agent.on_payment(make_payment(payee={"kind": kind}))
    decision = emitted[0]
    assert isinstance(decision, Decision)
    assert_fires(decision, "D001", "rejected")
    assert KIND_ZH[kind] in decision.reasons[0].message
    assert kind in decision.reasons[0].message_en
    alerts = [e for e in emitted if isinstance(e, AlertSignal)]
    assert [(s.code, s.subject_kind, s.subject_id) for s in alerts] == [("D001", "payment", "PAY-1"),
                                                                        ("T004", "payment", "PAY-1")]
    assert alerts[0].evidence["direct_fund_code"] == alerts[1].evidence["direct_fund_code"] == "ZD-2022-001"


def test_d001_direct_funds_to_an_organization_are_accepted(agent: ValidationAgent) -> None:
    agent.on_indicator(make_indicator(direct_fund_code="ZD-2022-001"))
    agent.on_project(make_project())
    assert_accepted(decide(agent, payee={"kind": "organization"}))


@pytest.mark.parametrize("kind", sorted(KIND_ZH))
def test_d001_ordinary_funds_may_go_to_those_accounts(ready_agent: ValidationAgent, kind: str) -> None:
    assert_accepted(decide(ready_agent, payee={"kind": kind}))


def test_d001_through_an_inherited_direct_fund(agent: ValidationAgent) -> None:
    agent.on_indicator(make_indicator(direct_fund_code="ZD-2022-001"))
    agent.on_indicator(make_indicator(indicator_id="IND-C", parent_indicator_id="IND-1", amount="800.00",
                                      issued_at="2022-01-20T09:00:00+08:00"))
    agent.on_project(make_project())
    emitted = agent.on_payment(make_payment(indicator_id="IND-C", payee={"kind": "platform_company"}))
    decision = emitted[0]
    assert isinstance(decision, Decision)
    assert_fires(decision, "D001", "rejected")
    assert "融资平台公司" in decision.reasons[0].message
    assert "platform_company" in decision.reasons[0].message_en
    (signal,) = [e for e in emitted if isinstance(e, AlertSignal) and e.code == "D001"]
    assert signal.evidence["direct_fund_code"] == "ZD-2022-001"


def test_d001_child_of_an_ordinary_parent_is_accepted(agent: ValidationAgent) -> None:
    agent.on_indicator(make_indicator())
    agent.on_indicator(make_indicator(indicator_id="IND-C", parent_indicator_id="IND-1", amount="800.00",
                                      issued_at="2022-01-20T09:00:00+08:00"))
    agent.on_project(make_project())
    assert_accepted(decide(agent, indicator_id="IND-C", payee={"kind": "platform_company"}))


# --- F001 -------------------------------------------------------------------------------------


@pytest.fixture
def big_agent(agent: ValidationAgent) -> ValidationAgent:
    """An indicator large enough for splits around the 500000.00 review threshold."""
    agent.on_indicator(make_indicator(amount="5000000.00"))
    agent.on_project(make_project())
    return agent


def _split(
    agent: ValidationAgent, amounts: list[str], hours: list[float], start: int = 1, **overrides: Any
) -> list[Decision]:
    return [
        decide(agent, payment_id=f"SPLIT-{n}", amount=amount, requested_at=at(hour), **overrides)
        for n, (amount, hour) in enumerate(zip(amounts, hours, strict=True), start=start)
    ]


def test_f001_split_payments_completing_the_pattern_are_held(big_agent: ValidationAgent) -> None:
    first, second, third = _split(big_agent, ["200000.00", "200000.01", "100000.00"], [0, 1, 2])
    assert_accepted(first)
    assert_accepted(second)
    assert_fires(third, "F001", "held", "3", "500000.01", "500000.00")
    # A held payment keeps its reservation.
    assert third.available_after == 500_000_000 - 50_000_001


def test_f001_sum_exactly_at_threshold_is_accepted(big_agent: ValidationAgent) -> None:
    decisions = _split(big_agent, ["200000.00", "200000.01", "99999.99"], [0, 1, 2])
    for decision in decisions:
        assert_accepted(decision)


def test_f001_below_the_minimum_count_is_accepted(big_agent: ValidationAgent) -> None:
    for decision in _split(big_agent, ["300000.00", "250000.00"], [0, 1]):
        assert_accepted(decision)


def test_f001_a_payment_at_the_threshold_is_not_a_split(big_agent: ValidationAgent) -> None:
    for decision in _split(big_agent, ["200000.00", "200000.01", "500000.00"], [0, 1, 2]):
        assert_accepted(decision)


def test_f001_outside_the_24h_window_is_accepted(big_agent: ValidationAgent) -> None:
    for decision in _split(big_agent, ["200000.00", "200000.01", "100000.00"], [0, 1, 24 + 1 / 60]):
        assert_accepted(decision)


def test_f001_just_inside_the_24h_window_is_held(big_agent: ValidationAgent) -> None:
    *_, third = _split(big_agent, ["200000.00", "200000.01", "100000.00"], [0, 1, 24 - 1 / 60])
    assert_fires(third, "F001", "held", "500000.01")


def test_f001_other_payee_account_is_accepted(big_agent: ValidationAgent) -> None:
    _split(big_agent, ["200000.00", "200000.01"], [0, 1])
    third = decide(big_agent, payment_id="SPLIT-3", amount="100000.00", requested_at=at(2),
                   payee={"account": "6222000000000999"})
    assert_accepted(third)


def test_f001_other_agency_does_not_count(big_agent: ValidationAgent) -> None:
    big_agent.on_indicator(make_indicator(indicator_id="IND-2", agency_code="AG-2", amount="5000000.00"))
    _split(big_agent, ["200000.00", "200000.01"], [0, 1])
    third = decide(big_agent, payment_id="SPLIT-3", indicator_id="IND-2", agency_code="AG-2",
                   amount="100000.00", requested_at=at(2))
    assert_accepted(third)


def test_f001_ignores_an_earlier_payment_rejected_when_decided(big_agent: ValidationAgent) -> None:
    rejected = decide(big_agent, payment_id="SPLIT-1", amount="200000.00", requested_at=at(0), advance=True)
    assert rejected.outcome == "rejected"
    second, third = _split(big_agent, ["200000.01", "100000.00"], [1, 2], start=2)
    assert_accepted(second)
    assert_accepted(third)


def test_f001_ignores_an_earlier_held_payment_later_rejected(big_agent: ValidationAgent) -> None:
    # SPLIT-1 goes to an individual under 30201: held by F004, then rejected by the operator.
    first = decide(big_agent, payment_id="SPLIT-1", amount="200000.00", requested_at=at(0),
                   payee={"kind": "individual"})
    assert first.outcome == "held"
    big_agent.reject_held("SPLIT-1", make_payment().requested_at)
    second = decide(big_agent, payment_id="SPLIT-2", amount="200000.01", requested_at=at(1))
    third = decide(big_agent, payment_id="SPLIT-3", amount="100000.00", requested_at=at(2))
    assert_accepted(second)
    assert_accepted(third)


def test_f001_counts_an_earlier_held_payment_still_held(big_agent: ValidationAgent) -> None:
    first = decide(big_agent, payment_id="SPLIT-1", amount="200000.00", requested_at=at(0),
                   payee={"kind": "individual"})
    assert first.outcome == "held"
    decide(big_agent, payment_id="SPLIT-2", amount="200000.01", requested_at=at(1))
    third = decide(big_agent, payment_id="SPLIT-3", amount="100000.00", requested_at=at(2))
    assert_fires(third, "F001", "held", "500000.01")


def test_f001_raises_an_alert_about_the_payment(big_agent: ValidationAgent) -> None:
    _split(big_agent, ["200000.00", "200000.01"], [0, 1])
    (signal,) = signals(big_agent, payment_id="SPLIT-3", amount="100000.00", requested_at=at(2))
    assert (signal.code, signal.subject_kind, signal.subject_id) == ("F001", "payment", "SPLIT-3")
    assert signal.evidence["payment_ids"] == ["SPLIT-1", "SPLIT-2"]


# --- F002 -------------------------------------------------------------------------------------


@pytest.fixture
def dup_agent(agent: ValidationAgent) -> ValidationAgent:
    agent.on_indicator(make_indicator(amount="10000.00"))
    agent.on_indicator(make_indicator(indicator_id="IND-2", economic_code="30202", amount="10000.00"))
    agent.on_project(make_project())
    return agent


def test_f002_same_account_amount_and_code_within_7_days(dup_agent: ValidationAgent) -> None:
    assert_accepted(decide(dup_agent, payment_id="PAY-1"))
    decision = decide(dup_agent, payment_id="PAY-2", requested_at=at(days=1))
    assert_fires(decision, "F002", "held", "PAY-1", "7")
    assert decision.available_after == 1_000_000 - 2 * 60_000


def test_f002_exactly_7_days_later_is_held(dup_agent: ValidationAgent) -> None:
    decide(dup_agent, payment_id="PAY-1")
    assert_fires(decide(dup_agent, payment_id="PAY-2", requested_at=at(days=7)), "F002", "held", "PAY-1")


def test_f002_outside_the_7_day_window_is_accepted(dup_agent: ValidationAgent) -> None:
    decide(dup_agent, payment_id="PAY-1")
    assert_accepted(decide(dup_agent, payment_id="PAY-2", requested_at=at(days=7, minutes=1)))


def test_f002_same_amount_other_economic_code_is_accepted(dup_agent: ValidationAgent) -> None:
    decide(dup_agent, payment_id="PAY-1")
    assert_accepted(decide(dup_agent, payment_id="PAY-2", indicator_id="IND-2", economic_code="30202",
                           requested_at=at(days=1)))


def test_f002_other_amount_is_accepted(dup_agent: ValidationAgent) -> None:
    decide(dup_agent, payment_id="PAY-1")
    assert_accepted(decide(dup_agent, payment_id="PAY-2", amount="600.01", requested_at=at(days=1)))


def test_f002_other_payee_account_is_accepted(dup_agent: ValidationAgent) -> None:
    decide(dup_agent, payment_id="PAY-1")
    assert_accepted(decide(dup_agent, payment_id="PAY-2", requested_at=at(days=1),
                           payee={"account": "6222000000000999"}))


def test_f002_ignores_an_earlier_payment_rejected_when_decided(dup_agent: ValidationAgent) -> None:
    assert decide(dup_agent, payment_id="PAY-1", advance=True).outcome == "rejected"
    assert_accepted(decide(dup_agent, payment_id="PAY-2", requested_at=at(days=1)))


def test_f002_ignores_an_earlier_held_payment_later_rejected(dup_agent: ValidationAgent) -> None:
    individual = {"kind": "individual"}
    assert codes(decide(dup_agent, payment_id="PAY-1", payee=individual)) == ["F004"]
    dup_agent.reject_held("PAY-1", make_payment().requested_at)
    second = decide(dup_agent, payment_id="PAY-2", payee=individual, requested_at=at(days=1))
    assert_fires(second, "F004", "held", "30201")  # held for F004 alone: no F002


def test_f002_an_earlier_held_payment_still_held_counts(dup_agent: ValidationAgent) -> None:
    individual = {"kind": "individual"}
    decide(dup_agent, payment_id="PAY-1", payee=individual)
    second = decide(dup_agent, payment_id="PAY-2", payee=individual, requested_at=at(days=1))
    assert second.outcome == "held"
    assert sorted(codes(second)) == ["F002", "F004"]


def test_f002_counts_an_earlier_settled_payment(dup_agent: ValidationAgent) -> None:
    decide(dup_agent, payment_id="PAY-1")
    dup_agent.on_settlement(make_settlement())
    assert_fires(decide(dup_agent, payment_id="PAY-2", requested_at=at(days=2)), "F002", "held", "PAY-1")


# --- F003 -------------------------------------------------------------------------------------


def test_f003_blocked_payee_account(ready_agent: ValidationAgent) -> None:
    ready_agent.on_block(make_block(account="6222000000000001", reason="涉嫌电信诈骗"))
    emitted = ready_agent.on_payment(make_payment())
    decision = emitted[0]
    assert isinstance(decision, Decision)
    assert_fires(decision, "F003", "rejected", "涉嫌电信诈骗")
    assert decision.available_after == 100_000
    assert [s.code for s in emitted if isinstance(s, AlertSignal)] == ["F003"]


def test_f003_other_account_blocked_is_accepted(ready_agent: ValidationAgent) -> None:
    ready_agent.on_block(make_block(account="6222000000000999"))
    assert_accepted(decide(ready_agent))


# --- F004 -------------------------------------------------------------------------------------


def test_f004_individual_under_a_non_personal_code_is_held(ready_agent: ValidationAgent) -> None:
    emitted = ready_agent.on_payment(make_payment(payee={"kind": "individual"}))
    decision = emitted[0]
    assert isinstance(decision, Decision)
    assert_fires(decision, "F004", "held", "30201")
    assert decision.available_after == 40_000
    assert [s.code for s in emitted if isinstance(s, AlertSignal)] == ["F004"]


def test_f004_organization_under_the_same_code_is_accepted(ready_agent: ValidationAgent) -> None:
    assert_accepted(decide(ready_agent, payee={"kind": "organization"}))


@pytest.mark.parametrize("economic_code", ["30101", "30302", "30226", "30211"])
def test_f004_individual_under_a_personal_code_is_accepted(agent: ValidationAgent, economic_code: str) -> None:
    agent.on_indicator(make_indicator(economic_code=economic_code))
    agent.on_project(make_project())
    assert_accepted(decide(agent, economic_code=economic_code, payee={"kind": "individual"}))


@pytest.mark.parametrize("economic_code", ["30227", "3021", "30299"])
def test_f004_near_miss_codes_are_held(agent: ValidationAgent, economic_code: str) -> None:
    agent.on_indicator(make_indicator(economic_code=economic_code))
    agent.on_project(make_project())
    assert_fires(decide(agent, economic_code=economic_code, payee={"kind": "individual"}),
                 "F004", "held", economic_code)


# --- several rules at once --------------------------------------------------------------------


def test_every_reject_reason_is_reported_in_catalogue_order(ready_agent: ValidationAgent) -> None:
    ready_agent.on_block(make_block())
    decision = decide(ready_agent, agency_code="AG-2", economic_code="30202", amount="1000.01", advance=True)
    assert decision.outcome == "rejected"
    assert codes(decision) == ["B004", "B005", "B006", "A001", "F003"]
    assert codes(decision) == sorted(codes(decision), key=CATALOGUE_ORDER.index)
    assert all(r.message and r.message_en and r.clause for r in decision.reasons)


def test_unknown_indicator_and_project_together(agent: ValidationAgent) -> None:
    decision = decide(agent, advance=True)
    assert codes(decision) == ["B001", "P001", "A001"]
    assert decision.available_after is None


def test_project_rules_and_carryover_together(agent: ValidationAgent) -> None:
    agent.on_indicator(make_indicator(source="carryover", status="frozen", fiscal_year=2021))
    agent.on_project(make_project(project_id="PRJ-2", status="completed"))
    decision = decide(agent, project_id="PRJ-2", economic_code="30202")
    assert codes(decision) == ["B002", "B003", "P002", "P003", "C001"]


def test_hold_rules_not_evaluated_when_a_reject_rule_fired(ready_agent: ValidationAgent) -> None:
    # Individual under 30201 would be held (F004); the missing approval rejects it first.
    emitted = ready_agent.on_payment(make_payment(payee={"kind": "individual"}, advance=True))
    decision = emitted[0]
    assert isinstance(decision, Decision)
    assert_fires(decision, "A001", "rejected")
    assert not [e for e in emitted if isinstance(e, AlertSignal)]
    assert ready_agent.state.ledger.available("IND-1") == 100_000


def test_history_rules_not_evaluated_when_a_reject_rule_fired(dup_agent: ValidationAgent) -> None:
    decide(dup_agent, payment_id="PAY-1")
    decision = decide(dup_agent, payment_id="PAY-2", requested_at=at(days=1), advance=True)
    assert codes(decision) == ["A001"]


def test_reject_with_info_reason_is_rejected(agent: ValidationAgent) -> None:
    agent.on_indicator(make_indicator(source="carryover"))
    agent.on_project(make_project(research=True))
    decision = decide(agent, economic_code="30202", advance=True)
    assert decision.outcome == "rejected"
    assert codes(decision) == ["C001", "A001"]


def test_hold_reasons_are_reported_in_catalogue_order(dup_agent: ValidationAgent) -> None:
    individual = {"kind": "individual"}
    decide(dup_agent, payment_id="PAY-1", payee=individual)
    second = decide(dup_agent, payment_id="PAY-2", payee=individual, requested_at=at(days=1))
    assert codes(second) == ["F002", "F004"]



@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)),
    st.integers(min_value=-12 * 60, max_value=14 * 60),
)
def test_local_year_matches_a_full_conversion(naive: datetime, offset_minutes: int) -> None:
    at = naive.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    beijing = timezone(timedelta(hours=8))
    assert local_year(at, beijing) == at.astimezone(beijing).year
