"""The HTTP API over the in-memory store: tokens and roles, chains, payments, the recipients CSV."""

import asyncio
import csv
import io
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from models.errors import ConfigError
from stream.api.auth import Tokens, digest_of, new_token
from stream.api.server import make_app
from stream.store.memory import MemoryStore
from tests.unit.test_store_memory import BATCHES

TOKENS = {"viewer": "v-secret", "operator": "o-secret", "supervisor": "s-secret"}
CONFIG = ",".join(f"{role}:{digest_of(token)}" for role, token in TOKENS.items())

Check = Callable[[TestClient[Any, Any]], Awaitable[None]]


def run(check: Check) -> None:
    async def main() -> None:
        store = MemoryStore()
        for batch in BATCHES:
            await store.write(batch)
        async with TestClient(TestServer(make_app(store, Tokens.parse(CONFIG)))) as client:
            await check(client)

    asyncio.run(main())


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


@pytest.mark.parametrize("path", ["/api/chains/DF-1", "/api/payments/P1", "/api/chains/DF-1/recipients.csv"])
def test_no_token_or_an_unknown_one_is_401(path: str) -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic dj1zZWNyZXQ="},
                        {"Authorization": f"Bearer {digest_of(TOKENS['supervisor'])}"}):  # the hash is no token
            response = await client.get(path, headers=headers)
            assert response.status == 401
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert "token" in (await response.json())["error"]

    run(check)


def test_health_needs_no_token() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        response = await client.get("/health")
        assert response.status == 200 and await response.json() == {"status": "ok"}

    run(check)


def test_a_chain_is_masked_for_every_role_but_supervisor() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        shown = {}
        for role in TOKENS:
            response = await client.get("/api/chains/DF-1", headers=auth(role))
            assert response.status == 200
            body = await response.json()
            assert [n["indicator_id"] for n in body["nodes"]] == ["IND-1", "IND-C", "IND-L"]
            shown[role] = body["payments"][0]["payee_account"]
        assert shown == {"viewer": "************1234", "operator": "************1234",
                         "supervisor": "6222000000001234"}

    run(check)


def test_a_payment_with_its_decision_history_and_its_path_up_to_the_root() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        response = await client.get("/api/payments/P1", headers=auth("viewer"))
        assert response.status == 200
        body = await response.json()
        assert body["decision"]["outcome"] == "accepted" and body["decision"]["available_after"] == "100.00"
        assert [h["outcome"] for h in body["history"]] == ["accepted"]
        assert body["chain"]["root"] == "DF-1"
        assert [n["indicator_id"] for n in body["chain"]["path"]] == ["IND-L", "IND-C", "IND-1"]
        assert body["chain"]["payment"]["payee_account"] == "************1234"
        held = await (await client.get("/api/payments/P2", headers=auth("viewer"))).json()
        assert [h["outcome"] for h in held["history"]] == ["held", "accepted"] and held["chain"] is None

    run(check)


def test_the_recipients_csv_is_for_operators_masked_and_supervisors_whole() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        assert (await client.get("/api/chains/DF-1/recipients.csv", headers=auth("viewer"))).status == 403
        for role, account in (("operator", "************1234"), ("supervisor", "6222000000001234")):
            response = await client.get("/api/chains/DF-1/recipients.csv", headers=auth(role))
            assert response.status == 200 and response.content_type == "text/csv"
            assert 'filename="recipients-DF-1.csv"' in response.headers["Content-Disposition"]
            raw = await response.read()
            assert raw.startswith(b"\xef\xbb\xbf")
            rows = list(csv.DictReader(io.StringIO(raw[3:].decode())))
            assert [(r["payment_id"], r["payee_name"], r["payee_account"], r["amount"], r["status"]) for r in rows] \
                == [("P1", "某合作社", account, "10.00", "settled")]
            assert rows[0]["indicator_id"] == "IND-L" and rows[0]["treasury_code"] == "150100"

    run(check)


@pytest.mark.parametrize(("path", "status"), [
    ("/api/chains/NOPE", 404), ("/api/payments/NOPE", 404), ("/api/chains/NOPE/recipients.csv", 404),
    ("/api/chains/" + "x" * 65, 400), ("/api/payments/a%00b", 400), ("/api/chains/a%1fb", 400),
    ("/api/payments/PAY-1%0A", 400),
])
def test_unknown_ids_are_404_and_bad_ones_400(path: str, status: int) -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        response = await client.get(path, headers=auth("supervisor"))
        assert response.status == status
        assert "error" in orjson.loads(await response.read())

    run(check)


def test_token_configuration_is_checked_and_new_tokens_work() -> None:
    token, entry = new_token("operator")
    assert Tokens.parse(entry).role_of(f"Bearer {token}") == "operator"
    assert Tokens.parse(entry).role_of(f"bearer {token}") == "operator"
    assert Tokens.parse("").by_hash == {} and Tokens.parse(" , ").by_hash == {}
    with pytest.raises(ConfigError, match="entry 2: role must be one of"):
        Tokens.parse(f"{entry},admin:{'0' * 64}")
    with pytest.raises(ConfigError, match="entry 1: expected role:<64 hex digits"):
        Tokens.parse("viewer:abc")


def test_a_treasurys_latest_forecast_or_the_one_of_a_day() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        latest = await client.get("/api/forecasts/150100", headers=auth("viewer"))
        assert latest.status == 200 and (await latest.json())["points"][0]["p50"] == "7.00"
        day = await client.get("/api/forecasts/150100?as_of=2022-03-01", headers=auth("viewer"))
        assert (await day.json())["as_of"] == "2022-03-01"
        for path, status in (("/api/forecasts/150200", 404), ("/api/forecasts/150100?as_of=2022-02-30", 400),
                             ("/api/forecasts/15010x", 400), ("/api/forecasts/150100?as_of=2022-03-09", 404)):
            assert (await client.get(path, headers=auth("viewer"))).status == status, path
        assert (await client.get("/api/forecasts/150100")).status == 401

    run(check)
