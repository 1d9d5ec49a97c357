"""The operator console in headless Chromium against the live demo engine: what an operator sees and does."""

from typing import Any

import orjson
import pytest

from agents.tracing.chain import reconcile
from tests.integration.browser.conftest import Served, sign_in

pytestmark = pytest.mark.integration

ROOT_OF_DEMO = "ZD2022-0001"


def _settlement(payment_id: str) -> bytes:
    """A bank receipt for a payment the engine never saw: a T005 reconciliation alert (warning)."""
    return orjson.dumps({"type": "settlement", "data": {
        "payment_id": payment_id, "indicator_id": "ZB2022-150000-99999", "status": "settled",
        "amount": "1234.56", "bank_ref": "BR-BROWSER", "settled_at": "2023-01-20T10:00:00+08:00"}})


def _row(page: Any, alert_id: str) -> Any:
    return page.locator(f'#alert-rows tr[data-alert-id="{alert_id}"]')


def test_the_alert_board_shows_a_new_alert_live(page: Any, served: Served) -> None:
    sign_in(page, served, "operator", "#/alerts")
    page.wait_for_selector("#live.on")
    page.wait_for_selector("#alert-rows tr")
    before = page.locator("#alert-rows tr").count()
    served.push(_settlement("ZF-BROWSER-LIVE"))
    row = page.locator("#alert-rows tr", has_text="ZF-BROWSER-LIVE")
    row.wait_for(timeout=5000)  # arrived over the stream, no reload
    assert "T005" in row.inner_text()
    assert "sev-row-warning" in (row.get_attribute("class") or "")
    assert page.locator("#alert-rows tr").count() == before + 1


def test_acknowledge_works_and_is_recorded_under_the_operators_name(page: Any, served: Served) -> None:
    served.push(_settlement("ZF-BROWSER-ACK"))
    sign_in(page, served, "operator", "#/alerts")
    row = page.locator("#alert-rows tr", has_text="ZF-BROWSER-ACK")
    row.wait_for()
    alert_id = row.get_attribute("data-alert-id")
    row.locator('button[data-action="ack"]').click()
    _row(page, alert_id).wait_for(state="detached")  # gone from the "open" board
    page.select_option('select[name="status"]', "acknowledged")
    page.click("form.filters button[type=submit]")
    _row(page, alert_id).wait_for()
    assert _row(page, alert_id).get_attribute("data-status") == "acknowledged"
    stored = served.call(served.store.alert(alert_id))
    assert stored is not None and stored["status"] == "acknowledged" and stored["actor"] == "browser-operator"
    # its detail: the rule's runbook line, and the acknowledgement in its history under the operator's name
    _row(page, alert_id).locator("a.code").click()
    page.locator('[data-testid="runbook"]').wait_for()
    assert "browser-operator" in page.locator('[data-testid="alert-history"]').inner_text()


def test_a_viewer_may_not_acknowledge(page: Any, served: Served) -> None:
    served.push(_settlement("ZF-BROWSER-VIEWER"))
    sign_in(page, served, "viewer", "#/alerts")
    row = page.locator("#alert-rows tr", has_text="ZF-BROWSER-VIEWER")
    row.wait_for()
    row.locator('button[data-action="ack"]').click()
    page.wait_for_selector("#notice.error")
    assert served.call(served.store.alert(row.get_attribute("data-alert-id")))["status"] == "open"


def test_the_chain_view_renders_a_demo_root_with_correct_totals(page: Any, served: Served) -> None:
    chain = served.call(served.store.chain(ROOT_OF_DEMO))
    assert chain is not None
    ids = {node.indicator_id for node in chain.nodes}
    amount = sum(node.amount for node in chain.nodes if node.parent_indicator_id not in ids)
    settled = sum(p.amount for p in chain.payments if p.status == "settled")
    sign_in(page, served, "supervisor", f"#/chain/{ROOT_OF_DEMO}")
    summary = page.locator('[data-testid="chain-summary"]')
    summary.wait_for()
    assert summary.get_attribute("data-amount") == f"{amount // 100:,}.{amount % 100:02d}"
    assert summary.get_attribute("data-settled") == f"{settled // 100:,}.{settled % 100:02d}"
    assert summary.get_attribute("data-reconciles") == ("true" if not reconcile(chain) else "false")
    assert page.locator('[data-testid="chain-tree"] [data-indicator-id]').count() == len(chain.nodes)
    assert page.locator('[data-testid="chain-tree"] li[data-payment-id]').count() == len(chain.payments)
    # an anomaly (an open T-code alert on one of its indicators, or an F/D-code on a payment) is marked
    assert page.locator('[data-testid="chain-tree"] .mark').count() >= 1


