"""The engine commands tune the garbage collector; other commands leave it alone."""

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from stream import cli
from stream.gctune import ENGINE_THRESHOLDS


@pytest.fixture
def thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_replay_runs_with_the_engine_thresholds(thresholds: None, tmp_path: Path) -> None:
    gc.set_threshold(700, 10, 10)
    assert cli.main(["token", "viewer"]) == 0
    assert gc.get_threshold() == (700, 10, 10)
    source = tmp_path / "in.jsonl"
    source.write_text('{"type":"clock","data":{"now":"2022-01-01T00:00:00+08:00"}}\n')
    assert cli.main(["replay", str(source), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert gc.get_threshold() == ENGINE_THRESHOLDS
