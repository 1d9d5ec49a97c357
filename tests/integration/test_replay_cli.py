"""`treasury replay` end to end, as a user runs it: a subprocess over real files."""

import hashlib
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from stream.demo.generator import write_scenario
from stream.sinks import OUTPUT_FILES

pytestmark = pytest.mark.integration


def _treasury(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stream.cli", *args], capture_output=True, text=True, timeout=300, env=env, check=False
    )


def _digests(directory: Path) -> dict[str, str]:
    return {name: hashlib.sha256((directory / name).read_bytes()).hexdigest() for name in OUTPUT_FILES.values()}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "scenario.jsonl"
    write_scenario(path, seed=11, payments=3000)
    return path


def test_replay_twice_gives_byte_identical_outputs(scenario: Path, tmp_path: Path) -> None:
    first, second = _treasury("replay", str(scenario), "--out", str(tmp_path / "a")), _treasury(
        "replay", str(scenario), "--out", str(tmp_path / "b")
    )
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    decisions = (tmp_path / "a" / "decisions.jsonl").read_bytes().splitlines()
    assert len(decisions) > 3000 * 0.9
    assert "decisions" in first.stdout and "dead letters" in first.stdout


def test_every_payment_has_exactly_one_effective_decision(scenario: Path, tmp_path: Path) -> None:
    assert _treasury("replay", str(scenario), "--out", str(tmp_path), "--quiet").returncode == 0
    effective: dict[str, str] = {}
    for line in (tmp_path / "decisions.jsonl").read_bytes().splitlines():
        data = orjson.loads(line)["data"]
        codes = [r["code"] for r in data["reasons"]]
        if data["duplicate_delivery"] or codes == ["V002"] or codes == ["V001"]:
            continue
        assert data["payment_id"] not in effective, f"second decision for {data['payment_id']}"
        effective[data["payment_id"]] = data["outcome"]
    assert len(effective) >= 3000


def _payment_line(payment_id: str, amount: str) -> bytes:
    return orjson.dumps({"type": "payment", "data": {
        "payment_id": payment_id, "indicator_id": "IND1", "agency_code": "A1", "project_id": "PRJ1",
        "function_code": "2050201", "economic_code": "30201", "amount": amount,
        "payee": {"name": "某公司", "account": f"62220000{payment_id}", "bank_code": "102", "kind": "organization"},
        "method": "direct", "purpose": "办公", "advance": False, "requested_at": "2022-03-01T09:30:00+08:00",
    }})


HOSTILE = [
    b"{not json",
    b"\xff\xfe\x00garbage",
    b"[]",
    b'{"type":"payment","data":{"payment_id":"H1","amount":12.5}}',
    _payment_line("H2", "-5.00"),
    _payment_line("H3", "0.00"),
    _payment_line("H4", "1.001"),
    _payment_line("H5", "1234567890123456.00"),
    _payment_line("H6", "1.00").replace(b"+08:00", b""),
    _payment_line("H7", "1.00").replace(b'"advance":false', b'"advance":false,"extra":1'),
    b'{"type":"nope","data":{}}',
    b'{"data":{}}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"type":"payment","data":{"payment_id":"H8","purpose":"' + b"x" * 2_000_000 + b'"}}',
    b'{"type":"settlement","data":{"payment_id":"OK1","amount":"abc"}}',
]


def test_hostile_input_never_stops_a_replay(tmp_path: Path) -> None:
    head = [
        b'{"type":"project","data":{"project_id":"PRJ1","version":1,"name":"n","agency_code":"A1",'
        b'"status":"executing","research":false,"special_bond":false,"updated_at":"2022-01-01T09:00:00+08:00"}}',
        b'{"type":"indicator","data":{"indicator_id":"IND1","version":1,"fiscal_year":2022,"treasury_code":"150100",'
        b'"agency_code":"A1","project_id":"PRJ1","function_code":"2050201","economic_code":"30201",'
        b'"fund_type":"general","source":"current","amount":"1000.00","status":"active",'
        b'"issued_at":"2022-01-01T09:00:00+08:00"}}',
    ]
    tail = [_payment_line("OK1", "600.00"), _payment_line("OK2", "400.01"), _payment_line("OK3", "400.00")]
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(b"\r\n".join([*head, *HOSTILE, b"", *tail]) + b"\n")
    done = _treasury("replay", str(path), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    dead = [orjson.loads(line)["data"] for line in (tmp_path / "out" / "deadletters.jsonl").read_bytes().splitlines()]
    assert len(dead) == len(HOSTILE)
    assert all(d["raw_bytes"] > 0 and len(d["raw_sha256"]) == 64 for d in dead)
    assert any(d["raw_truncated"] for d in dead)
    lines = (tmp_path / "out" / "decisions.jsonl").read_bytes().splitlines()
    decisions = {d["payment_id"]: d for d in (orjson.loads(line)["data"] for line in lines)}
    for bad in ("H1", "H2", "H3", "H4", "H5", "H6", "H7"):
        assert decisions[bad]["outcome"] == "rejected"
        assert [r["code"] for r in decisions[bad]["reasons"]] == ["V001"]
    assert decisions["OK1"]["outcome"] == "accepted" and decisions["OK1"]["available_after"] == "400.00"
    assert decisions["OK2"]["outcome"] == "rejected" and decisions["OK2"]["reasons"][0]["code"] == "B006"
    assert decisions["OK3"]["outcome"] == "accepted" and decisions["OK3"]["available_after"] == "0.00"


def test_missing_input_is_a_clear_error(tmp_path: Path) -> None:
    done = _treasury("replay", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "out"))
    assert done.returncode == 1
    assert "does not exist" in done.stderr
    assert "Traceback" not in done.stderr


def test_generate_refuses_a_scenario_too_small_to_hold_every_anomaly(tmp_path: Path) -> None:
    done = _treasury("generate", str(tmp_path / "s.jsonl"), "--payments", "1")
    assert done.returncode == 2
    assert "between 10 and 10,000,000" in done.stderr
    assert not (tmp_path / "s.jsonl").exists()
