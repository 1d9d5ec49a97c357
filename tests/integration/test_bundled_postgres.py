"""`treasury replay --db` without DATABASE_URL: the bundled PostgreSQL (pgserver) under TREASURY_DATA_DIR."""

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import asyncpg
import orjson
import pytest

from stream.demo.generator import write_scenario
from stream.settings import Settings
from stream.store import bundled

pytestmark = pytest.mark.integration


def _treasury(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if name != "DATABASE_URL"}
    env["TREASURY_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "stream.cli", *args], capture_output=True, text=True, timeout=300, env=env,
        check=False,
    )


def _stored_payment_ids(decisions: Path) -> set[str]:
    """Payments that must have a row: every decision line except a conflicting resend (V002 only)."""
    ids = set()
    for line in decisions.read_bytes().splitlines():
        data = orjson.loads(line)["data"]
        if [r["code"] for r in data["reasons"]] != ["V002"]:
            ids.add(data["payment_id"])
    return ids


async def _counts(url: str) -> tuple[int, int, int]:
    conn = await asyncpg.connect(url, timeout=30)
    try:
        return (
            int(await conn.fetchval("SELECT count(*) FROM decisions")),
            int(await conn.fetchval("SELECT count(DISTINCT payment_id) FROM decision_history")),
            int(await conn.fetchval("SELECT count(*) FROM deadletters")),
        )
    finally:
        await conn.close()


def test_replay_db_without_database_url_uses_the_bundled_server(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.jsonl"
    write_scenario(scenario, seed=5, payments=800)
    data_dir = tmp_path / "data"
    pgdata = data_dir / "pg"

    first = _treasury("replay", str(scenario), "--out", str(tmp_path / "a"), "--db", data_dir=data_dir)
    assert first.returncode == 0, first.stdout + first.stderr
    assert re.search(rf"bundled PostgreSQL \d+ in {re.escape(str(pgdata))} ", first.stdout), first.stdout
    assert "applied migration(s) 0001" in first.stdout
    assert (pgdata / "PG_VERSION").is_file()
    assert not (pgdata / "postmaster.pid").exists(), "the server must stop when the command ends"

    # the data stays between runs; a second replay of the same file changes no effective decision
    second = _treasury("replay", str(scenario), "--out", str(tmp_path / "b"), "--db", "--quiet", data_dir=data_dir)
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout == ""

    expected = _stored_payment_ids(tmp_path / "a" / "decisions.jsonl")
    assert len(expected) >= 800
    server = bundled.start(Settings(data_dir=data_dir))
    try:
        assert server.pgdata == pgdata
        decisions, with_history, deadletters = asyncio.run(_counts(server.url))
    finally:
        server.close()
    assert decisions == len(expected)
    assert with_history > 0.9 * len(expected)
    assert deadletters > 0
    assert not (pgdata / "postmaster.pid").exists()


def test_replay_without_db_never_starts_the_bundled_server(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.jsonl"
    write_scenario(scenario, seed=5, payments=50)
    data_dir = tmp_path / "data"
    proc = _treasury("replay", str(scenario), "--out", str(tmp_path / "out"), "--quiet", data_dir=data_dir)
    assert proc.returncode == 0, proc.stderr
    assert not data_dir.exists()
