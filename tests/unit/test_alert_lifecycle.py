"""Alert lifecycle: dedup on (code, subject), open -> acknowledged -> resolved with history; the catalogue."""

import re
import string
from datetime import timedelta
from typing import Any, get_args

import pytest

from alerts.catalogue import CATALOGUE, PAYEE_KIND_ZH, spec
from alerts.lifecycle import AlertBook, alert_id
from alerts.signals import AlertSignal
from models.inputs import PayeeKind
from models.outputs import Alert, Severity
from tests.unit.conftest import T0

T1 = T0 + timedelta(hours=1)
T2 = T0 + timedelta(hours=2)
T3 = T0 + timedelta(hours=3)
T4 = T0 + timedelta(hours=4)

T005_EVIDENCE: dict[str, Any] = {
    "payment_id": "PAY-1", "problem": "settlement for an unknown payment", "problem_zh": "未知支付的清算",
    "bank_ref": "BR-1", "amount": "600.00",
}


def t005(at: Any = T0, active: bool = True, subject: str = "PAY-1", **evidence: Any) -> AlertSignal:
    return AlertSignal("T005", "payment", subject, at, {**T005_EVIDENCE, "payment_id": subject, **evidence}, active)


def r001(balance: str, at: Any = T0, active: bool = True) -> AlertSignal:
    return AlertSignal("R001", "treasury", "150100", at, {"balance": balance, "floor": "1000000.00"}, active)


def opened(book: AlertBook, signal: AlertSignal) -> Alert:
    alert = book.apply(signal)
    assert alert is not None
    return alert


def test_a_new_signal_opens_an_alert() -> None:
    book = AlertBook()
    alert = opened(book, t005())
    assert alert.alert_id == alert_id("T005", "payment", "PAY-1")
    assert alert.code == "T005"
    assert alert.severity == "warning"
    assert (alert.subject.kind, alert.subject.id) == ("payment", "PAY-1")
    assert alert.status == "open"
    assert alert.opened_at == alert.updated_at == T0
    assert alert.evidence == T005_EVIDENCE
    assert "PAY-1" in alert.message.zh
    assert "未知支付的清算" in alert.message.zh
    assert "settlement for an unknown payment" in alert.message.en
    assert [(h.action, h.actor, h.at) for h in book.history(alert.alert_id)] == [("opened", "engine", T0)]


def test_severity_comes_from_the_catalogue() -> None:
    book = AlertBook()
    assert opened(book, r001("10.00")).severity == "critical"
    info = AlertSignal("R004", "treasury", "150100", T0, {"coverage_ratio": "0.95", "threshold": "0.8"})
    assert opened(book, info).severity == "info"


def test_same_evidence_again_changes_nothing() -> None:
    book = AlertBook()
    first = opened(book, t005())
    for n in range(50):
        assert book.apply(t005(at=T0 + timedelta(minutes=n + 1))) is None
    assert len(book.alerts) == 1
    assert book.alerts[first.alert_id].alert == first
    assert len(book.history(first.alert_id)) == 1


def test_changed_evidence_updates_the_same_alert() -> None:
    book = AlertBook()
    first = opened(book, r001("900000.00"))
    updated = book.apply(r001("800000.00", at=T1))
    assert updated is not None
    assert updated.alert_id == first.alert_id
    assert updated.status == "open"
    assert updated.opened_at == T0
    assert updated.updated_at == T1
    assert updated.evidence["balance"] == "800000.00"
    assert "800000.00" in updated.message.zh
    assert "800000.00" in updated.message.en
    assert [h.action for h in book.history(first.alert_id)] == ["opened", "updated"]
    assert len(book.alerts) == 1


def test_an_update_keeps_an_acknowledgement() -> None:
    book = AlertBook()
    key = opened(book, r001("900000.00")).alert_id
    book.acknowledge(key, "operator:zhang", T1)
    updated = book.apply(r001("800000.00", at=T2))
    assert updated is not None
    assert updated.status == "acknowledged"


def test_an_inactive_signal_resolves_the_alert() -> None:
    book = AlertBook()
    key = opened(book, r001("900000.00")).alert_id
    resolved = book.apply(r001("900000.00", at=T1, active=False))
    assert resolved is not None
    assert resolved.alert_id == key
    assert resolved.status == "resolved"
    assert resolved.updated_at == T1
    assert resolved.opened_at == T0
    assert [(h.action, h.actor) for h in book.history(key)] == [("opened", "engine"), ("resolved", "engine")]
    # Cleared again: nothing more to say.
    assert book.apply(r001("900000.00", at=T2, active=False)) is None


def test_an_inactive_signal_for_no_alert_is_nothing() -> None:
    book = AlertBook()
    assert book.apply(r001("1.00", active=False)) is None
    assert book.alerts == {}


