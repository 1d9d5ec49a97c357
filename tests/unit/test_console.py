"""The console's routes: pages without a token (they hold no data), balance reads behind it, beside the API."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from stream.api.auth import Tokens
from stream.console.balances import BalancePoint, MemoryBalanceHistory
from stream.console.routes import STATIC
from stream.demo.showcase import build
from stream.metrics import EngineMetrics
from stream.settings import Settings
from stream.sinks import MemorySink
from stream.store.memory import MemoryStore
from tests.unit.test_api import CONFIG, auth

Check = Callable[[TestClient[Any, Any]], Awaitable[None]]


def run(check: Check) -> None:
    balances = MemoryBalanceHistory()
    for n in range(5):
        day = date(2022, 3, 1) + timedelta(days=n)
        balances.record("150100", BalancePoint(day, 1_000_000_00 + n, 5_000_00 if n else None))
    balances.record("150000", BalancePoint(date(2022, 3, 1), -12_34, None))

    async def main() -> None:
        shown = build(Settings(), MemoryStore(), MemorySink(), Tokens.parse(CONFIG), EngineMetrics(CollectorRegistry()),
                      balances)
        async with TestClient(TestServer(shown.app)) as client:
            await check(client)

    asyncio.run(main())


def test_the_pages_are_served_without_a_token_and_the_root_leads_to_them() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        root = await client.get("/", allow_redirects=False)
        assert root.status == 302 and root.headers["Location"] == "/console/"
        page = await client.get("/console/")
        assert page.status == 200
        html = await page.text()
        assert 'lang="zh-CN"' in html and "/console/static/console.js" in html
        for name, kind in (("console.js", "javascript"), ("api.js", "javascript"), ("chart.js", "javascript"),
                           ("i18n.js", "javascript"), ("dom.js", "javascript"), ("board.js", "javascript"),
                           ("chain.js", "javascript"), ("console.css", "css")):
            asset = await client.get(f"/console/static/{name}")
            assert asset.status == 200 and kind in asset.headers["Content-Type"], name
        assert (await client.get("/console/static/../routes.py")).status in (403, 404)

    run(check)


def test_no_page_loads_anything_from_outside() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        for name in ("", *(f"static/{path.name}" for path in sorted(STATIC.iterdir()))):
            text = await (await client.get(f"/console/{name}")).text()
            for outside in ("http://", "https://", "//cdn", "@import"):
                found = [line for line in text.splitlines() if outside in line and "w3.org/2000/svg" not in line]
                assert not found, (name, found)

    run(check)


def test_balance_reads_need_a_token_and_give_yuan_strings() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        assert (await client.get("/api/treasuries")).status == 401
        assert (await client.get("/api/treasuries/150100/balances")).status == 401
        listed = await (await client.get("/api/treasuries", headers=auth("viewer"))).json()
        assert listed == {"treasuries": [
            {"treasury_code": "150000", "date": "2022-03-01", "balance": "-12.34", "floor": None},
            {"treasury_code": "150100", "date": "2022-03-05", "balance": "1000000.04", "floor": "5000.00"}]}
        history = await (await client.get("/api/treasuries/150100/balances?days=2", headers=auth("operator"))).json()
        assert [p["date"] for p in history["points"]] == ["2022-03-04", "2022-03-05"]
        everything = await (await client.get("/api/treasuries/150100/balances", headers=auth("viewer"))).json()
        assert len(everything["points"]) == 5 and everything["points"][0]["floor"] is None

    run(check)


def test_balance_reads_check_their_input() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        for path in ("/api/treasuries/15010/balances", "/api/treasuries/abcdef/balances",
                     "/api/treasuries/150100/balances?days=0", "/api/treasuries/150100/balances?days=401",
                     "/api/treasuries/150100/balances?days=x"):
            response = await client.get(path, headers=auth("viewer"))
            assert response.status == 400, path
            assert "error" in await response.json()
        assert (await client.get("/api/treasuries/150200/balances", headers=auth("viewer"))).status == 404

    run(check)


def test_metrics_are_served_beside_the_api() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        response = await client.get("/metrics")
        assert response.status == 200
        assert "text/plain" in response.headers["Content-Type"]
        assert "python_info" in await response.text()  # the default registry, where the engine's metrics live

    run(check)
