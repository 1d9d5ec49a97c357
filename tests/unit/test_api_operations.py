"""The API over the live embedded runtime: alerts (list, detail, SSE), acknowledge/resolve, the held
queue, release/reject, the audit log, readiness, metrics and the OpenAPI document."""

import asyncio
import time
from typing import Any

import orjson
import pytest
from aiohttp import web

from stream.api.openapi import document
from tests.unit.conftest import line, payment_data
from tests.unit.live_helpers import PERSON, Live, auth, run


async def alert_ids(state: Live, query: str = "", role: str = "viewer") -> list[str]:
    response = await state.client.get(f"/api/alerts{query}", headers=auth(role))
    assert response.status == 200, await response.text()
    return [a["alert_id"] for a in (await response.json())["alerts"]]


async def f004_of(state: Live, payment_id: str) -> str:
    body = await (await state.client.get("/api/alerts?code=F004", headers=auth("viewer"))).json()
    return next(a["alert_id"] for a in body["alerts"] if a["subject"]["id"] == payment_id)


def test_alerts_are_listed_with_filters_newest_first() -> None:
    async def check(state: Live) -> None:
        body = await (await state.client.get("/api/alerts", headers=auth("viewer"))).json()
        assert [(a["code"], a["subject"]["id"], a["status"]) for a in body["alerts"]] == [
            ("F004", "PAY-3", "open"), ("F004", "PAY-1", "open")]
        assert body["next_cursor"] is None
        assert len(await alert_ids(state, "?status=open&code=F004&severity=warning&treasury=150100")) == 2
        assert await alert_ids(state, "?treasury=150200") == []
        assert await alert_ids(state, "?status=resolved") == []
        assert await alert_ids(state, "?severity=critical") == []

    run(check)


def test_alerts_paginate_with_an_opaque_cursor() -> None:
    async def check(state: Live) -> None:
        everything = await alert_ids(state)
        seen: list[str] = []
        cursor: str | None = ""
        while cursor is not None:
            query = "?limit=1" + (f"&cursor={cursor}" if cursor else "")
            body = await (await state.client.get(f"/api/alerts{query}", headers=auth("viewer"))).json()
            seen += [a["alert_id"] for a in body["alerts"]]
            cursor = body["next_cursor"]
        assert seen == everything and len(seen) == 2

    run(check)


@pytest.mark.parametrize("query", ["?status=bogus", "?limit=0", "?limit=501", "?limit=ten", "?cursor=garbage",
                                   "?cursor=WyJ4Il0", "?stauts=open", "?treasury=15", "?code=Z999",
                                   "?severity=fatal"])
def test_a_bad_alert_query_is_400_with_a_message(query: str) -> None:
    async def check(state: Live) -> None:
        response = await state.client.get(f"/api/alerts{query}", headers=auth("viewer"))
        assert response.status == 400
        assert (await response.json())["error"]

    run(check)


READS = ["/api/alerts", "/api/alerts/F004-x", "/api/alerts/stream", "/api/held", "/api/payments/PAY-1"]
WRITES = ["/api/alerts/F004-x/ack", "/api/alerts/F004-x/resolve", "/api/payments/PAY-1/release",
          "/api/payments/PAY-1/reject"]


def test_no_token_is_401_everywhere_and_health_ready_metrics_openapi_are_open() -> None:
    async def check(state: Live) -> None:
        for path in READS:
            assert (await state.client.get(path)).status == 401, path
        for path in WRITES:
            assert (await state.client.post(path)).status == 401, path
            assert (await state.client.post(path, headers={"Authorization": "Bearer wrong"})).status == 401
        for path in ("/health", "/ready", "/metrics", "/api/openapi.json"):
            assert (await state.client.get(path)).status == 200, path
        assert await state.store.audit_log() == []  # no identity, nothing to audit

    run(check)


def test_only_operators_write_and_refusals_are_audited() -> None:
    async def check(state: Live) -> None:
        alert = await f004_of(state, "PAY-1")
        for role in ("viewer", "supervisor"):
            for path in (f"/api/alerts/{alert}/ack", "/api/payments/PAY-1/release"):
                response = await state.client.post(path, headers=auth(role))
                assert response.status == 403
                assert role in (await response.json())["error"]
        log = await state.store.audit_log()
        assert len(log) == 4 and {r["outcome"] for r in log} == {"refused"} and {r["status"] for r in log} == {403}
        assert {r["role"] for r in log} == {"viewer", "supervisor"}
        assert state.runtime.engine.alerts.alerts[alert].alert.status == "open"  # nothing changed

    run(check)


