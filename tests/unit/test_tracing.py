"""The tracing agent through the engine: chains, reconciliation and every T-code, firing and quiet."""

import asyncio
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import orjson
import pytest

from agents.config import RulesConfig, default_rules_text, parse_rules
from agents.ledger import Account
from agents.tracing.chain import assemble, mask_account, path_up, reconcile
from agents.tracing.watch import TraceWatch
from models.base import WireModel
from models.codec import decode_output
from models.outputs import Alert, Chain, Decision
from stream import cli
from stream.demo.generator import Expected, expected_codes, write_scenario
from stream.embedded import replay_file
from stream.engine import Engine
from stream.sinks import MemorySink
from stream.trace import from_directory, render_json, render_tree, yuan
from tests.unit.conftest import indicator_data, line, payment_data, project_data, settlement_data

DOC = "ZD2022-0001"
ISSUED = "2022-01-10T09:00:00+08:00"


class Stream:
    """An engine fed one event at a time, keeping every output in order."""

    def __init__(self, rules: RulesConfig) -> None:
        self.engine = Engine(rules)
        self.out: list[WireModel] = []
        self.offset = 0
        for project in ("PRJ-1", "PRJ-C", "PRJ-L"):
            self.send("project", project_data(project_id=project, agency_code=_agency(project)))

    def send(self, kind: str, data: dict[str, Any]) -> list[WireModel]:
        self.offset += 1
        got = self.engine.handle_line(line(kind, data), "t", self.offset)
        self.out.extend(got)
        return got

    def clock(self, now: str) -> list[WireModel]:
        return self.send("clock", {"now": now})

    def alerts(self, code: str) -> list[Alert]:
        return [a for a in self.out if isinstance(a, Alert) and a.code == code]

    def chain(self, root: str) -> Chain:
        (chain,) = [c for c in self.engine.chains() if c.root == root]
        return chain


def _agency(project: str) -> str:
    return {"PRJ-1": "AG-1", "PRJ-C": "AG-C", "PRJ-L": "AG-L"}[project]


def three_levels(s: Stream, *, direct: bool = True, leaf_amount: str = "300.00") -> None:
    """Region IND-1 (1000.00) -> city IND-C (600.00) -> county IND-L."""
    code = {"direct_fund_code": DOC} if direct else {}
    s.send("indicator", indicator_data(issued_at=ISSUED, **code))
    s.send("indicator", indicator_data(indicator_id="IND-C", parent_indicator_id="IND-1", amount="600.00",
                                       agency_code="AG-C", project_id="PRJ-C", treasury_code="150200",
                                       issued_at="2022-01-11T09:00:00+08:00", **code))
    s.send("indicator", indicator_data(indicator_id="IND-L", parent_indicator_id="IND-C", amount=leaf_amount,
                                       agency_code="AG-L", project_id="PRJ-L", treasury_code="150221",
                                       issued_at="2022-01-12T09:00:00+08:00", **code))


def pay(s: Stream, payment_id: str, amount: str, at: str, indicator: str = "IND-L", **extra: Any) -> Decision:
    agency, project = {"IND-1": ("AG-1", "PRJ-1"), "IND-C": ("AG-C", "PRJ-C"), "IND-L": ("AG-L", "PRJ-L")}[indicator]
    out = s.send("payment", payment_data(payment_id=payment_id, indicator_id=indicator, amount=amount,
                                         agency_code=agency, project_id=project, requested_at=at, **extra))
    (decision,) = [d for d in out if isinstance(d, Decision)]
    return decision


def settle(s: Stream, payment_id: str, amount: str, at: str, status: str = "settled",
           indicator: str = "IND-L") -> list[WireModel]:
    return s.send("settlement", settlement_data(payment_id=payment_id, indicator_id=indicator, amount=amount,
                                                status=status, settled_at=at))


@pytest.fixture
def s(rules: RulesConfig) -> Stream:
    return Stream(rules)


# --- chains ------------------------------------------------------------------------------------


