"""The engine's one entry point: hostile lines become dead letters (and V001s), never exceptions."""

from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.config import RulesConfig
from models.base import WireModel
from models.codec import encode, encode_data
from models.outputs import Alert, DeadLetter, Decision
from stream.engine import MAX_DEADLETTER_RAW_BYTES, Engine
from tests.unit.conftest import (
    DROP,
    block_data,
    indicator_data,
    line,
    payment_data,
    project_data,
    settlement_data,
)

BAD = "PAY-BAD"
ISSUED = datetime.fromisoformat(indicator_data()["issued_at"])
REQUESTED = datetime.fromisoformat(payment_data()["requested_at"])


@pytest.fixture
def engine(rules: RulesConfig) -> Engine:
    """An engine that knows IND-1 (1000.00) and its executing project PRJ-1."""
    engine = Engine(rules)
    assert engine.handle_line(line("indicator", indicator_data()), "t", 0) == []
    assert engine.handle_line(line("project", project_data()), "t", 1) == []
    return engine


def dead_letters(out: list[WireModel]) -> list[DeadLetter]:
    return [o for o in out if isinstance(o, DeadLetter)]


def decisions(out: list[WireModel]) -> list[Decision]:
    return [o for o in out if isinstance(o, Decision)]


def alerts(out: list[WireModel]) -> list[Alert]:
    return [o for o in out if isinstance(o, Alert)]


def bad_payment(**overrides: Any) -> bytes:
    return line("payment", payment_data(payment_id=BAD, **overrides))


@dataclass(frozen=True)
class Hostile:
    line: bytes
    error_code: str
    v001: bool  # a payment that still names its payment_id
    error_mentions: str = ""


def _deep(levels: int) -> bytes:
    return b'{"type":"payment","data":' + b"[" * levels + b"]" * levels + b"}"


def _invalid_utf8() -> bytes:
    return line("payment", payment_data(payment_id=BAD)).replace(b"\xe5\x8a\x9e", b"\xff\xfe\xfd")


HOSTILE: dict[str, Hostile] = {
    "truncated json": Hostile(bad_payment()[:-20], "json_invalid", False),
    "not json at all": Hostile(b"hello, treasury", "json_invalid", False),
    "empty line": Hostile(b"", "json_invalid", False),
    "trailing garbage": Hostile(bad_payment() + b" x", "json_invalid", False),
    "bool as string": Hostile(bad_payment(advance="false"), "schema_invalid", True, "advance"),
    "number as code": Hostile(bad_payment(agency_code=12), "schema_invalid", True, "agency_code"),
    "string version": Hostile(line("indicator", indicator_data(version="2")), "schema_invalid", False, "version"),
    "float money": Hostile(bad_payment(amount=12.5), "schema_invalid", True, "amount"),
    "integer money": Hostile(bad_payment(amount=600), "schema_invalid", True, "amount"),
    "negative money": Hostile(bad_payment(amount="-1.00"), "schema_invalid", True, "amount"),
    "zero money": Hostile(bad_payment(amount="0.00"), "schema_invalid", True, "amount"),
    "three decimals": Hostile(bad_payment(amount="1.001"), "schema_invalid", True, "amount"),
    "sixteen integer digits": Hostile(bad_payment(amount="1234567890123456.00"), "schema_invalid", True, "amount"),
    "exponent money": Hostile(bad_payment(amount="6e2"), "schema_invalid", True, "amount"),
    "thousands separator": Hostile(bad_payment(amount="1,000.00"), "schema_invalid", True, "amount"),
    "padded money": Hostile(bad_payment(amount=" 600.00"), "schema_invalid", True, "amount"),
    "plus sign": Hostile(bad_payment(amount="+600.00"), "schema_invalid", True, "amount"),
    "naive timestamp": Hostile(bad_payment(requested_at="2022-03-01T09:30:00"), "schema_invalid", True, "requested_at"),
    "date for timestamp": Hostile(bad_payment(requested_at="2022-03-01"), "schema_invalid", True, "requested_at"),
    "unknown field": Hostile(bad_payment(priority="high"), "schema_invalid", True, "priority"),
    "unknown payee field": Hostile(bad_payment(payee={"iban": "x"}), "schema_invalid", True, "iban"),
    "unknown envelope field": Hostile(orjson.dumps({"type": "payment", "data": payment_data(payment_id=BAD),
                                                    "key": "k"}), "schema_invalid", True),
    "missing required field": Hostile(bad_payment(purpose=DROP), "schema_invalid", True, "purpose"),
    "bad payee kind": Hostile(bad_payment(payee={"kind": "friend"}), "schema_invalid", True, "kind"),
    "overlong code": Hostile(bad_payment(agency_code="A" * 65), "schema_invalid", True, "agency_code"),
    "control char in code": Hostile(bad_payment(agency_code="AG\x001"), "schema_invalid", True),
    "bad division code": Hostile(line("indicator", indicator_data(treasury_code="15010")), "schema_invalid", False),
    "unknown type": Hostile(line("refund", payment_data(payment_id=BAD)), "unknown_type", False),
    "missing type": Hostile(orjson.dumps({"data": payment_data(payment_id=BAD)}), "bad_envelope", False),
    "data not an object": Hostile(line("payment", "PAY-BAD"), "bad_envelope", False),
    "deep nesting": Hostile(_deep(10_000), "json_invalid", False),
    "deep nesting in a field": Hostile(
        b'{"type":"payment","data":{"payment_id":"PAY-BAD","purpose":' + b"[" * 10_000 + b"]" * 10_000 + b"}}",
        "json_invalid", False,
    ),
    # Over the limit: not parsed, so no V001 even for a payment (as the file reader and Kafka both do).
    "2 MiB string": Hostile(bad_payment(purpose="x" * (2 << 20)), "line_too_long", False),
    "2 MiB clock": Hostile(line("clock", {"now": "2022-03-01T09:30:00+08:00", "pad": "y" * (2 << 20)}),
                           "line_too_long", False),
    "invalid utf-8": Hostile(_invalid_utf8(), "json_invalid", False),
    "malformed settlement naming a payment": Hostile(
        line("settlement", settlement_data(payment_id=BAD, amount=600.0)), "schema_invalid", False, "amount"),
    "malformed block": Hostile(line("payee_block", block_data(blocked_at="yesterday")), "schema_invalid", False),
}
NON_OBJECTS = {"array": b"[1, 2, 3]", "string": b'"payment"', "number": b"42", "null": b"null"}


