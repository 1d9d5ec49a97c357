"""One contract test, run against both sinks: what goes in comes out, in order, per type."""

import asyncio
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from models.codec import encode
from models.outputs import DeadLetter, Decision
from stream.sinks import OUTPUT_FILES, FileSink, MemorySink, Sink


def _decision(n: int) -> Decision:
    return Decision.model_validate_json(orjson.dumps({
        "payment_id": f"P{n}", "outcome": "accepted", "reasons": [], "indicator_id": "I1",
        "available_after": "1.00", "decided_at": "2022-01-01T09:00:00+08:00", "duplicate_delivery": False,
    }))


def _dead(n: int) -> DeadLetter:
    return DeadLetter.model_validate_json(orjson.dumps({
        "source": "t", "offset": n, "error_code": "json_invalid", "error": "x", "raw": "x", "raw_bytes": 1,
        "raw_truncated": False, "raw_sha256": "0" * 64,
    }))


def _file_sink(tmp_path: Path) -> tuple[Sink, Callable[[str], list[bytes]]]:
    sink = FileSink(tmp_path / "out")

    def read(kind: str) -> list[bytes]:
        return (tmp_path / "out" / OUTPUT_FILES[kind]).read_bytes().splitlines(keepends=True)

    return sink, read


def _memory_sink(tmp_path: Path) -> tuple[Sink, Callable[[str], list[bytes]]]:
    sink = MemorySink()
    return sink, lambda kind: sink.lines[kind]


@pytest.mark.parametrize("make", [_file_sink, _memory_sink], ids=["file", "memory"])
def test_sink_keeps_every_output_in_order(make: Callable[..., tuple[Sink, Callable[[str], list[bytes]]]],
                                          tmp_path: Path) -> None:
    sink, read = make(tmp_path)
    decisions = [_decision(n) for n in range(5)]
    dead = [_dead(n) for n in range(3)]

    async def run() -> None:
        await sink.open()
        await sink.write([decisions[0], dead[0], decisions[1]])
        await sink.write([])
        await sink.write([*decisions[2:], *dead[1:]])
        await sink.close()

    asyncio.run(run())
    assert read("decision") == [encode(d) for d in decisions]
    assert read("deadletter") == [encode(d) for d in dead]
    assert read("alert") == []