def test_a_three_level_chain_reconciles_down_to_its_recipients(s: Stream) -> None:
    three_levels(s)
    pay(s, "P1", "100.00", "2022-01-20T10:00:00+08:00")
    pay(s, "P2", "50.00", "2022-01-21T10:00:00+08:00", payee={"account": "6222000000000002"})
    pay(s, "P3", "20.00", "2022-01-22T10:00:00+08:00", payee={"account": "6222000000000003"})
    settle(s, "P1", "100.00", "2022-01-21T10:00:00+08:00")
    settle(s, "P2", "50.00", "2022-01-22T10:00:00+08:00", status="returned")
    chain = s.chain(DOC)
    assert [n.indicator_id for n in chain.nodes] == ["IND-1", "IND-C", "IND-L"]  # top-down
    region, city, county = chain.nodes
    assert (region.amount, region.allocated) == (100_000, 60_000)
    assert (city.amount, city.allocated) == (60_000, 30_000)
    assert (county.amount, county.allocated, county.reserved, county.spent) == (30_000, 0, 2_000, 10_000)
    assert [(p.payment_id, p.status, p.amount) for p in chain.payments] == [
        ("P1", "settled", 10_000), ("P2", "returned", 5_000), ("P3", "accepted", 2_000)]
    assert chain.payments[0].payee_account == "6222000000000001"
    assert reconcile(chain) == []
    assert [n.indicator_id for n in path_up(chain, "IND-L")] == ["IND-L", "IND-C", "IND-1"]


def test_reconcile_names_the_node_whose_totals_do_not_add_up(s: Stream) -> None:
    three_levels(s)
    chain = s.chain(DOC)
    broken = assemble(chain.root, [*chain.nodes[:1], chain.nodes[1].model_copy(update={"amount": 50_000}),
                                   *chain.nodes[2:]], chain.payments)
    (mismatch,) = reconcile(broken)
    assert (mismatch.indicator_id, mismatch.what, mismatch.expected_fen, mismatch.actual_fen) == (
        "IND-1", "allocated", 50_000, 60_000)
    assert mismatch.describe() == "IND-1: allocated is 600.00, expected 500.00"


def test_a_chain_without_a_direct_fund_code_is_rooted_at_its_top_indicator(s: Stream) -> None:
    three_levels(s, direct=False)
    assert [n.indicator_id for n in s.chain("IND-1").nodes] == ["IND-1", "IND-C", "IND-L"]


# --- T001 unallocated / unpaid -----------------------------------------------------------------


def test_t001_fires_when_direct_funds_sit_30_days_and_resolves_once_paid(s: Stream) -> None:
    three_levels(s)
    s.clock("2022-02-11T08:59:59+08:00")  # IND-L issued 2022-01-12 09:00: not yet 30 days
    assert s.alerts("T001") == []
    s.clock("2022-02-11T09:00:00+08:00")
    (opened,) = s.alerts("T001")
    assert (opened.subject.kind, opened.subject.id, opened.status) == ("indicator", "IND-L", "open")
    assert opened.evidence["days"] == 30 and "30" in opened.message.zh
    pay(s, "P1", "10.00", "2022-02-12T10:00:00+08:00")
    assert [a.status for a in s.alerts("T001")] == ["open", "resolved"]


def test_t001_is_quiet_when_allocated_or_paid_in_time_and_for_ordinary_funds(rules: RulesConfig) -> None:
    direct, ordinary = Stream(rules), Stream(rules)
    three_levels(direct)
    three_levels(ordinary, direct=False)
    pay(direct, "P1", "10.00", "2022-01-20T10:00:00+08:00")
    for stream in (direct, ordinary):
        stream.clock("2022-12-31T00:00:00+08:00")
        assert stream.alerts("T001") == []


# --- T002 over-allocation ----------------------------------------------------------------------


def test_t002_refuses_an_allocation_beyond_the_parent_and_the_child_never_exists(s: Stream) -> None:
    s.send("indicator", indicator_data(issued_at=ISSUED, direct_fund_code=DOC))
    s.send("indicator", indicator_data(indicator_id="IND-C", parent_indicator_id="IND-1", amount="1000.01",
                                       agency_code="AG-C", project_id="PRJ-C", issued_at=ISSUED))
    (alert,) = s.alerts("T002")
    assert (alert.severity, alert.subject.id, alert.evidence["requested"]) == ("critical", "IND-1", "1000.01")
    assert [n.indicator_id for n in s.chain(DOC).nodes] == ["IND-1"]
    decision = pay(s, "P1", "10.00", "2022-01-20T10:00:00+08:00", indicator="IND-C")
    assert [r.code for r in decision.reasons] == ["B001"]