def test_a_viewer_never_sees_a_whole_payee_account(page: Any, served: Served) -> None:
    chain = served.call(served.store.chain(ROOT_OF_DEMO))
    sign_in(page, served, "viewer", f"#/chain/{ROOT_OF_DEMO}")
    page.locator('[data-testid="chain-summary"]').wait_for()
    for details in page.locator("details.payments").all():
        details.evaluate("node => node.open = true")
    text = page.locator("main").inner_text()
    whole = [p.payee_account for p in chain.payments if len(p.payee_account) > 4]
    assert whole and not [account for account in whole if account in text]
    assert "*" in text


def test_the_forecast_view_draws_its_band_and_floor(page: Any, served: Served) -> None:
    forecast = served.call(served.store.forecast("150000"))
    assert forecast is not None
    sign_in(page, served, "viewer", "#/treasury/150000")
    band = page.locator('[data-testid="band"]')
    band.wait_for()
    path = band.get_attribute("d") or ""
    # 30 upper and 30 lower points, closed
    assert path.startswith("M") and path.endswith("Z") and path.count("L") == 2 * len(forecast["payload"]["points"]) - 1
    assert page.locator('[data-testid="p50"]').count() == 1
    assert page.locator('[data-testid="balance"]').count() == 1
    assert page.locator('[data-testid="floor"]').count() == 1
    assert forecast["payload"]["as_of"] in page.locator('[data-testid="treasury-summary"]').inner_text()


def test_payment_detail_shows_reasons_with_their_clause(page: Any, served: Served) -> None:
    rejected = next(row for row in served.store.tables["decisions"].values()
                    if row["outcome"] == "rejected" and row["reasons"] and row["reasons"][0].get("clause"))
    sign_in(page, served, "operator", f"#/payment/{rejected['payment_id']}")
    table = page.locator('[data-testid="reasons"]')
    table.wait_for()
    text = table.inner_text()
    for reason in rejected["reasons"]:
        assert reason["code"] in text and reason["clause"] in text
    assert page.locator('[data-testid="outcome"]').inner_text() == "拒绝"


def test_a_held_payment_is_released_from_the_queue(page: Any, served: Served) -> None:
    sign_in(page, served, "operator", "#/held")
    queue = page.locator('[data-testid="held-queue"]')
    queue.wait_for()
    first = queue.locator("tbody tr").first
    payment_id = first.get_attribute("data-payment-id")
    first.locator("button", has_text="放行").click()
    page.locator(f'[data-testid="held-queue"] tr[data-payment-id="{payment_id}"]').wait_for(state="detached")
    decision = served.call(served.store.decision(payment_id))
    assert decision is not None and decision["outcome"] == "accepted"


def test_english_on_the_toggle(page: Any, served: Served) -> None:
    sign_in(page, served, "viewer", "#/alerts")
    page.wait_for_selector("#alert-rows tr")
    assert page.locator("header .brand").inner_text() == "国库支付监控台"
    page.click("#lang")
    page.wait_for_selector("text=Live alerts")
    assert page.locator("header .brand").inner_text() == "Treasury payment monitor"
    assert page.evaluate("document.documentElement.lang") == "en"
    page.click("#lang")  # back to zh-CN for the other tests (kept in localStorage)
    page.wait_for_selector("text=实时告警")


def test_without_a_token_nothing_is_shown(page: Any, served: Served) -> None:
    page.goto(f"{served.base}/console/#/alerts")
    page.wait_for_selector("#notice.error")
    assert page.locator("#alert-rows tr").count() == 0
