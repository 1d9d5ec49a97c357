"""`treasury demo` as a user runs it: it streams, serves the console, API and /metrics, and stops cleanly."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import orjson
import pytest

from tests.integration.services import free_port

pytestmark = pytest.mark.integration
TREASURY = str(Path(sys.executable).with_name("treasury"))


def _wait_for(process: subprocess.Popen[str], text: str, seen: list[str], timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"the demo ended before printing {text!r}:\n{''.join(seen)}")
        seen.append(line)
        if text in line:
            return
    raise AssertionError(f"no {text!r} within {timeout_s} s:\n{''.join(seen)}")


def _get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # loopback only
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _tokens(seen: list[str]) -> dict[str, str]:
    return {line.split()[1]: line.split()[2] for line in seen if line.startswith("token ")}


def _start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    env = {**os.environ, "TREASURY_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    process = subprocess.Popen(
        [TREASURY, "demo", "--payments", "100", "--day-seconds", "0", "--port", str(port), "--out", str(tmp_path / "d"),
         *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    return process, port


def test_the_demo_serves_while_it_streams_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    process, port = _start(tmp_path, "--memory")
    seen: list[str] = []
    try:
        _wait_for(process, "stream        all sent", seen)
        base = f"http://127.0.0.1:{port}"
        tokens = _tokens(seen)
        assert set(tokens) == {"operator", "supervisor", "viewer"}
        status, page = _get(f"{base}/console/")
        assert status == 200 and b"console.js" in page
        status, metrics = _get(f"{base}/metrics")
        assert status == 200 and b'treasury_decisions_total{outcome="accepted"}' in metrics
        assert _get(f"{base}/api/alerts")[0] == 401
        status, body = _get(f"{base}/api/alerts?status=open", tokens["operator"])
        assert status == 200 and orjson.loads(body)["alerts"]
        status, body = _get(f"{base}/api/treasuries", tokens["viewer"])
        assert status == 200 and len(orjson.loads(body)["treasuries"]) > 10
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, "".join(seen) + rest
    assert "decisions" in rest and "next" in rest
    assert (tmp_path / "d" / "out" / "chains.jsonl").stat().st_size > 0  # each chain's final state, as replay


def test_the_demo_on_its_bundled_postgres_stops_after_its_duration(tmp_path: Path) -> None:
    process, port = _start(tmp_path, "--duration", "60")
    seen: list[str] = []
    try:
        _wait_for(process, "stream        all sent", seen)
        assert any("bundled PostgreSQL" in line and "treasury_demo" in line for line in seen), seen
        tokens = _tokens(seen)
        status, body = _get(f"http://127.0.0.1:{port}/api/chains/ZD2022-0001", tokens["supervisor"])
        assert status == 200 and orjson.loads(body)["nodes"]
        status, body = _get(f"http://127.0.0.1:{port}/ready")
        assert status == 200 and orjson.loads(body)["checks"]["store"] == "ok"
        rest, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, "".join(seen) + rest