def test_a_resolved_alert_reopens_with_its_history() -> None:
    book = AlertBook()
    key = opened(book, r001("900000.00")).alert_id
    book.apply(r001("900000.00", at=T1, active=False))
    reopened = book.apply(r001("700000.00", at=T2))
    assert reopened is not None
    assert reopened.alert_id == key
    assert reopened.status == "open"
    assert reopened.opened_at == T2
    assert reopened.updated_at == T2
    assert reopened.evidence["balance"] == "700000.00"
    assert [h.action for h in book.history(key)] == ["opened", "resolved", "reopened"]


def test_a_resolved_alert_reopens_even_with_the_same_evidence() -> None:
    book = AlertBook()
    key = opened(book, r001("900000.00")).alert_id
    book.apply(r001("900000.00", at=T1, active=False))
    reopened = book.apply(r001("900000.00", at=T2))
    assert reopened is not None
    assert reopened.status == "open"
    assert book.apply(r001("900000.00", at=T3)) is None  # and then dedups again
    assert [h.action for h in book.history(key)] == ["opened", "resolved", "reopened"]


def test_acknowledge_and_resolve_by_an_operator() -> None:
    book = AlertBook()
    key = opened(book, t005()).alert_id
    acked = book.acknowledge(key, "operator:li", T1)
    assert acked is not None
    assert acked.status == "acknowledged"
    assert acked.updated_at == T1
    assert acked.evidence == T005_EVIDENCE
    # Acknowledging twice changes nothing.
    assert book.acknowledge(key, "operator:li", T2) is None
    resolved = book.resolve(key, "operator:wang", T3)
    assert resolved is not None
    assert resolved.status == "resolved"
    assert resolved.updated_at == T3
    assert book.resolve(key, "operator:wang", T4) is None
    assert book.acknowledge(key, "operator:li", T4) is None
    assert [(h.at, h.action, h.actor) for h in book.history(key)] == [
        (T0, "opened", "engine"),
        (T1, "acknowledged", "operator:li"),
        (T3, "resolved", "operator:wang"),
    ]


def test_an_open_alert_can_be_resolved_without_acknowledgement() -> None:
    book = AlertBook()
    key = opened(book, t005()).alert_id
    resolved = book.resolve(key, "operator:li", T1)
    assert resolved is not None
    assert resolved.status == "resolved"


def test_actions_on_an_unknown_alert_are_nothing() -> None:
    book = AlertBook()
    assert book.acknowledge("T005-0000000000000000", "operator:li", T0) is None
    assert book.resolve("T005-0000000000000000", "operator:li", T0) is None
    assert book.history("T005-0000000000000000") == ()


def test_history_is_a_snapshot() -> None:
    book = AlertBook()
    key = opened(book, t005()).alert_id
    history = book.history(key)
    book.acknowledge(key, "operator:li", T1)
    assert len(history) == 1
    assert len(book.history(key)) == 2


def test_alert_ids_are_stable_and_distinct_per_code_and_subject() -> None:
    assert alert_id("T005", "payment", "PAY-1") == alert_id("T005", "payment", "PAY-1")
    assert re.fullmatch(r"T005-[0-9a-f]{16}", alert_id("T005", "payment", "PAY-1"))
    ids = {
        alert_id(code, kind, subject)
        for code in ("T005", "F002", "D001")
        for kind in ("payment", "indicator")
        for subject in ("PAY-1", "PAY-2", "PAY-1 ")
    }
    assert len(ids) == 3 * 2 * 3
    # Separator-safe: the parts cannot run into each other.
    assert alert_id("T005", "payment", "X") != alert_id("T005", "paymentX", "")


def test_two_subjects_are_two_alerts() -> None:
    book = AlertBook()
    first = opened(book, t005(subject="PAY-1"))
    second = opened(book, t005(subject="PAY-2"))
    assert first.alert_id != second.alert_id
    assert len(book.alerts) == 2
    # Resolving one leaves the other open.
    book.apply(t005(subject="PAY-1", at=T1, active=False))
    assert book.alerts[second.alert_id].alert.status == "open"


def test_same_subject_other_code_is_another_alert() -> None:
    book = AlertBook()
    a = opened(book, t005())
    b = opened(book, AlertSignal("F002", "payment", "PAY-1", T0, {"earlier_payment_id": "PAY-0", "window_days": 7}))
    assert a.alert_id != b.alert_id


# --- the catalogue ----------------------------------------------------------------------------

DESIGN_CODES = (
    "V001", "V002", "B001", "B002", "B003", "B004", "B005", "B006", "P001", "P002", "P003", "C001", "A001",
    "D001", "F001", "F002", "F003", "F004", "S001", "T001", "T002", "T003", "T004", "T005",
    "R001", "R002", "R003", "R004", "R005", "R006", "R007",
)


def test_every_design_code_is_in_the_catalogue() -> None:
    assert set(DESIGN_CODES) <= set(CATALOGUE)


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_catalogue_entry_is_complete(code: str) -> None:
    rule = spec(code)
    assert rule.code == code
    assert rule.severity in get_args(Severity)
    for text in (rule.title_zh, rule.title_en, rule.template_zh, rule.template_en, rule.clause, rule.runbook):
        assert isinstance(text, str)
        assert text.strip()
    # The zh texts are in Chinese, the English ones are not.
    assert re.search(r"[\u4e00-\u9fff]", rule.title_zh)
    assert re.search(r"[\u4e00-\u9fff]", rule.template_zh)
    assert re.search(r"[A-Za-z]", rule.title_en)
    # Templates are well-formed format strings with named fields only.
    for template in (rule.template_zh, rule.template_en):
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
        assert all(name.isidentifier() for name in fields), (code, fields)