def _check_dead_letter(dead: DeadLetter, raw: bytes, offset: int, error_code: str) -> None:
    assert dead.source == "t"
    assert dead.offset == offset
    assert dead.error_code == error_code
    assert dead.error.strip()
    assert dead.raw_bytes == len(raw)
    assert dead.raw_sha256 == sha256(raw).hexdigest()
    assert dead.raw_truncated is (len(raw) > MAX_DEADLETTER_RAW_BYTES)
    assert len(dead.raw.encode()) <= MAX_DEADLETTER_RAW_BYTES * 3  # replacement chars may widen
    # It is a valid wire output itself.
    assert DeadLetter.model_validate_json(encode_data(dead)) == dead


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_line_is_one_dead_letter(engine: Engine, name: str) -> None:
    case = HOSTILE[name]
    out = engine.handle_line(case.line, "t", 7)
    (dead,) = dead_letters(out)
    _check_dead_letter(dead, case.line, 7, case.error_code)
    assert case.error_mentions in dead.error
    assert not alerts(out)
    if case.v001:
        assert dead.payment_id == BAD
        (decision,) = decisions(out)
        assert decision.payment_id == BAD
        assert decision.outcome == "rejected"
        assert [r.code for r in decision.reasons] == ["V001"]
        assert decision.reasons[0].message and decision.reasons[0].message_en and decision.reasons[0].clause
        assert decision.indicator_id == "IND-1"
        assert decision.available_after == 100_000
        assert decision.duplicate_delivery is False
        assert out == [dead, decision]
    else:
        assert dead.payment_id is None
        assert out == [dead]
    # Nothing was reserved and nothing was bound.
    assert engine.validation.state.ledger.available("IND-1") == 100_000
    assert BAD not in engine.validation.payments


@pytest.mark.parametrize("name", sorted(NON_OBJECTS))
def test_non_object_json_is_one_dead_letter(engine: Engine, name: str) -> None:
    raw = NON_OBJECTS[name]
    out = engine.handle_line(raw, "t", 3)
    (dead,) = out
    assert isinstance(dead, DeadLetter)
    _check_dead_letter(dead, raw, 3, dead.error_code)
    assert dead.error_code in {"bad_envelope", "schema_invalid"}


def test_non_object_json_is_a_bad_envelope(engine: Engine) -> None:
    (dead,) = engine.handle_line(b"[1, 2, 3]", "t", 3)
    assert isinstance(dead, DeadLetter)
    assert dead.error_code == "bad_envelope"


@pytest.mark.parametrize("amount", ["６００.00", "٦٠٠.00"])
def test_non_ascii_digits_are_not_money(engine: Engine, amount: str) -> None:
    out = engine.handle_line(bad_payment(amount=amount), "t", 3)
    (dead,) = dead_letters(out)
    assert dead.error_code == "schema_invalid"


