"""Operator actions through the live embedded runtime with PostgreSQL: acknowledge, release, reject, audit."""

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import asyncpg
import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from agents.config import default_rules_text, parse_rules
from stream.api.auth import Tokens
from stream.api.hub import AlertHub
from stream.api.server import make_app
from stream.engine import Engine
from stream.live import LiveOperator, LiveRuntime
from stream.store.migrate import migrate
from stream.store.postgres import PostgresStore
from stream.store.queries import HeldFilter
from tests.integration import services
from tests.integration.test_store import new_database  # noqa: F401 - the fixture
from tests.unit.live_helpers import CONFIG, SCENARIO, auth

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", autouse=True)
def _stop_what_we_started() -> Iterator[None]:
    yield
    services.stop_started()


@pytest.fixture(scope="module")
def database(new_database: Any) -> str:  # noqa: F811 - the fixture imported above
    url: str = new_database()
    asyncio.run(migrate(url))
    return url


def test_acknowledge_release_and_reject_reach_postgres(database: str) -> None:
    async def main() -> dict[str, Any]:
        store = PostgresStore(database)
        await store.open()
        hub = AlertHub()
        runtime = LiveRuntime(Engine(parse_rules(default_rules_text())), store, hub, store=store)
        task = asyncio.create_task(runtime.run())
        app = make_app(store, Tokens.parse(CONFIG), manage_store=False, operator=LiveOperator(runtime, 5.0), hub=hub)
        try:
            async with TestClient(TestServer(app)) as client:
                await runtime.push(list(SCENARIO))
                while runtime.written_lines < len(SCENARIO):
                    await asyncio.sleep(0.01)
                listed = await (await client.get("/api/alerts?code=F004&treasury=150100",
                                                 headers=auth("viewer"))).json()
                alert_id = next(a["alert_id"] for a in listed["alerts"] if a["subject"]["id"] == "PAY-1")
                assert (await client.post(f"/api/alerts/{alert_id}/ack", headers=auth("li-secret"))).status == 200
                assert (await client.post("/api/payments/PAY-1/release", headers=auth("li-secret"))).status == 200
                assert (await client.post("/api/payments/PAY-3/reject", headers=auth("li-secret"))).status == 200
                assert (await client.post("/api/payments/PAY-3/reject", headers=auth("li-secret"))).status == 409
                assert (await client.post("/api/payments/PAY-3/reject", headers=auth("viewer"))).status == 403
                paid = await (await client.get("/api/payments/PAY-1", headers=auth("viewer"))).json()
                detail = await (await client.get(f"/api/alerts/{alert_id}", headers=auth("viewer"))).json()
                assert (await client.get("/ready")).status == 200
            held = await store.held_page(HeldFilter())
        finally:
            runtime.finish()
            await task
            await store.close()
        conn = await asyncpg.connect(database)
        try:
            rows = {
                "decisions": [tuple(r) for r in await conn.fetch(
                    "SELECT payment_id, outcome, available_after_fen FROM decisions ORDER BY payment_id")],
                "history": [tuple(r) for r in await conn.fetch(
                    "SELECT payment_id, outcome FROM decision_history ORDER BY payment_id, decided_at, outcome")],
                "alert": tuple(await conn.fetchrow("SELECT status, action, actor FROM alerts WHERE alert_id = $1",
                                                   alert_id)),
                "alert_history": [tuple(r) for r in await conn.fetch(
                    "SELECT action, actor FROM alert_history WHERE alert_id = $1 ORDER BY updated_at, action",
                    alert_id)],
                "audit": [tuple(r) for r in await conn.fetch(
                    "SELECT actor, role, action, target, outcome, status FROM operator_audit ORDER BY audit_id")],
                "chain": [tuple(r) for r in await conn.fetch(
                    "SELECT payment_id, status FROM chain_payments ORDER BY payment_id")],
                "ledger": tuple(await conn.fetchrow(
                    "SELECT reserved_fen, available_fen FROM chain_nodes n, LATERAL (SELECT n.amount_fen - "
                    "n.allocated_fen - n.reserved_fen - n.spent_fen AS available_fen) a WHERE indicator_id = 'IND-1'")),
            }
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await conn.execute("UPDATE operator_audit SET outcome = 'done'")
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await conn.execute("DELETE FROM operator_audit")
        finally:
            await conn.close()
        return {**rows, "paid": paid, "detail": detail, "held": held}

    found = asyncio.run(main())
    assert found["decisions"] == [("PAY-1", "accepted", 25_000), ("PAY-2", "accepted", 30_000),
                                  ("PAY-3", "rejected", 30_000)]
    assert found["history"] == [("PAY-1", "held"), ("PAY-1", "accepted"), ("PAY-2", "accepted"), ("PAY-3", "held"),
                                ("PAY-3", "rejected")]
    assert found["alert"] == ("acknowledged", "acknowledged", "li.wei")
    assert found["alert_history"] == [("opened", "engine"), ("acknowledged", "li.wei")]
    assert found["audit"] == [
        ("li.wei", "operator", "acknowledge", found["detail"]["alert"]["alert_id"], "done", 200),
        ("li.wei", "operator", "release", "PAY-1", "done", 200),
        ("li.wei", "operator", "reject", "PAY-3", "done", 200),
        ("li.wei", "operator", "reject", "PAY-3", "refused", 409),
        ("viewer-" + found["audit"][4][0][7:], "viewer", "reject", "PAY-3", "refused", 403),
    ]
    assert found["chain"] == [("PAY-1", "accepted"), ("PAY-2", "accepted"), ("PAY-3", "rejected")]
    assert found["ledger"] == (70_000, 30_000)
    assert found["held"] == []
    assert [h["outcome"] for h in found["paid"]["history"]] == ["held", "accepted"]
    assert found["paid"]["chain"]["root"] == "IND-1"

    env = {**os.environ, "DATABASE_URL": database}
    table = subprocess.run([sys.executable, "-m", "stream.cli", "alerts"], capture_output=True, text=True,
                           env=env, timeout=120, check=True).stdout
    assert "F004" in table and "li.wei" in table and "acknowledged" in table and "2 alert(s)" in table
    as_json = subprocess.run([sys.executable, "-m", "stream.cli", "alerts", "--status", "acknowledged", "--json"],
                             capture_output=True, text=True, env=env, timeout=120, check=True).stdout
    assert [orjson.loads(row)["actor"] for row in as_json.splitlines()] == ["li.wei"]