def test_t002_is_quiet_for_an_allocation_of_exactly_what_is_available(s: Stream) -> None:
    s.send("indicator", indicator_data(issued_at=ISSUED))
    s.send("indicator", indicator_data(indicator_id="IND-C", parent_indicator_id="IND-1", amount="1000.00",
                                       agency_code="AG-C", project_id="PRJ-C", issued_at=ISSUED))
    assert s.alerts("T002") == [] and s.chain("IND-1").nodes[0].allocated == 100_000


# --- T003 stagnant -----------------------------------------------------------------------------


def test_t003_fires_on_a_leaf_under_half_spent_after_90_days_and_clears_when_spent(s: Stream) -> None:
    three_levels(s)
    pay(s, "P1", "100.00", "2022-01-20T10:00:00+08:00")
    settle(s, "P1", "100.00", "2022-01-21T10:00:00+08:00")  # 100 of 300: 33 %
    s.clock("2022-04-12T09:00:00+08:00")  # IND-L + 90 days
    (opened,) = s.alerts("T003")
    assert (opened.subject.id, opened.evidence["spent_percent"], opened.severity) == ("IND-L", 33, "warning")
    assert [a.subject.id for a in s.alerts("T003")] == ["IND-L"]  # IND-1 and IND-C allocated: not leaves
    pay(s, "P2", "60.00", "2022-04-13T10:00:00+08:00", payee={"account": "6222000000000002"})
    settle(s, "P2", "60.00", "2022-04-14T10:00:00+08:00")  # 160 of 300: 53 %
    assert [a.status for a in s.alerts("T003")] == ["open", "resolved"]


def test_t003_is_quiet_when_half_is_spent_in_time(s: Stream) -> None:
    three_levels(s)
    pay(s, "P1", "150.00", "2022-01-20T10:00:00+08:00")
    settle(s, "P1", "150.00", "2022-01-21T10:00:00+08:00")  # exactly 50 %
    s.clock("2022-12-31T00:00:00+08:00")
    assert s.alerts("T003") == []


# --- T004 diversion ----------------------------------------------------------------------------


def test_t004_comes_with_d001_and_ordinary_funds_to_the_same_payee_are_quiet(rules: RulesConfig) -> None:
    direct, ordinary = Stream(rules), Stream(rules)
    three_levels(direct)
    three_levels(ordinary, direct=False)
    for stream in (direct, ordinary):
        pay(stream, "P1", "10.00", "2022-01-20T10:00:00+08:00", payee={"kind": "own_account"})
    (alert,) = direct.alerts("T004")
    assert (alert.severity, alert.subject.kind, alert.subject.id) == ("critical", "payment", "P1")
    assert alert.evidence["direct_fund_code"] == DOC and alert.evidence["indicator_id"] == "IND-L"
    assert ordinary.alerts("T004") == []


# --- T005 reconciliation -----------------------------------------------------------------------


def test_t005_an_accepted_payment_unsettled_after_5_days_and_its_late_settlement(s: Stream) -> None:
    three_levels(s)
    pay(s, "P1", "10.00", "2022-01-20T10:00:00+08:00")
    s.clock("2022-01-25T09:59:59+08:00")
    assert s.alerts("T005") == []
    s.clock("2022-01-25T10:00:00+08:00")
    (opened,) = s.alerts("T005")
    assert (opened.subject.id, opened.evidence["problem"]) == ("P1", "accepted 5 days ago and not settled")
    settle(s, "P1", "10.00", "2022-01-26T10:00:00+08:00")
    assert [a.status for a in s.alerts("T005")] == ["open", "resolved"]


def test_t005_a_late_settlement_with_the_wrong_amount_keeps_the_alert_open(s: Stream) -> None:
    three_levels(s)
    pay(s, "P1", "10.00", "2022-01-20T10:00:00+08:00")
    settle(s, "P1", "9.99", "2022-01-27T10:00:00+08:00")  # the deadline passed first, then a mismatch
    assert [(a.status, a.evidence["problem"]) for a in s.alerts("T005")] == [
        ("open", "accepted 5 days ago and not settled"), ("open", "bank reports 9.99, instructed 10.00")]