def test_non_ascii_digits_are_not_a_division_code(engine: Engine) -> None:
    raw = line("indicator", indicator_data(indicator_id="IND-X", treasury_code="１５０１００"))
    out = engine.handle_line(raw, "t", 3)
    (dead,) = dead_letters(out)
    assert dead.error_code == "schema_invalid"


def test_v001_is_decided_at_the_payments_own_time_when_it_has_one(engine: Engine) -> None:
    (_, decision) = engine.handle_line(bad_payment(amount=12.5, requested_at="2022-03-05T08:00:00+08:00"), "t", 2)
    assert isinstance(decision, Decision)
    assert decision.decided_at == datetime.fromisoformat("2022-03-05T08:00:00+08:00")


def test_v001_falls_back_to_event_time_without_a_usable_timestamp(engine: Engine) -> None:
    (_, decision) = engine.handle_line(bad_payment(requested_at="2022-03-05T08:00:00"), "t", 2)
    assert isinstance(decision, Decision)
    assert decision.decided_at == ISSUED  # the engine's clock: the indicator's issue time


def test_v001_names_no_indicator_when_the_line_has_none(engine: Engine) -> None:
    (_, decision) = engine.handle_line(bad_payment(indicator_id=DROP), "t", 2)
    assert isinstance(decision, Decision)
    assert decision.indicator_id is None
    assert decision.available_after is None


def test_unprintable_payment_id_gets_no_v001(engine: Engine) -> None:
    out = engine.handle_line(line("payment", payment_data(payment_id="PAY\n1")), "t", 2)
    (dead,) = out
    assert isinstance(dead, DeadLetter)
    assert dead.payment_id is None


def test_v001_even_as_the_very_first_line(rules: RulesConfig) -> None:
    engine = Engine(rules)
    out = engine.handle_line(bad_payment(requested_at="2022-03-01T09:30:00"), "t", 0)
    assert [d.outcome for d in decisions(out)] == ["rejected"]


def test_malformed_settlement_never_decides_even_for_a_known_payment(engine: Engine) -> None:
    accepted = engine.handle_line(line("payment", payment_data()), "t", 2)
    assert [d.outcome for d in decisions(accepted)] == ["accepted"]
    for n, bad in enumerate([
        settlement_data(amount=600),
        settlement_data(amount="-600.00"),
        settlement_data(status="bounced"),
        settlement_data(settled_at="2022-03-02T10:00:00"),
        settlement_data(extra=True),
    ]):
        out = engine.handle_line(line("settlement", bad), "t", 3 + n)
        (dead,) = out
        assert isinstance(dead, DeadLetter)
        assert dead.payment_id is None
    record = engine.validation.payments["PAY-1"]
    assert record.status == "accepted"
    assert record.decision.outcome == "accepted"
    assert engine.validation.state.ledger.accounts["IND-1"].reserved == 60_000


def test_malformed_redelivery_of_a_decided_payment_is_only_a_dead_letter(engine: Engine) -> None:
    engine.handle_line(line("payment", payment_data()), "t", 2)
    out = engine.handle_line(line("payment", payment_data(amount=600.0)), "t", 3)
    (dead,) = out
    assert isinstance(dead, DeadLetter)
    assert dead.payment_id == "PAY-1"
    assert engine.validation.payments["PAY-1"].decision.outcome == "accepted"


def test_valid_events_after_every_hostile_line_are_decided_correctly(engine: Engine) -> None:
    offset = 10
    for case in HOSTILE.values():
        engine.handle_line(case.line, "t", offset)
        offset += 1
    for raw in NON_OBJECTS.values():
        engine.handle_line(raw, "t", offset)
        offset += 1
    assert engine.now == ISSUED  # no hostile line moved the clock
    out = engine.handle_line(line("payment", payment_data()), "t", offset)
    (decision,) = out
    assert isinstance(decision, Decision)
    assert decision.outcome == "accepted"
    assert decision.reasons == ()
    assert decision.available_after == 40_000
    assert b'"available_after":"400.00"' in encode(decision)
    assert engine.now == REQUESTED
    # The V001s did not bind PAY-BAD: a correct instruction under that id is decided anew.
    (corrected,) = engine.handle_line(line("payment", payment_data(payment_id=BAD, amount="400.00")), "t", offset + 1)
    assert isinstance(corrected, Decision)
    assert corrected.outcome == "accepted"
    assert corrected.available_after == 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(str.encode),
    st.recursive(
        st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats() | st.text(max_size=20),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
        max_leaves=20,
    ).map(lambda value: orjson.dumps({"type": "payment", "data": value})),
))
def test_arbitrary_bytes_never_raise(engine: Engine, raw: bytes) -> None:
    out = engine.handle_line(raw, "fuzz", 1)
    assert len(dead_letters(out)) == 1
    assert len(decisions(out)) <= 1
    assert engine.validation.state.ledger.available("IND-1") == 100_000