def test_acknowledge_then_resolve_an_alert_with_who_and_when() -> None:
    async def check(state: Live) -> None:
        alert = await f004_of(state, "PAY-1")
        response = await state.client.post(f"/api/alerts/{alert}/ack", headers=auth("li-secret"))
        assert response.status == 200
        body = await response.json()
        assert body["result"] == "done"
        assert (body["alert"]["status"], body["alert"]["actor"], body["alert"]["action"]) == (
            "acknowledged", "li.wei", "acknowledged")
        # Stamped with the engine's event time (the last event: PAY-3 at 10:30), not the wall clock.
        assert body["alert"]["updated_at"] == "2022-03-01T10:30:00+08:00"
        again = await state.client.post(f"/api/alerts/{alert}/ack", headers=auth("operator"))
        assert again.status == 409 and "acknowledged" in (await again.json())["error"]
        assert (await state.client.post(f"/api/alerts/{alert}/resolve", headers=auth("operator"))).status == 200
        detail = await (await state.client.get(f"/api/alerts/{alert}", headers=auth("viewer"))).json()
        assert detail["alert"]["status"] == "resolved"
        assert [(h["action"], h["actor"]) for h in detail["history"]] == [
            ("opened", "engine"), ("acknowledged", "li.wei"), ("resolved", "operator-" + _hash8("o-secret"))]
        assert detail["rule"]["clause"] and detail["rule"]["runbook"]
        assert await alert_ids(state, "?status=resolved") == [alert]
        log = await state.store.audit_log(alert)
        assert [(r["action"], r["actor"], r["outcome"], r["status"]) for r in log] == [
            ("resolve", "operator-" + _hash8("o-secret"), "done", 200),
            ("acknowledge", "operator-" + _hash8("o-secret"), "refused", 409),
            ("acknowledge", "li.wei", "done", 200)]

    run(check)


def _hash8(token: str) -> str:
    from stream.api.auth import digest_of

    return digest_of(token)[:8]


@pytest.mark.parametrize(("path", "status"), [
    ("/api/alerts/F004-0000000000000000/ack", 404), ("/api/alerts/F004-0000000000000000/resolve", 404),
    ("/api/payments/NOPE/release", 404), ("/api/payments/NOPE/reject", 404),
    ("/api/payments/PAY-2/release", 409), ("/api/payments/PAY-2/reject", 409),
    ("/api/alerts/" + "x" * 65 + "/ack", 400), ("/api/payments/a%00b/release", 400),
])
def test_writes_on_unknown_or_wrong_targets(path: str, status: int) -> None:
    async def check(state: Live) -> None:
        response = await state.client.post(path, headers=auth("operator"))
        assert response.status == status
        assert (await response.json())["error"]
        assert (await state.store.audit_log())[0]["status"] == status

    run(check)


def test_read_errors_are_400_and_404_never_500() -> None:
    async def check(state: Live) -> None:
        for path, status in (("/api/alerts/NOPE", 404), ("/api/alerts/a%01b", 400), ("/api/held?treasury=x", 400),
                             ("/api/held?limit=0", 400), ("/api/held?cursor=%%%", 400), ("/api/held?x=1", 400),
                             ("/api/alerts/stream?x=1", 400)):
            assert (await state.client.get(path, headers=auth("viewer"))).status == status, path

    run(check)


def test_the_held_queue_release_and_reject() -> None:
    async def check(state: Live) -> None:
        queue = await (await state.client.get("/api/held", headers=auth("viewer"))).json()
        assert [(h["payment_id"], h["treasury_code"], h["amount"]) for h in queue["held"]] == [
            ("PAY-1", "150100", "100.00"), ("PAY-3", "150100", "50.00")]
        assert queue["held"][0]["payee_account"] == "************7777"
        assert queue["held"][0]["reasons"][0]["code"] == "F004"
        whole = await (await state.client.get("/api/held?treasury=150100", headers=auth("supervisor"))).json()
        assert whole["held"][0]["payee_account"] == "6222000000007777"
        assert (await (await state.client.get("/api/held?treasury=150200", headers=auth("viewer"))).json())[
            "held"] == []
        page = await (await state.client.get("/api/held?limit=1", headers=auth("viewer"))).json()
        rest = await (await state.client.get(f"/api/held?limit=1&cursor={page['next_cursor']}",
                                             headers=auth("viewer"))).json()
        assert [h["payment_id"] for h in page["held"] + rest["held"]] == ["PAY-1", "PAY-3"]

        released = await state.client.post("/api/payments/PAY-1/release", headers=auth("operator"))
        assert released.status == 200
        decision = (await released.json())["decision"]
        assert (decision["outcome"], decision["available_after"]) == ("accepted", "250.00")
        assert decision["decided_at"] == "2022-03-01T10:30:00+08:00"  # the engine's event time
        rejected = await state.client.post("/api/payments/PAY-3/reject", headers=auth("operator"))
        assert rejected.status == 200
        assert ((await rejected.json())["decision"]["outcome"], (await rejected.json())["decision"][
            "available_after"]) == ("rejected", "300.00")  # the reservation released
        account = state.runtime.engine.validation.state.ledger.accounts["IND-1"]
        assert (account.reserved, account.available) == (70_000, 30_000)
        assert (await (await state.client.get("/api/held", headers=auth("viewer"))).json())["held"] == []
        paid = await (await state.client.get("/api/payments/PAY-1", headers=auth("viewer"))).json()
        assert [h["outcome"] for h in paid["history"]] == ["held", "accepted"]
        assert paid["decision"]["reasons"][0]["clause"]
        assert paid["ledger_effect"] == {"indicator_id": "IND-1", "effect": "reserve", "amount": "100.00",
                                         "available_after": "250.00", "status": "accepted"}
        gone = await (await state.client.get("/api/payments/PAY-3", headers=auth("viewer"))).json()
        assert gone["ledger_effect"]["effect"] == "void"
        assert (await state.client.post("/api/payments/PAY-1/release", headers=auth("operator"))).status == 409
        assert [(r["action"], r["target"], r["outcome"]) for r in await state.store.audit_log()] == [
            ("release", "PAY-1", "refused"), ("reject", "PAY-3", "done"), ("release", "PAY-1", "done")]

    run(check)