@pytest.mark.parametrize("status", ["settled", "returned"])
def test_t005_is_quiet_for_a_payment_answered_in_time(s: Stream, status: str) -> None:
    three_levels(s)
    pay(s, "P1", "10.00", "2022-01-20T10:00:00+08:00")
    settle(s, "P1", "10.00", "2022-01-24T10:00:00+08:00", status=status)
    s.clock("2022-12-31T00:00:00+08:00")
    assert s.alerts("T005") == []
    assert s.chain(DOC).payments[0].status == status


def test_t005_is_quiet_for_held_and_rejected_payments(s: Stream) -> None:
    three_levels(s)
    pay(s, "P1", "10.00", "2022-01-20T10:00:00+08:00", payee={"kind": "individual"})  # F004: held
    pay(s, "P2", "9999.00", "2022-01-20T11:00:00+08:00")  # B006: rejected
    s.clock("2022-12-31T00:00:00+08:00")
    assert s.alerts("T005") == []


def test_t005_a_settlement_for_an_unknown_payment_and_a_wrong_amount(s: Stream) -> None:
    three_levels(s)
    settle(s, "NOPE", "10.00", "2022-01-20T10:00:00+08:00")
    pay(s, "P1", "10.00", "2022-01-20T10:00:00+08:00")
    settle(s, "P1", "12.00", "2022-01-21T10:00:00+08:00")
    alerts = s.alerts("T005")
    assert [(a.subject.id, a.evidence["problem"]) for a in alerts] == [
        ("NOPE", "settlement for an unknown payment"), ("P1", "bank reports 12.00, instructed 10.00")]
    county = s.chain(DOC).nodes[2]
    assert county.spent == 1_000  # the instructed amount is posted; the bank's figure is flagged


def test_deadlines_fire_in_due_order_whatever_order_they_were_scheduled_in(s: Stream) -> None:
    three_levels(s)
    pay(s, "P1", "10.00", "2022-01-20T10:00:00+08:00", indicator="IND-L")
    out = s.clock("2022-12-31T00:00:00+08:00")
    fired = [(a.code, a.subject.id, a.updated_at.isoformat()) for a in out if isinstance(a, Alert)]
    assert fired == [("T005", "P1", "2022-01-25T10:00:00+08:00"), ("T003", "IND-L", "2022-04-12T09:00:00+08:00")]


# --- a generated region, replayed ---------------------------------------------------------------


@pytest.fixture(scope="module")
def region_replay(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Chain], list[Alert], Expected]:
    directory = tmp_path_factory.mktemp("region")
    source = directory / "in.jsonl"
    write_scenario(source, seed=11, payments=3000)
    sink = MemorySink()
    asyncio.run(replay_file(source, Engine(parse_rules(default_rules_text())), sink))
    chains = [cast(Chain, decode_output(raw)) for raw in sink.lines["chain"]]
    alerts = [cast(Alert, decode_output(raw)) for raw in sink.lines["alert"]]
    return chains, alerts, expected_codes(seed=11, payments=3000)


def test_a_replayed_region_reconciles_every_chain_to_its_recipients(
    region_replay: tuple[list[Chain], list[Alert], Expected],
) -> None:
    chains, _, _ = region_replay
    three_level = [c for c in chains if max(len(path_up(c, n.indicator_id)) for n in c.nodes) == 3]
    assert len(three_level) >= 2
    for chain in chains:
        assert reconcile(chain) == [], chain.root
        by_id = {n.indicator_id: n for n in chain.nodes}
        for node in chain.nodes:  # amount = unallocated + allocated, and allocated = what children hold
            children = sum(n.amount for n in chain.nodes if n.parent_indicator_id == node.indicator_id)
            assert node.allocated == children and node.amount - node.allocated >= node.reserved + node.spent
        leaves = [n for n in chain.nodes if not any(c.parent_indicator_id == n.indicator_id for c in chain.nodes)]
        settled = sum(p.amount for p in chain.payments if p.status == "settled")
        assert settled == sum(n.spent for n in chain.nodes)
        if chain.root.startswith("ZD"):  # direct funds are paid from the leaves only
            assert settled == sum(n.spent for n in leaves)
            assert all(by_id[p.indicator_id] in leaves for p in chain.payments)


