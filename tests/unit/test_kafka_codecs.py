"""Every kind of state a worker keeps in a changelog reads back equal to what was written."""

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from agents.ledger import Account
from agents.tracing.watch import Deadline
from agents.validation.agent import PaymentRecord
from agents.validation.budget import Credit, Debit, Verdict
from agents.validation.patterns import Recent
from alerts.lifecycle import AlertBook
from alerts.signals import AlertSignal
from models.codec import encode_data
from stream.kafka.codecs import dumps_state, dumps_step, loads_state, loads_step
from stream.kafka.topics import key_of
from tests.unit.conftest import make_block, make_indicator, make_payment, make_project, make_settlement

AT = datetime(2022, 3, 1, 1, 30, tzinfo=UTC)


def _record() -> PaymentRecord:
    from agents.config import default_rules_text, parse_rules
    from agents.validation.agent import ValidationAgent

    agent = ValidationAgent(parse_rules(default_rules_text()))
    agent.on_project(make_project())
    agent.on_indicator(make_indicator())
    agent.on_payment(make_payment())
    return agent.payments["PAY-1"]


@pytest.mark.parametrize("value", [
    Account(100, 1, 2, 3, version=7),
    make_indicator(),
    make_block(),
    "ZD2022-0001",
    (3, 12_345),
    [Recent(AT, "P1", "A1", 100, "30201")],
    [make_project(), make_project(version=2, status="completed")],
    [make_settlement()],
    [make_indicator(), make_indicator(version=2, amount="2000.00")],
    [make_payment()],
    [make_payment(), make_settlement(), make_payment(payment_id="PAY-2")],
    [Debit("P", "C", 1, 100, 100, AT)],
    Deadline("T005", "PAY-1", "IND-1", "3", AT, AT + timedelta(days=5)),
    Deadline("T001", "IND-1", "IND-1", "", AT, AT + timedelta(days=30), fired=True),
    None,
], ids=lambda v: type(v).__name__)
def test_state_round_trips(value: object) -> None:
    assert loads_state(dumps_state(value)) == value


def test_an_account_from_a_changelog_written_before_versions_reads_as_version_0() -> None:
    assert loads_state(b"A[100,1,2,3]") == Account(100, 1, 2, 3, version=0)


def test_payment_record_round_trips() -> None:
    record = _record()
    back = loads_state(dumps_state(record))
    assert back == record and back.decision == record.decision


def test_a_tracked_alert_round_trips_with_its_history() -> None:
    book = AlertBook()
    book.apply(AlertSignal("T003", "indicator", "IND-1", AT, {"indicator_id": "IND-1", "days": 90,
                                                              "spent_percent": 12}))
    book.acknowledge(next(iter(book.alerts)), "operator:alice", AT + timedelta(hours=1))
    (tracked,) = book.alerts.values()
    back = loads_state(dumps_state(tracked))
    assert back.alert == tracked.alert and back.history == tracked.history
    assert [h.action for h in back.history] == ["opened", "acknowledged"]


def test_a_payment_record_written_before_payees_were_kept_still_reads() -> None:
    record = _record()
    old = b"R" + orjson.dumps([record.fingerprint.hex(), record.indicator_id, record.amount_fen, record.status,
                               encode_data(record.decision).decode()])  # five elements: no payee
    back = loads_state(old)
    assert back.payee is None and back.decision == record.decision


@pytest.mark.parametrize("step", [Debit("P", "C", 2, 500, 200, AT), Verdict("C", 2, True, "ZD", AT, "ZD"),
                                  Credit("P", "C", 3, 100, 400, AT)])
def test_steps_round_trip(step: object) -> None:
    assert loads_step(dumps_step(step)) == step  # type: ignore[arg-type]


def test_routing_keys_keep_an_indicators_ledger_on_one_partition() -> None:
    assert key_of("payment", {"indicator_id": "I1", "payment_id": "P"}) == "I1"
    assert key_of("settlement", {"indicator_id": "I1"}) == "I1"
    assert key_of("indicator", {"indicator_id": "C1", "parent_indicator_id": "I1"}) == "C1"
    assert key_of("payment", {"payment_id": "P"}) is None
    assert key_of("nope", {"x": "y"}) is None
    assert key_of("payment", ["not", "an", "object"]) is None


def test_a_partitions_last_sequence_number_round_trips_as_its_table_value() -> None:
    """The worker's `sequences` table keeps each partition's last applied number as a string."""
    for number in (1, 61_500, 2**62):
        assert int(loads_state(dumps_state(str(number)))) == number