async def _next_event(response: Any, deadline_s: float) -> tuple[str, dict[str, Any] | None]:
    """The next SSE block: ("alert", data) or ("comment", None)."""
    block = b""
    while not block.endswith(b"\n\n"):
        block += await asyncio.wait_for(response.content.readline(), deadline_s)
    text = block.decode()
    if text.startswith("event: alert"):
        data = next(row for row in text.splitlines() if row.startswith("data: "))
        return "alert", orjson.loads(data[6:])
    return "comment", None


def test_the_stream_delivers_a_new_alert_within_a_second_and_keeps_alive() -> None:
    async def check(state: Live) -> None:
        response = await state.client.get("/api/alerts/stream", headers=auth("viewer"))
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/event-stream")
        assert (await _next_event(response, 1.0))[0] == "comment"  # connected (and the retry hint)
        started = time.monotonic()
        await state.runtime.push([line("payment", payment_data(
            payment_id="PAY-4", amount="10.00", requested_at="2022-03-01T11:00:00+08:00",
            payee={**PERSON, "account": "6222000000009999"}))])
        kind, alert = await _next_event(response, 1.0)
        assert time.monotonic() - started < 1.0
        assert kind == "alert" and alert is not None
        assert (alert["code"], alert["subject"]["id"], alert["status"]) == ("F004", "PAY-4", "open")
        assert await _next_event(response, 1.0) == ("comment", None)  # a keep-alive when idle
        ack = await state.client.post(f"/api/alerts/{alert['alert_id']}/ack", headers=auth("operator"))
        assert ack.status == 200
        kind, acked = await _next_event(response, 1.0)
        assert kind == "alert" and acked is not None and acked["status"] == "acknowledged"
        response.close()

    run(check, keepalive_s=0.3)


def test_a_read_only_server_refuses_writes_and_streams_with_503() -> None:
    async def check(state: Live) -> None:
        alert = await f004_of(state, "PAY-1")
        response = await state.client.post(f"/api/alerts/{alert}/ack", headers=auth("operator"))
        assert response.status == 503 and "live engine" in (await response.json())["error"]
        assert (await state.store.audit_log())[0]["outcome"] == "failed"

    run(check, operator=False)


def test_ready_reports_the_engine_and_metrics_count_actions() -> None:
    async def check(state: Live) -> None:
        ready = await state.client.get("/ready")
        assert ready.status == 200
        assert await ready.json() == {"status": "ready", "checks": {"store": "ok", "engine": "running"}}
        await state.client.post("/api/payments/NOPE/release", headers=auth("operator"))
        metrics = await (await state.client.get("/metrics")).text()
        assert 'treasury_operator_actions_total{action="release",status="404"}' in metrics
        state.runtime.finish()
        for _ in range(100):
            if not state.runtime.running:
                break
            await asyncio.sleep(0.01)
        stopped = await state.client.get("/ready")
        assert stopped.status == 503 and (await stopped.json())["checks"]["engine"] == "stopped"
        after = await state.client.post("/api/payments/PAY-1/release", headers=auth("operator"))
        assert after.status == 503

    run(check)


def test_the_openapi_document_matches_the_routes() -> None:
    async def check(state: Live) -> None:
        served = await (await state.client.get("/api/openapi.json")).json()
        assert served == orjson.loads(orjson.dumps(document()))
        assert served["openapi"].startswith("3.1")
        app: web.Application = state.client.server.app  # type: ignore[assignment]
        routes = {(r.resource.canonical, r.method.lower()) for r in app.router.routes()  # type: ignore[union-attr]
                  if r.method != "HEAD"}
        documented = {(path, method) for path, item in served["paths"].items() for method in item}
        assert routes == documented
        for path, item in served["paths"].items():
            for operation in item.values():
                names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
                assert names == {part[1:-1] for part in path.split("/") if part.startswith("{")}, path

    run(check)


def test_the_openapi_document_is_valid_openapi_3_1() -> None:
    from openapi_spec_validator import validate

    validate(orjson.loads(orjson.dumps(document())))  # raises on an invalid document