def test_a_replayed_region_raises_each_injected_tracing_anomaly(
    region_replay: tuple[list[Chain], list[Alert], Expected],
) -> None:
    _, alerts, expected = region_replay
    opened = Counter(a.code for a in alerts if a.status == "open")
    idle = expected.injected["idle_direct_leaf"]
    assert opened["T001"] == opened["T003"] == idle >= 2  # each idle leaf: not moved, then stagnant
    assert opened["T002"] == expected.injected["over_allocation"] >= 2
    assert opened["T004"] == expected.codes["D001"]
    # settlements that do not reconcile, and the payments never settled
    assert opened["T005"] == expected.settlement_anomalies + expected.injected["unsettled"]


# --- treasury trace ------------------------------------------------------------------------------


def test_trace_prints_the_tree_with_totals_ages_and_anomalies_and_masks_accounts(tmp_path: Path) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out"
    write_scenario(source, seed=11, payments=3000)
    assert cli.main(["replay", str(source), "--out", str(out), "--quiet"]) == 0
    chains = [orjson.loads(raw)["data"] for raw in (out / "chains.jsonl").read_bytes().splitlines()]
    root = next(c["root"] for c in chains if c["root"].startswith("ZD"))
    view = from_directory(out, root)
    tree = render_tree(view)
    lines = tree.splitlines()
    assert lines[0].startswith(f"{root} · {len(view.chain.nodes)} indicators · {len(view.chain.payments)} payments")
    assert lines[-1].startswith("reconciles")
    top = view.chain.nodes[0]
    assert f"└─ {top.indicator_id}" in lines[2] and "issued " + top.issued_at.date().isoformat() in lines[2]
    assert "⚠ T001  ⚠ T003" in tree and "⚠ T002" in tree  # the idle leaf and the refused allocation
    accounts = [p.payee_account for p in view.chain.payments]
    assert not any(account in tree for account in accounts)  # masked: only the last four digits
    masked_json = orjson.loads(render_json(view, unmask=False))
    assert all(p["payee_account"].startswith("*") for p in masked_json["payments"])
    assert orjson.loads(render_json(view, unmask=True))["payments"][0]["payee_account"] == accounts[0]


def test_trace_names_a_missing_root_and_a_directory_that_is_not_a_replay(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["trace", "NOPE", "--out", str(tmp_path)]) == 1
    assert "no chains.jsonl" in capsys.readouterr().err
    (tmp_path / "chains.jsonl").write_bytes(b"")
    assert cli.main(["trace", "NOPE", "--out", str(tmp_path)]) == 1
    assert "no chain with root 'NOPE'" in capsys.readouterr().err


def test_yuan_and_masking() -> None:
    assert yuan(123456789) == "1,234,567.89" and yuan(5) == "0.05"
    assert mask_account("6222000000001234") == "************1234" and mask_account("12") == "12"


# --- lanes (the Kafka runtime: one per partition) ------------------------------------------------


def _watch(rules: RulesConfig) -> tuple[TraceWatch, dict[str, Account]]:
    accounts = {"IND-L": Account(30_000)}
    return TraceWatch(rules.tracing, accounts), accounts


def _indicator(issued_at: str) -> Any:
    from tests.unit.conftest import make_indicator

    return make_indicator(indicator_id="IND-L", issued_at=issued_at, direct_fund_code=DOC)


def test_a_lane_only_passes_its_own_deadlines(rules: RulesConfig) -> None:
    watch, _ = _watch(rules)
    watch.opened(_indicator("2022-01-12T09:00:00+08:00"), True, lane="1")
    late = datetime.fromisoformat("2022-12-31T00:00:00+08:00")
    assert watch.advance("2", late) == []  # another partition's time
    fired = watch.advance("1", late)
    assert [(s.code, s.subject_id, s.at.date().isoformat()) for s in fired] == [
        ("T001", "IND-L", "2022-02-11"), ("T003", "IND-L", "2022-04-12")]


