"""Operator actions on Kafka: a worker's API acknowledges, releases and rejects through the owning partition."""

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
import pytest

from tests.integration import services
from tests.integration.kafka_harness import Cluster
from tests.unit.live_helpers import CONFIG, SCENARIO, auth

pytestmark = pytest.mark.integration


async def _query(cluster: Cluster, sql: str) -> list[Any]:
    conn = await asyncpg.connect(cluster.database_url, timeout=10)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


async def _wait_for(check: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            found = await check()
        except (aiohttp.ClientError, OSError):
            found = None
        if found:
            return found
        await asyncio.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_workers_api_operates_through_kafka(cluster: Cluster, tmp_path: Path) -> None:
    port = services.free_port()
    cluster.start_worker(port, env={"TREASURY_API_TOKENS": CONFIG, "TREASURY_OPERATOR_TIMEOUT_S": "20",
                                    "TREASURY_SSE_KEEPALIVE_S": "1"})
    scenario = tmp_path / "scenario.jsonl"
    scenario.write_bytes(b"\n".join(SCENARIO) + b"\n")
    base = f"http://127.0.0.1:{port}"

    async def main() -> dict[str, Any]:
        async with aiohttp.ClientSession() as http:
            async def ready() -> bool:
                async with http.get(f"{base}/ready") as response:
                    return response.status == 200

            await _wait_for(ready, 180, "the worker to be ready")
            cluster.produce(scenario)

            async def f004() -> list[Any]:
                async with http.get(f"{base}/api/alerts?code=F004", headers=auth("viewer")) as response:
                    body = await response.json()
                return [a for a in body["alerts"] if a["subject"]["id"] == "PAY-1"]

            alert = (await _wait_for(f004, 120, "the F004 alert in Postgres"))[0]
            stream = await http.get(f"{base}/api/alerts/stream", headers=auth("viewer"))
            assert stream.status == 200
            out: dict[str, Any] = {}
            async with http.post(f"{base}/api/alerts/{alert['alert_id']}/ack", headers=auth("li-secret")) as r:
                out["ack"] = (r.status, await r.json())
            async with http.post(f"{base}/api/alerts/F004-0000000000000000/ack", headers=auth("operator")) as r:
                out["unknown"] = r.status
            async with http.post(f"{base}/api/payments/PAY-1/release", headers=auth("li-secret")) as r:
                out["release"] = (r.status, await r.json())
            async with http.post(f"{base}/api/payments/PAY-3/reject", headers=auth("li-secret")) as r:
                out["reject"] = (r.status, await r.json())
            async with http.post(f"{base}/api/payments/PAY-3/reject", headers=auth("li-secret")) as r:
                out["again"] = r.status
            async with http.post(f"{base}/api/payments/NOPE/release", headers=auth("li-secret")) as r:
                out["nope"] = r.status
            events = []
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not any(e.get("status") == "acknowledged" for e in events):
                raw = await asyncio.wait_for(stream.content.readline(), 20)
                if raw.startswith(b"data: "):
                    events.append(orjson.loads(raw[6:]))
            stream.close()
            out["events"] = events

            async def stored() -> Any:
                rows = await _query(cluster, "SELECT payment_id, outcome FROM decisions ORDER BY payment_id")
                acked = await _query(cluster, "SELECT actor FROM alerts WHERE status = 'acknowledged'")
                done = [tuple(r) for r in rows] == [("PAY-1", "accepted"), ("PAY-2", "accepted"),
                                                    ("PAY-3", "rejected")]
                return (rows, acked) if done and acked else None

            out["stored"] = await _wait_for(stored, 60, "the actions in Postgres")
            out["audit"] = [tuple(r) for r in await _query(
                cluster, "SELECT actor, action, target, status FROM operator_audit ORDER BY audit_id")]
            return out

    out = asyncio.run(main())
    status, body = out["ack"]
    assert status == 200 and (body["alert"]["status"], body["alert"]["actor"]) == ("acknowledged", "li.wei")
    assert out["unknown"] == 404  # every partition answered: no such alert
    status, body = out["release"]
    assert status == 200 and body["decision"]["outcome"] == "accepted"
    status, body = out["reject"]
    assert status == 200 and (body["decision"]["outcome"], body["decision"]["available_after"]) == ("rejected",
                                                                                                   "300.00")
    assert (out["again"], out["nope"]) == (409, 404)
    assert any(e["status"] == "acknowledged" and e["actor"] == "li.wei" for e in out["events"])
    assert [tuple(r) for r in out["stored"][1]] == [("li.wei",)]
    assert [(actor, action, status) for actor, action, _, status in out["audit"]] == [
        ("li.wei", "acknowledge", 200), (out["audit"][1][0], "acknowledge", 404), ("li.wei", "release", 200),
        ("li.wei", "reject", 200), ("li.wei", "reject", 409), ("li.wei", "release", 404)]
