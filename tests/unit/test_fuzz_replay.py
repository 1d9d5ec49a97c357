"""The replay engine on hostile files: it finishes, writes the same bytes twice, bounds memory per line."""

import asyncio
import tracemalloc
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.codec import decode_line, decode_output
from models.errors import InvalidInput
from stream.embedded import Overlong, read_lines, replay_file
from stream.engine import Engine
from stream.sinks import FileSink
from tests.unit.test_fuzz_decoders import RULES, VALID, _line, hostile_events

OUTPUT_FILES = ("decisions.jsonl", "alerts.jsonl", "forecasts.jsonl", "chains.jsonl", "deadletters.jsonl")
LINE_LIMIT = 4096


def _replay(path: Path, out: Path) -> dict[str, bytes]:
    engine = Engine(RULES, max_line_bytes=LINE_LIMIT)
    asyncio.run(replay_file(path, engine, FileSink(out), batch_lines=7, queue_batches=2))
    return {name: (out / name).read_bytes() for name in OUTPUT_FILES}


LINES = st.one_of(
    hostile_events().map(lambda e: _line(*e)),
    st.sampled_from([_line(k, v) for k, v in VALID.items()]),
    st.binary(max_size=120).map(lambda raw: raw.replace(b"\n", b" ")),
    st.sampled_from([b"", b"\r", b"   ", b"\xef\xbb\xbf{}", b"x" * (LINE_LIMIT + 10)]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.lists(LINES, min_size=1, max_size=40))
def test_a_hostile_file_replays_to_the_same_bytes_with_a_dead_letter_per_bad_line(
    tmp_path: Path, lines: list[bytes]
) -> None:
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    first = _replay(path, tmp_path / "a")
    assert _replay(path, tmp_path / "b") == first  # deterministic, byte for byte
    for _name, content in first.items():
        for line in content.splitlines():
            decode_output(line)  # every output line is a valid contract object
    bad = 0
    for _, item in read_lines(path.open("rb"), LINE_LIMIT):
        if isinstance(item, Overlong):
            bad += 1
            continue
        try:
            decode_line(item, LINE_LIMIT)
        except InvalidInput:
            bad += 1
    letters = first["deadletters.jsonl"].count(b"\n")
    assert letters >= bad  # every bad line is a dead letter (valid ones may be refused too)


def test_an_overlong_line_is_rejected_without_being_read_whole(tmp_path: Path) -> None:
    """A 32 MiB line with a 64 KiB limit: the reader never holds more than about the limit."""
    path = tmp_path / "huge.jsonl"
    limit = 64 * 1024
    with path.open("wb") as handle:
        handle.write(b'{"type": "clock", "data": {"now": "')
        chunk = b"9" * (1 << 20)
        for _ in range(32):
            handle.write(chunk)
        handle.write(b'"}}\n' + _line("clock", VALID["clock"]) + b"\n")
    tracemalloc.start()
    try:
        with path.open("rb") as handle:
            items = list(read_lines(handle, limit))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * limit + (1 << 20), f"peak {peak} bytes while reading a 32 MiB line"
    (n1, first), (n2, second) = items
    assert isinstance(first, Overlong) and n1 == 1
    assert len(first.prefix) == limit + 1 and first.whole.total_bytes == path.stat().st_size - len(second) - 2
    assert n2 == 2 and decode_line(second) is not None
    engine = Engine(RULES, max_line_bytes=limit)
    out = _replay_outputs(engine, path)
    assert [(d["error_code"], d["offset"], d["raw_truncated"]) for d in out] == [("line_too_long", 1, True)]


def _replay_outputs(engine: Engine, path: Path) -> list[dict[str, object]]:
    import orjson

    out = path.parent / "out"
    asyncio.run(replay_file(path, engine, FileSink(out)))
    return [orjson.loads(line)["data"] for line in (out / "deadletters.jsonl").read_bytes().splitlines()]