def test_a_late_use_from_another_lane_raises_and_resolves_what_a_replay_would_have(rules: RulesConfig) -> None:
    """The lane had not reached the deadline when an allocation issued after it arrived."""
    watch, _ = _watch(rules)
    watch.opened(_indicator("2022-01-12T09:00:00+08:00"), True, lane="1")
    signals = watch.drawn("IND-L", datetime.fromisoformat("2022-03-01T09:00:00+08:00"))
    assert [(s.code, s.active, s.at.date().isoformat()) for s in signals] == [
        ("T001", True, "2022-02-11"), ("T001", False, "2022-03-01")]
    assert watch.deadlines == {}  # T003 went too: a node with allocations is no leaf


def test_a_use_in_time_cancels_quietly_and_reload_rebuilds_the_order(rules: RulesConfig) -> None:
    watch, accounts = _watch(rules)
    watch.opened(_indicator("2022-01-12T09:00:00+08:00"), True, lane="1")
    assert watch.used("IND-L", datetime.fromisoformat("2022-01-20T09:00:00+08:00")) == []
    watch.reload()  # e.g. after a rebalance: the order is rebuilt from the durable deadlines
    accounts["IND-L"] = Account(30_000, spent=20_000)
    assert watch.advance("1", datetime.fromisoformat("2022-12-31T00:00:00+08:00")) == []  # 66 % spent


def test_a_verdict_on_a_lane_already_past_the_deadline_fires_at_once(rules: RulesConfig) -> None:
    """Kafka: the child's partition read all its events before its parent's verdict came back."""
    engine = Engine(rules)
    steps: list[Any] = []
    engine.forward = steps.append
    engine.validation.state.wait_for_parents = True
    engine.handle_line(line("indicator", indicator_data(issued_at=ISSUED, direct_fund_code=DOC)), "t", 1)
    engine.handle_line(line("indicator", indicator_data(indicator_id="IND-C", parent_indicator_id="IND-1",
                                                        amount="600.00", issued_at=ISSUED)), "t", 2)
    engine.handle_line(line("clock", {"now": "2022-12-31T00:00:00+08:00"}), "t", 3)  # the lane's last event
    (debit,) = steps
    steps.clear()
    engine.handle_step(debit, b"", "s", 0)  # on the parent: granted
    (verdict,) = steps
    out = engine.handle_step(verdict, b"", "s", 1)  # on the child: opened, and long overdue
    assert sorted((a.code, a.subject.id) for a in out if isinstance(a, Alert)) == [
        ("T001", "IND-C"), ("T003", "IND-C")]


def test_a_settlement_parked_with_its_payment_stops_the_clock_the_release_starts(rules: RulesConfig) -> None:
    """Kafka: both waited for the child's verdict; released together, nothing is left unsettled."""
    engine = Engine(rules)
    steps: list[Any] = []
    engine.forward = steps.append
    engine.validation.state.wait_for_parents = True
    engine.handle_line(line("project", project_data(project_id="PRJ-C", agency_code="AG-C")), "t", 0)
    engine.handle_line(line("indicator", indicator_data(issued_at=ISSUED)), "t", 1)
    engine.handle_line(line("indicator", indicator_data(indicator_id="IND-C", parent_indicator_id="IND-1",
                                                        amount="600.00", agency_code="AG-C", project_id="PRJ-C",
                                                        issued_at=ISSUED)), "t", 2)
    engine.handle_line(line("payment", payment_data(indicator_id="IND-C", agency_code="AG-C", project_id="PRJ-C",
                                                    amount="10.00", requested_at="2022-01-20T10:00:00+08:00")), "t", 3)
    engine.handle_line(line("settlement", settlement_data(indicator_id="IND-C", amount="10.00",
                                                          settled_at="2022-01-21T10:00:00+08:00")), "t", 4)
    (debit,) = steps
    steps.clear()
    engine.handle_step(debit, b"", "s", 0)
    (verdict,) = steps
    out = engine.handle_step(verdict, b"", "s", 1)
    assert [d.outcome for d in out if isinstance(d, Decision)] == ["accepted"]
    assert engine.validation.payments["PAY-1"].status == "settled"
    assert engine.tracing.deadlines == {}  # no T005 clock left running
    later = engine.handle_line(line("clock", {"now": "2022-12-31T00:00:00+08:00"}), "t", 5)
    assert [a.code for a in later if isinstance(a, Alert)] == []
