"""The PostgreSQL store against a real server: migrations, the shared contract, `replay --db`, errors."""

import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import orjson
import pytest

from models.outputs import Chain
from stream.api.auth import digest_of
from stream.demo.generator import write_scenario
from stream.store import MemoryStore, Store, StoreError
from stream.store.migrate import latest_version, migrate
from stream.store.postgres import PostgresStore
from tests.integration import services
from tests.unit.test_store_memory import (
    BATCHES,
    LEDGER,
    check_contract,
    check_ledger_versions,
    check_queries,
    snapshot,
)

pytestmark = pytest.mark.integration

UNREACHABLE = "postgresql://postgres@127.0.0.1:1/treasury"


@pytest.fixture(scope="module", autouse=True)
def _stop_what_we_started() -> Iterator[None]:
    yield
    services.stop_started()


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="module")
def new_database() -> Iterator[Callable[[], str]]:
    """Creates fresh databases (`t_<random>`) on the test server; drops them all at the end."""
    server = services.database_url()
    admin = _with_database(server, "postgres")
    created: list[str] = []

    async def admin_execute(statement: str) -> None:
        conn = await asyncpg.connect(admin, timeout=10)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    def make() -> str:
        name = f"t_{uuid.uuid4().hex[:16]}"
        asyncio.run(admin_execute(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return _with_database(server, name)

    yield make
    for name in created:
        asyncio.run(admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def migrated(new_database: Callable[[], str]) -> str:
    url = new_database()
    assert asyncio.run(migrate(url)) == list(range(1, latest_version() + 1))
    return url


def _store(url: str) -> PostgresStore:
    return PostgresStore(url, pool_min=1, pool_max=2, command_timeout_s=30, connect_timeout_s=10, batch_rows=3)


def test_migrate_twice_is_idempotent(migrated: str) -> None:
    assert asyncio.run(migrate(migrated)) == []

    async def versions() -> list[int]:
        conn = await asyncpg.connect(migrated)
        try:
            return [r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations ORDER BY 1")]
        finally:
            await conn.close()

    assert asyncio.run(versions()) == list(range(1, latest_version() + 1))


def test_concurrent_migrators_apply_each_migration_once(new_database: Callable[[], str]) -> None:
    url = new_database()

    async def both() -> list[list[int]]:
        return list(await asyncio.gather(migrate(url), migrate(url), migrate(url)))

    results = sorted(asyncio.run(both()))
    assert results == [[], [], list(range(1, latest_version() + 1))]


def test_a_database_newer_than_the_code_is_refused(new_database: Callable[[], str]) -> None:
    url = new_database()
    asyncio.run(migrate(url))

    async def add_future_version() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("INSERT INTO schema_migrations (version, name, sha256) VALUES (9999, 'future', 'x')")
        finally:
            await conn.close()

    asyncio.run(add_future_version())
    with pytest.raises(StoreError, match="newer than this code"):
        asyncio.run(migrate(url))


def test_an_unmigrated_database_asks_for_treasury_migrate(new_database: Callable[[], str]) -> None:
    with pytest.raises(StoreError, match="treasury migrate"):
        asyncio.run(_store(new_database()).open())


def _memory(_: Callable[[], str]) -> Store:
    return MemoryStore()


def _postgres(new_database: Callable[[], str]) -> Store:
    url = new_database()
    asyncio.run(migrate(url))
    return _store(url)


@pytest.mark.parametrize("make", [_memory, _postgres], ids=["memory", "postgres"])
def test_store_contract(make: Callable[[Callable[[], str]], Store], new_database: Callable[[], str]) -> None:
    check_contract(make(new_database))


@pytest.mark.parametrize("make", [_memory, _postgres], ids=["memory", "postgres"])
def test_store_ledger_versions(make: Callable[[Callable[[], str]], Store], new_database: Callable[[], str]) -> None:
    check_ledger_versions(make(new_database))


@pytest.mark.parametrize("make", [_memory, _postgres], ids=["memory", "postgres"])
def test_store_queries(make: Callable[[Callable[[], str]], Store], new_database: Callable[[], str]) -> None:
    check_queries(make(new_database))


def test_postgres_returns_exactly_what_memory_returns(new_database: Callable[[], str]) -> None:
    async def run(store: Store) -> dict[str, Any]:
        await store.open()
        try:
            for batch in BATCHES:
                await store.write(batch)
            await store.write_ledger(LEDGER)
            return await snapshot(store)
        finally:
            await store.close()

    assert asyncio.run(run(_postgres(new_database))) == asyncio.run(run(MemoryStore()))


def _treasury(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stream.cli", *args], capture_output=True, text=True, timeout=300, env=env, check=False
    )


def _env(database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return env


async def _counts(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        tables = ("decisions", "decision_history", "alerts", "alert_history", "deadletters")
        return {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}")) for t in tables}
    finally:
        await conn.close()


def test_replay_db_stores_one_row_per_effective_decision(new_database: Callable[[], str], tmp_path: Path) -> None:
    url = new_database()
    scenario = tmp_path / "scenario.jsonl"
    write_scenario(scenario, seed=3, payments=500)
    first = _treasury("replay", str(scenario), "--out", str(tmp_path / "a"), "--db", env=_env(url))
    assert first.returncode == 0, first.stderr
    assert "applied migration" in first.stdout
    counts = asyncio.run(_counts(url))

    effective: set[str] = set()
    history: set[tuple[str, str, str]] = set()
    lines = (tmp_path / "a" / "decisions.jsonl").read_bytes().splitlines()
    for line in lines:
        data = orjson.loads(line)["data"]
        if data["duplicate_delivery"] or [r["code"] for r in data["reasons"]] == ["V002"]:
            continue
        effective.add(data["payment_id"])
        history.add((data["payment_id"], data["decided_at"], data["outcome"]))
    assert len(effective) >= 500
    assert counts["decisions"] == len(effective) < len(lines)
    assert counts["decision_history"] == len(history)
    alerts = [orjson.loads(line)["data"] for line in (tmp_path / "a" / "alerts.jsonl").read_bytes().splitlines()]
    assert counts["alerts"] == len({a["alert_id"] for a in alerts})
    assert counts["deadletters"] == len((tmp_path / "a" / "deadletters.jsonl").read_bytes().splitlines())

    again = _treasury("replay", str(scenario), "--out", str(tmp_path / "b"), "--db", "--quiet", env=_env(url))
    assert again.returncode == 0, again.stderr
    assert asyncio.run(_counts(url)) == counts  # a replay of every offset duplicates nothing
    assert (tmp_path / "a" / "decisions.jsonl").read_bytes() == (tmp_path / "b" / "decisions.jsonl").read_bytes()

    # Chains: walked down from PostgreSQL with recursive SQL they equal the replay's chains.jsonl,
    # and `treasury trace --db` prints the same tree as `--out` (bar the as-of date a file knows).
    chains = [orjson.loads(line)["data"] for line in (tmp_path / "a" / "chains.jsonl").read_bytes().splitlines()]
    root = next(c["root"] for c in chains if c["root"].startswith("ZD"))
    from_db = _treasury("trace", root, "--db", "--json", "--unmask", env=_env(url))
    assert from_db.returncode == 0, from_db.stderr
    in_file = next(c for c in chains if c["root"] == root)
    # The same chain; the store keeps times in UTC, the replay writes them as the events gave them.
    assert Chain.model_validate_json(from_db.stdout) == Chain.model_validate_json(orjson.dumps(in_file))
    tree_db = _treasury("trace", root, "--db", env=_env(url)).stdout.splitlines()
    tree_file = _treasury("trace", root, "--out", str(tmp_path / "a"), env=_env(url)).stdout.splitlines()
    assert tree_db[0] == tree_file[0].split(" · as of ")[0] and len(tree_db) == len(tree_file) > 5
    assert "⚠ T001" in "\n".join(tree_db) and tree_db[-1].startswith("reconciles")
    missing = _treasury("trace", "NOPE", "--db", env=_env(url))
    assert missing.returncode == 1 and "no chain with root 'NOPE'" in missing.stderr
    _check_served_chain(url, root, Chain.model_validate_json(orjson.dumps(in_file)))


def _check_served_chain(url: str, root: str, expected: Chain) -> None:
    """`treasury serve` over the same database answers the chain, the payment and the CSV."""
    token = "integration-supervisor-token"
    env = {**_env(url), "TREASURY_API_TOKENS": f"supervisor:{digest_of(token)}"}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "stream.cli", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    output = server.communicate(timeout=5)[0]
                    raise AssertionError(f"treasury serve did not come up: {output}") from None
                time.sleep(0.2)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}/api/chains/{root}", timeout=10)
        assert refused.value.code == 401

        def get(path: str) -> bytes:
            request = urllib.request.Request(f"{base}{path}", headers={"Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(request, timeout=10) as response:
                return bytes(response.read())

        assert Chain.model_validate_json(get(f"/api/chains/{root}")) == expected
        paid = next(p for p in expected.payments if p.status == "settled")
        body = orjson.loads(get(f"/api/payments/{paid.payment_id}"))
        assert body["chain"]["root"] == root and body["chain"]["payment"]["payee_account"] == paid.payee_account
        assert body["chain"]["path"][-1]["indicator_id"] == expected.nodes[0].indicator_id
        csv_text = get(f"/api/chains/{root}/recipients.csv").decode("utf-8-sig")
        assert csv_text.count("\r\n") == 1 + sum(1 for p in expected.payments if p.status != "rejected")
        with urllib.request.urlopen(f"{base}/console/", timeout=10) as response:  # the console's pages too
            assert b"console.js" in response.read()
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_an_unreachable_server_is_a_store_error() -> None:
    with pytest.raises(StoreError, match=r"connection refused|cannot connect"):
        asyncio.run(_store(UNREACHABLE).open())
    with pytest.raises(StoreError, match=r"connection refused|cannot connect"):
        asyncio.run(migrate(UNREACHABLE, connect_timeout_s=5))


def test_the_cli_reports_database_errors_without_a_traceback(tmp_path: Path) -> None:
    scenario = tmp_path / "s.jsonl"
    write_scenario(scenario, seed=3, payments=20)
    for args, env in (
        (("migrate",), _env(UNREACHABLE)),
        (("replay", str(scenario), "--out", str(tmp_path / "out"), "--db"), _env(UNREACHABLE)),
        (("migrate",), _env(None)),
    ):
        done = _treasury(*args, env=env)
        assert done.returncode == 1, done.stdout + done.stderr
        assert done.stderr.startswith("treasury: error:"), done.stderr
        assert "Traceback" not in done.stderr
        assert ("DATABASE_URL is not set" if env.get("DATABASE_URL") is None else "127.0.0.1:1") in done.stderr


def test_a_silent_server_times_out_as_a_store_error() -> None:
    import socket

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"postgresql://postgres@127.0.0.1:{silent.getsockname()[1]}/treasury"
        with pytest.raises(StoreError, match="did not answer in time"):
            asyncio.run(PostgresStore(url, connect_timeout_s=0.5).open())


def test_a_blocked_write_times_out_rolls_back_and_the_store_recovers(migrated: str) -> None:
    async def run() -> tuple[int, int]:
        store = PostgresStore(migrated, pool_max=1, command_timeout_s=0.5)
        await store.open()
        blocker = await asyncpg.connect(migrated)
        try:
            before = await store.decision_count()
            async with blocker.transaction():
                await blocker.execute("LOCK TABLE decision_history IN ACCESS EXCLUSIVE MODE")
                with pytest.raises(StoreError, match="did not answer in time"):
                    await store.write(BATCHES[0])  # decisions first, then the locked history: all rolled back
                assert await blocker.fetchval("SELECT count(*) FROM decisions") == before
            await store.write(BATCHES[0])
            return before, await store.decision_count()
        finally:
            await blocker.close()
            await store.close()

    assert asyncio.run(run()) == (0, 4)  # nothing of the timed-out batch, then the whole batch