# --- valid events through the engine ----------------------------------------------------------


def test_direct_fund_diversion_is_rejected_with_a_critical_alert(rules: RulesConfig) -> None:
    engine = Engine(rules)
    engine.handle_line(line("indicator", indicator_data(direct_fund_code="ZD-2022-001")), "t", 0)
    engine.handle_line(line("project", project_data()), "t", 1)
    out = engine.handle_line(line("payment", payment_data(payee={"kind": "platform_company"})), "t", 2)
    # The payment comes more than 30 days after the indicator: its T001 deadline passes first.
    overdue, decision, alert, diverted = out
    assert isinstance(overdue, Alert) and (overdue.code, overdue.subject.id) == ("T001", "IND-1")
    assert isinstance(decision, Decision)
    assert isinstance(alert, Alert) and isinstance(diverted, Alert)
    assert decision.outcome == "rejected"
    assert [r.code for r in decision.reasons] == ["D001"]
    assert (alert.code, alert.severity, alert.status) == ("D001", "critical", "open")
    assert (alert.subject.kind, alert.subject.id) == ("payment", "PAY-1")
    assert "融资平台公司" in alert.message.zh
    # T004: the tracing agent's view of the same diversion, on the same payment.
    assert (diverted.code, diverted.severity, diverted.subject.id) == ("T004", "critical", "PAY-1")
    assert diverted.evidence["direct_fund_code"] == "ZD-2022-001" and "融资平台公司" in diverted.message.zh
    # The same instruction again: the original decision, no second alert.
    (again,) = engine.handle_line(line("payment", payment_data(payee={"kind": "platform_company"})), "t", 3)
    assert isinstance(again, Decision)
    assert again.duplicate_delivery is True


def test_over_allocation_is_an_alert_and_unknown_parent_a_dead_letter(engine: Engine) -> None:
    child = indicator_data(indicator_id="IND-C", parent_indicator_id="IND-1", amount="1000.01")
    (alert,) = engine.handle_line(line("indicator", child), "t", 5)
    assert isinstance(alert, Alert)
    assert (alert.code, alert.severity, alert.subject.kind, alert.subject.id) == ("T002", "critical", "indicator",
                                                                                 "IND-1")
    orphan = line("indicator", indicator_data(indicator_id="IND-O", parent_indicator_id="IND-404"))
    (dead,) = engine.handle_line(orphan, "t", 6)
    assert isinstance(dead, DeadLetter)
    assert dead.error_code == "unknown_parent"
    assert dead.offset == 6
    assert dead.raw == orphan.decode()
    assert dead.payment_id is None


def test_settlement_of_an_unknown_payment_is_a_t005_alert_once(engine: Engine) -> None:
    raw = line("settlement", settlement_data(payment_id="PAY-404"))
    (alert,) = engine.handle_line(raw, "t", 5)
    assert isinstance(alert, Alert)
    assert (alert.code, alert.subject.id, alert.status) == ("T005", "PAY-404", "open")
    assert engine.handle_line(raw, "t", 6) == []  # same evidence: no storm


def test_held_payment_and_its_alert(engine: Engine) -> None:
    out = engine.handle_line(line("payment", payment_data(payee={"kind": "individual"})), "t", 5)
    decision, alert = out
    assert isinstance(decision, Decision)
    assert isinstance(alert, Alert)
    assert decision.outcome == "held"
    assert decision.available_after == 40_000
    assert (alert.code, alert.severity) == ("F004", "warning")


def test_clock_only_moves_event_time(engine: Engine) -> None:
    assert engine.handle_line(line("clock", {"now": "2022-06-01T00:00:00+08:00"}), "t", 5) == []
    assert engine.now == datetime.fromisoformat("2022-06-01T00:00:00+08:00")
    # An older event does not move the clock back.
    engine.handle_line(line("payment", payment_data()), "t", 6)
    assert engine.now == datetime.fromisoformat("2022-06-01T00:00:00+08:00")


def test_blocked_payee_through_the_engine(engine: Engine) -> None:
    assert engine.handle_line(line("payee_block", block_data()), "t", 5) == []
    decision, alert = engine.handle_line(line("payment", payment_data()), "t", 6)
    assert isinstance(decision, Decision)
    assert [r.code for r in decision.reasons] == ["F003"]
    assert isinstance(alert, Alert)
    assert alert.severity == "critical"

