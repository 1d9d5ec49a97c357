"""The demo scenario generator: deterministic, contract-valid, and every anomaly it injects is the
only thing the validation agent finds (nothing fires by accident)."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from agents.config import default_rules_text, parse_rules
from agents.findings import Refusal
from agents.validation.agent import ValidationAgent
from agents.validation.budget import Drawn, Opened
from alerts.signals import AlertSignal
from models.codec import decode_line, payment_hint
from models.errors import InvalidInput
from models.inputs import (
    Clock,
    Indicator,
    InputEvent,
    PayeeBlock,
    Payment,
    Project,
    Settlement,
    TreasuryBalance,
    TreasuryFlow,
)
from models.outputs import Decision
from stream.demo import region
from stream.demo.generator import Expected, expected_codes, scenario, write_scenario

SEED, PAYMENTS = 7, 5000
ENGINE_CODES = (
    "V001", "V002", "B001", "B002", "B003", "B004", "B005", "B006", "P001",
    "P002", "P003", "C001", "A001", "D001", "F001", "F002", "F003", "F004",
)


@dataclass
class Replay:
    lines: list[bytes]
    events: list[InputEvent] = field(default_factory=list)
    invalid: list[bytes] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    duplicates: list[Decision] = field(default_factory=list)
    signals: list[AlertSignal] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    agent: ValidationAgent | None = None


def _event_time(event: InputEvent) -> datetime:
    match event:
        case Payment():
            return event.requested_at
        case Settlement():
            return event.settled_at
        case Indicator():
            return event.issued_at
        case Project():
            return event.updated_at
        case TreasuryBalance():
            return event.as_of
        case TreasuryFlow():
            return event.recorded_at
        case PayeeBlock():
            return event.blocked_at
        case Clock():
            return event.now
    raise AssertionError(event)


@pytest.fixture(scope="module")
def replay() -> Replay:
    """The default scenario decoded and run through the validation agent, as the engine does."""
    run = Replay(list(scenario(SEED, PAYMENTS)))
    agent = ValidationAgent(parse_rules(default_rules_text()))
    now: datetime | None = None
    for line in run.lines:
        try:
            event = decode_line(line)
        except InvalidInput as error:
            run.invalid.append(line)
            payment_id, indicator_id, _ = payment_hint(line)
            if payment_id is None or now is None:
                continue
            out = agent.on_malformed_payment(payment_id, indicator_id, error.args[-1], now)
        else:
            run.events.append(event)
            now = _event_time(event) if now is None else max(now, _event_time(event))
            match event:
                case Indicator():
                    out = agent.on_indicator(event)
                case Project():
                    out = agent.on_project(event)
                case PayeeBlock():
                    out = agent.on_block(event)
                case Payment():
                    out = agent.on_payment(event)
                case Settlement():
                    out = agent.on_settlement(event)
                case _:
                    out = []
        for item in out:
            if isinstance(item, Decision):
                (run.duplicates if item.duplicate_delivery else run.decisions).append(item)
            elif isinstance(item, AlertSignal):
                run.signals.append(item)
            elif not isinstance(item, Opened | Drawn):  # facts for the tracing agent
                run.refusals.append(item)
    run.agent = agent
    return run


@pytest.fixture(scope="module")
def expected() -> Expected:
    return expected_codes(SEED, PAYMENTS)


@pytest.fixture(scope="module")
def small() -> list[bytes]:
    return list(scenario(3, 300))


def test_same_seed_gives_identical_bytes_and_another_seed_differs(small: list[bytes]) -> None:
    assert small == list(scenario(3, 300))
    assert small != list(scenario(4, 300))
    assert all(line.endswith(b"\n") and line.count(b"\n") == 1 for line in small)


def test_write_scenario_writes_the_scenario(small: list[bytes], tmp_path: Path) -> None:
    path = tmp_path / "scenario.jsonl"
    assert write_scenario(path, seed=3, payments=300) == len(small)
    assert path.read_bytes() == b"".join(small)


def test_payments_must_be_positive() -> None:
    with pytest.raises(ValueError, match="payments"):
        list(scenario(1, 0))


def test_only_the_injected_lines_fail_to_decode(replay: Replay, expected: Expected) -> None:
    assert expected.lines == len(replay.lines)
    assert len(replay.invalid) == expected.invalid_lines
    named = [line for line in replay.invalid if payment_hint(line)[0] is not None]
    assert len(named) == expected.malformed_payments >= 2
    kinds = Counter(type(event).__name__ for event in replay.events)
    assert kinds["Payment"] >= PAYMENTS and kinds["Settlement"] >= PAYMENTS * 0.95
    assert kinds["TreasuryBalance"] > 0 and kinds["TreasuryFlow"] > 0 and kinds["Clock"] >= 365
    assert {flow.kind for flow in replay.events if isinstance(flow, TreasuryFlow)} >= {
        "tax_revenue", "transfer_in", "transfer_out", "other_out", "debt_service", "bond_proceeds",
    }
    assert any(isinstance(f, TreasuryFlow) and f.sanbao and f.scheduled for f in replay.events)


def test_events_come_in_event_time_order_except_redeliveries(replay: Replay, expected: Expected) -> None:
    late, latest = 0, None
    for event in replay.events:
        at = _event_time(event)
        if latest is not None and at < latest:
            late += 1
        latest = at if latest is None else max(latest, at)
    # Only redeliveries, conflicting resends and the stale indicator version carry an older time.
    assert late <= expected.injected["redelivery"] + expected.injected["V002"] + 1


def test_the_region_is_inner_mongolia_with_direct_fund_chains(replay: Replay, expected: Expected) -> None:
    indicators = {e.indicator_id: e for e in replay.events if isinstance(e, Indicator) and e.version == 1}
    treasuries = {i.treasury_code for i in indicators.values()}
    assert {"150000", *(city.code for city in region.CITIES)} <= treasuries
    assert all(i.fiscal_year == 2022 for i in indicators.values())
    allocated = Counter[str]()
    refused = 0
    for child in indicators.values():
        if child.parent_indicator_id is not None:
            parent = indicators[child.parent_indicator_id]
            assert child.direct_fund_code == parent.direct_fund_code is not None
            assert child.issued_at > parent.issued_at
            if child.amount > parent.amount:
                refused += 1  # the injected over-allocation (T002): a county asks for more than its city has
                continue
            allocated[parent.indicator_id] += child.amount
    assert allocated and all(total <= indicators[i].amount for i, total in allocated.items())
    assert refused == expected.injected["over_allocation"] >= 2
    roots = [i for i in indicators.values() if i.direct_fund_code and i.parent_indicator_id is None]
    assert len(roots) >= 4 and all(r.treasury_code == "150000" for r in roots)
    assert any(i.source == "carryover" for i in indicators.values())
    assert any(isinstance(e, Indicator) and e.version == 2 for e in replay.events)


def test_every_injected_anomaly_and_nothing_else(replay: Replay, expected: Expected) -> None:
    codes = Counter(reason.code for d in replay.decisions for reason in d.reasons)
    assert set(ENGINE_CODES) <= set(codes)
    assert dict(codes) == dict(expected.codes)
    assert all(count >= 2 for count in codes.values())
    assert dict(Counter(d.outcome for d in replay.decisions)) == dict(expected.outcomes)
    # One reason per decision: no rule fired beside the one injected.
    assert all(len(d.reasons) <= 1 for d in replay.decisions)
    # C001 rejects a carry-over's change of use, but a research project's is accepted with the reason.
    c001 = Counter(d.outcome for d in replay.decisions if [r.code for r in d.reasons] == ["C001"])
    assert c001["rejected"] == c001["accepted"] >= 2
    assert replay.refusals == []


def test_normal_payments_are_accepted(replay: Replay, expected: Expected) -> None:
    accepted_clean = sum(1 for d in replay.decisions if d.outcome == "accepted" and not d.reasons)
    assert accepted_clean >= 0.85 * PAYMENTS
    assert accepted_clean >= expected.normal_payments
    # Amounts are realistic: a few hundred yuan to a few hundred thousand.
    amounts = sorted(e.amount for e in replay.events if isinstance(e, Payment))
    assert amounts[len(amounts) // 100] >= 100_00 and amounts[-len(amounts) // 100] <= 500_000_00


def test_identical_redeliveries_return_the_original_decision(replay: Replay, expected: Expected) -> None:
    assert len(replay.duplicates) == expected.duplicate_deliveries >= 2
    first = {d.payment_id: d for d in replay.decisions}
    for again in replay.duplicates:
        assert again.model_copy(update={"duplicate_delivery": False}) == first[again.payment_id]


def test_alerts_are_the_injected_ones(replay: Replay, expected: Expected) -> None:
    signals = Counter(s.code for s in replay.signals)
    for code in ("D001", "F001", "F002", "F003", "F004"):
        assert signals[code] == expected.codes[code]
    assert signals["T005"] == expected.settlement_anomalies >= 2
    assert signals["T004"] == signals["D001"]  # every diversion is also a tracing alert
    assert signals["T002"] == expected.injected["over_allocation"] >= 2
    # T001/T003 and unsettled T005 are deadlines: the engine's tracing watch raises them (test_tracing.py).
    assert set(signals) == {"D001", "F001", "F002", "F003", "F004", "T002", "T004", "T005"}
    assert replay.agent is not None and replay.agent.state.stale_versions == 1


def test_malformed_payment_lines_keep_their_payment_id(replay: Replay) -> None:
    for line in replay.invalid:
        payment_id, _, _ = payment_hint(line)
        if payment_id is not None:
            assert orjson.loads(line)["type"] == "payment"
            assert payment_id.startswith("ZF2022")