def test_catalogue_severities_of_note() -> None:
    assert {code for code, rule in CATALOGUE.items() if rule.severity == "critical"} >= {
        "D001", "T002", "T004", "R001", "R005", "R006",
    }
    assert CATALOGUE["R004"].severity == "info"


def test_every_payee_kind_has_a_chinese_name() -> None:
    assert set(PAYEE_KIND_ZH) == set(get_args(PayeeKind))
    assert all(name.strip() for name in PAYEE_KIND_ZH.values())


def test_unknown_code_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        spec("Z999")


# --- operator actions against a changing condition (ARCHITECTURE.md, "Alert lifecycle") --------


def r002(severity: str, date: str = "2022-03-10", at: Any = T0, active: bool = True) -> AlertSignal:
    evidence = {"date": date, "value": "1.00", "floor": "2.00", "shortfall": "1.00", "quantile": "p50",
                "days_ahead": 5}
    return AlertSignal("R002", "treasury", "150100", at, evidence, active, severity)  # type: ignore[arg-type]


def test_each_state_names_its_action_and_actor() -> None:
    book = AlertBook()
    key = opened(book, r001("900000.00")).alert_id
    assert (book.alerts[key].alert.action, book.alerts[key].alert.actor) == ("opened", "engine")
    acked = book.acknowledge(key, "operator:li", T1)
    assert acked is not None
    assert (acked.action, acked.actor, acked.updated_at) == ("acknowledged", "operator:li", T1)
    updated = book.apply(r001("800000.00", at=T2))
    assert updated is not None
    assert (updated.status, updated.action, updated.actor) == ("acknowledged", "updated", "engine")
    cleared = book.apply(r001("800000.00", at=T3, active=False))
    assert cleared is not None
    assert (cleared.status, cleared.action, cleared.actor) == ("resolved", "resolved", "engine")
    # The operator's acknowledgement is still in the history after the engine resolved it.
    assert [(h.action, h.actor) for h in book.history(key)] == [
        ("opened", "engine"), ("acknowledged", "operator:li"), ("updated", "engine"), ("resolved", "engine")]


def test_a_rising_severity_reopens_an_acknowledged_alert() -> None:
    book = AlertBook()
    key = opened(book, r002("info")).alert_id
    book.acknowledge(key, "operator:li", T1)
    same = book.apply(r002("info", date="2022-03-09", at=T2))
    assert same is not None and same.status == "acknowledged"
    escalated = book.apply(r002("warning", at=T3))
    assert escalated is not None
    assert (escalated.status, escalated.action, escalated.severity) == ("open", "escalated", "warning")
    # A milder one again does not reopen what is open anyway, and a lower severity is just an update.
    milder = book.apply(r002("info", at=T4))
    assert milder is not None and (milder.status, milder.action, milder.severity) == ("open", "updated", "info")


def test_a_manual_resolve_stands_while_the_condition_holds() -> None:
    book = AlertBook()
    key = opened(book, r001("900000.00")).alert_id
    resolved = book.resolve(key, "operator:wang", T1)
    assert resolved is not None and (resolved.status, resolved.actor) == ("resolved", "operator:wang")
    # The engine still sees the condition: same or new evidence changes nothing.
    assert book.apply(r001("900000.00", at=T2)) is None
    assert book.apply(r001("850000.00", at=T2)) is None
    # It clears (nothing to show: it is resolved already) ...
    assert book.apply(r001("850000.00", at=T3, active=False)) is None
    # ... and a new occurrence reopens it.
    again = book.apply(r001("700000.00", at=T4))
    assert again is not None
    assert (again.status, again.action, again.opened_at) == ("open", "reopened", T4)
    assert [(h.action, h.actor) for h in book.history(key)] == [
        ("opened", "engine"), ("resolved", "operator:wang"), ("reopened", "engine")]


def test_a_manual_resolve_gives_way_to_a_rising_severity() -> None:
    book = AlertBook()
    key = opened(book, r002("info")).alert_id
    book.resolve(key, "operator:wang", T1)
    assert book.apply(r002("info", date="2022-03-08", at=T2)) is None
    reopened = book.apply(r002("warning", at=T3))
    assert reopened is not None and (reopened.status, reopened.action) == ("open", "reopened")


def test_an_engine_resolve_reopens_on_the_next_occurrence() -> None:
    book = AlertBook()
    key = opened(book, r001("900000.00")).alert_id
    book.apply(r001("900000.00", at=T1, active=False))
    assert book.alerts[key].waived is False
    again = book.apply(r001("900000.00", at=T2))
    assert again is not None and again.status == "open"
