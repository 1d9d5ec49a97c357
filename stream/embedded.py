"""The embedded runtime: one process, bounded in-process queues, file order, event time only.

Three stages joined by bounded asyncio queues (reader -> engine -> sink), each a single task, so
order is the file's order and the run is deterministic. Faust is not on this import path.
"""

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import BinaryIO

from models.base import WireModel
from models.errors import InvalidInput
from models.outputs import Alert, DeadLetter, Decision
from stream.engine import Engine, Whole
from stream.sinks import Sink

_CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class Overlong:
    """A line longer than the limit: its first bytes, its size and digest; the rest unread."""

    prefix: bytes
    whole: Whole


Line = tuple[int, bytes | Overlong]


@dataclass(slots=True)
class RunStats:
    """What a run did, for progress lines and the closing summary."""

    lines: int = 0
    bytes_read: int = 0
    total_bytes: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    alerts: int = 0
    dead_letters: int = 0
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    @property
    def elapsed_s(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    def count(self, outputs: list[WireModel]) -> None:
        for out in outputs:
            if isinstance(out, Decision):
                if out.duplicate_delivery:
                    self.duplicates += 1
                    continue
                self.outcomes[out.outcome] += 1
                self.reasons.update(reason.code for reason in out.reasons)
            elif isinstance(out, Alert):
                self.alerts += 1
            elif isinstance(out, DeadLetter):
                self.dead_letters += 1


def read_lines(handle: BinaryIO, max_line_bytes: int) -> Iterator[Line]:
    """Numbered lines without their newline; memory per line bounded by `max_line_bytes`."""
    number = 0
    while True:
        line = handle.readline(max_line_bytes + 1)
        if not line:
            return
        number += 1
        if len(line) > max_line_bytes and not line.endswith(b"\n"):
            yield number, _drain_overlong(handle, line)
            continue
        line = line.rstrip(b"\r\n")
        if line.strip():
            yield number, line


def _drain_overlong(handle: BinaryIO, prefix: bytes) -> Overlong:
    digest, total = sha256(prefix), len(prefix)
    while True:
        chunk = handle.readline(_CHUNK)
        if not chunk:
            break
        body = chunk.rstrip(b"\r\n")
        digest.update(body)
        total += len(body)
        if chunk.endswith(b"\n"):
            break
    return Overlong(prefix, Whole(total, digest.hexdigest()))


def handle_batch(engine: Engine, batch: list[Line], source: str) -> list[WireModel]:
    """Run one batch of numbered lines through the engine, in order."""
    out: list[WireModel] = []
    for number, item in batch:
        if isinstance(item, Overlong):
            error = InvalidInput("line_too_long", f"line of {item.whole.total_bytes} bytes exceeds the limit")
            out.extend(engine.invalid(item.prefix, source, number, error, item.whole))
        else:
            out.extend(engine.handle_line(item, source, number))
    return out


async def replay_file(
    path: Path,
    engine: Engine,
    sink: Sink,
    *,
    batch_lines: int = 2000,
    queue_batches: int = 4,
    on_progress: Callable[[RunStats], None] | None = None,
) -> RunStats:
    """Process a JSON-lines file in order through the engine into the sink."""
    stats = RunStats(total_bytes=path.stat().st_size)
    source = path.name
    to_engine: asyncio.Queue[list[Line] | None] = asyncio.Queue(queue_batches)
    to_sink: asyncio.Queue[list[WireModel] | None] = asyncio.Queue(queue_batches)

    async def read() -> None:
        with path.open("rb") as handle:
            batch: list[Line] = []
            for line in read_lines(handle, engine.max_line_bytes):
                batch.append(line)
                if len(batch) >= batch_lines:
                    stats.bytes_read = handle.tell()
                    await to_engine.put(batch)
                    batch = []
            stats.bytes_read = handle.tell()
            if batch:
                await to_engine.put(batch)
        await to_engine.put(None)

    async def decide() -> None:
        while (batch := await to_engine.get()) is not None:
            outputs = handle_batch(engine, batch, source)
            stats.lines += len(batch)
            stats.count(outputs)
            await to_sink.put(outputs)
            if on_progress is not None:
                on_progress(stats)
        await to_sink.put(list[WireModel](engine.chains()))  # each chain's final state (DESIGN §5)
        await to_sink.put(None)

    async def write() -> None:
        while (outputs := await to_sink.get()) is not None:
            await sink.write(outputs)

    await sink.open()
    try:
        await asyncio.gather(read(), decide(), write())
    finally:
        await sink.close()
    stats.finished = time.monotonic()
    return stats
