"""Builders of strict input models and the shared fixtures of the unit tests.

Every builder goes through JSON (`model_validate_json`), exactly as the wire does: amounts are
decimal strings, timestamps are ISO strings with an offset (datetime objects in overrides are
serialised by orjson with their offset). `payee` overrides are merged into the default payee.
"""

from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
import pytest

from agents.config import RulesConfig, default_rules_text, parse_rules
from agents.validation.agent import ValidationAgent
from models.inputs import Indicator, PayeeBlock, Payment, Project, Settlement, TreasuryBalance, TreasuryFlow

CST = timezone(timedelta(hours=8))
T0 = datetime(2022, 3, 1, 9, 30, tzinfo=CST)

INDICATOR_DEFAULTS: dict[str, Any] = {
    "indicator_id": "IND-1",
    "version": 1,
    "fiscal_year": 2022,
    "treasury_code": "150100",
    "agency_code": "AG-1",
    "project_id": "PRJ-1",
    "function_code": "2050101",
    "economic_code": "30201",
    "fund_type": "general",
    "source": "current",
    "amount": "1000.00",
    "status": "active",
    "issued_at": "2022-01-10T09:00:00+08:00",
}

PROJECT_DEFAULTS: dict[str, Any] = {
    "project_id": "PRJ-1",
    "version": 1,
    "name": "办公运行保障",
    "agency_code": "AG-1",
    "status": "executing",
    "research": False,
    "special_bond": False,
    "updated_at": "2022-01-05T09:00:00+08:00",
}

PAYEE_DEFAULTS: dict[str, Any] = {
    "name": "呼和浩特某办公用品公司",
    "account": "6222000000000001",
    "bank_code": "102191000011",
    "kind": "organization",
}

PAYMENT_DEFAULTS: dict[str, Any] = {
    "payment_id": "PAY-1",
    "indicator_id": "IND-1",
    "agency_code": "AG-1",
    "project_id": "PRJ-1",
    "function_code": "2050101",
    "economic_code": "30201",
    "amount": "600.00",
    "payee": PAYEE_DEFAULTS,
    "method": "direct",
    "purpose": "办公用品采购",
    "advance": False,
    "requested_at": "2022-03-01T09:30:00+08:00",
}

SETTLEMENT_DEFAULTS: dict[str, Any] = {
    "payment_id": "PAY-1",
    "indicator_id": "IND-1",
    "status": "settled",
    "amount": "600.00",
    "bank_ref": "BR-0001",
    "settled_at": "2022-03-02T10:00:00+08:00",
}

BLOCK_DEFAULTS: dict[str, Any] = {
    "account": "6222000000000001",
    "reason": "涉嫌电信诈骗",
    "blocked_at": "2022-02-01T09:00:00+08:00",
}


class _Drop:
    """Pass `DROP` as an override to leave a field out (e.g. a required one)."""


DROP = _Drop()


def _merged(defaults: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    data = {**defaults, **overrides}
    return {key: value for key, value in data.items() if value is not DROP}


def indicator_data(**overrides: Any) -> dict[str, Any]:
    return _merged(INDICATOR_DEFAULTS, overrides)


def project_data(**overrides: Any) -> dict[str, Any]:
    return _merged(PROJECT_DEFAULTS, overrides)


def payment_data(**overrides: Any) -> dict[str, Any]:
    payee = {**PAYEE_DEFAULTS, **overrides.pop("payee", {})}
    return _merged(PAYMENT_DEFAULTS, {**overrides, "payee": payee})


def settlement_data(**overrides: Any) -> dict[str, Any]:
    return _merged(SETTLEMENT_DEFAULTS, overrides)


def block_data(**overrides: Any) -> dict[str, Any]:
    return _merged(BLOCK_DEFAULTS, overrides)


def make_indicator(**overrides: Any) -> Indicator:
    return Indicator.model_validate_json(orjson.dumps(indicator_data(**overrides)))


def make_project(**overrides: Any) -> Project:
    return Project.model_validate_json(orjson.dumps(project_data(**overrides)))


def make_payment(**overrides: Any) -> Payment:
    return Payment.model_validate_json(orjson.dumps(payment_data(**overrides)))


def make_settlement(**overrides: Any) -> Settlement:
    return Settlement.model_validate_json(orjson.dumps(settlement_data(**overrides)))


def make_block(**overrides: Any) -> PayeeBlock:
    return PayeeBlock.model_validate_json(orjson.dumps(block_data(**overrides)))


def line(type_name: str, data: Any) -> bytes:
    """One JSON line of the wire envelope."""
    return orjson.dumps({"type": type_name, "data": data})


def at(hours: float = 0, *, days: float = 0, minutes: float = 0, seconds: float = 0) -> str:
    """An ISO timestamp (+08:00) relative to T0, the default payment time."""
    return (T0 + timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)).isoformat()


@pytest.fixture(scope="session")
def rules() -> RulesConfig:
    return parse_rules(default_rules_text())


@pytest.fixture
def agent(rules: RulesConfig) -> ValidationAgent:
    return ValidationAgent(rules)


@pytest.fixture
def ready_agent(agent: ValidationAgent) -> ValidationAgent:
    """An agent knowing the default indicator (1000.00 available) and its executing project."""
    agent.on_indicator(make_indicator())
    agent.on_project(make_project())
    return agent


BALANCE_DEFAULTS: dict[str, Any] = {
    "treasury_code": "150100",
    "balance": "10000.00",
    "as_of": "2022-03-01T17:30:00+08:00",
}

FLOW_DEFAULTS: dict[str, Any] = {
    "flow_id": "LS-1",
    "treasury_code": "150100",
    "kind": "tax_revenue",
    "amount": "1000.00",
    "value_date": "2022-03-01",
    "scheduled": False,
    "recorded_at": "2022-03-01T10:00:00+08:00",
}


def balance_data(**overrides: Any) -> dict[str, Any]:
    return _merged(BALANCE_DEFAULTS, overrides)


def flow_data(**overrides: Any) -> dict[str, Any]:
    return _merged(FLOW_DEFAULTS, overrides)


def make_balance(**overrides: Any) -> TreasuryBalance:
    return TreasuryBalance.model_validate_json(orjson.dumps(balance_data(**overrides)))


def make_flow(**overrides: Any) -> TreasuryFlow:
    return TreasuryFlow.model_validate_json(orjson.dumps(flow_data(**overrides)))
