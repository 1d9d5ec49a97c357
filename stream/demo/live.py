"""The demo's real-time feed: a scenario file pushed into the live embedded runtime on event time.

Event time is mapped to wall time (`day_s` wall seconds per event-time day), so a year of the
generated region plays in minutes and the console sees alerts arrive as they would. The engine
task is the live runtime's (stream/live.py: operator commands between input batches, chain rows
and the alert stream); `ObservedRuntime` adds what the showcase needs per event: the metrics,
the balance history of the treasury view, and the run's counts.
"""

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final

import orjson

from agents.forecasting.risk import floor_of
from models.base import WireModel
from models.codec import decode_line
from models.errors import InvalidInput
from models.inputs import InputEvent, TreasuryBalance
from stream.console.balances import BalanceHistory, BalancePoint
from stream.embedded import Overlong, RunStats, read_lines
from stream.live import LiveRuntime
from stream.metrics import EngineMetrics

_DAY_S: Final = 86_400.0
# The field that carries each input type's event time (DESIGN §3), read cheaply for pacing.
TIME_FIELD: Final = {
    "indicator": "issued_at", "project": "updated_at", "payment": "requested_at", "settlement": "settled_at",
    "treasury_balance": "as_of", "treasury_flow": "recorded_at", "payee_block": "blocked_at", "clock": "now",
}


@dataclass(frozen=True, slots=True)
class Pace:
    """How fast event time runs: `day_s` wall seconds per event-time day (0: as fast as possible)."""

    day_s: float = 1.0
    flush_s: float = 0.2  # a batch goes to the engine at least this often
    batch_lines: int = 2000  # and never bigger than this


@dataclass(slots=True)
class ObservedRuntime(LiveRuntime):
    """The live runtime, each input event timed and observed (metrics, balances, counts)."""

    metrics: EngineMetrics = field(default_factory=EngineMetrics)
    balances: BalanceHistory | None = None
    stats: RunStats = field(default_factory=RunStats)

    async def _apply_lines(self, batch: list[bytes]) -> None:
        out: list[WireModel] = []
        for line in batch:
            self.applied_lines += 1
            out.extend(self._one(line))
        self.stats.lines += len(batch)
        self.stats.count(out)
        await self._write(out)

    async def _write(self, out: list[WireModel]) -> None:
        """Every output to the metrics, operator commands' too (an acknowledged alert moves the gauge)."""
        self.metrics.outputs(out)
        await LiveRuntime._write(self, out)  # explicit: zero-argument super() fails in a slots dataclass

    def _one(self, line: bytes) -> list[WireModel]:
        """engine.handle_line, with the decoded event in hand for the observers."""
        started = time.perf_counter()
        decoded: InputEvent | InvalidInput
        try:
            decoded = decode_line(line, self.engine.max_line_bytes)
        except InvalidInput as error:
            decoded = error
            outputs = self.engine.invalid(line, self.source, self.applied_lines, error)
        else:
            outputs = self.engine.handle(decoded, line, self.source, self.applied_lines)
        self.metrics.observe(decoded, (), time.perf_counter() - started)  # outputs: in _write
        if isinstance(decoded, TreasuryBalance) and self.balances is not None:
            self._record_balance(decoded)
        return outputs

    def _record_balance(self, statement: TreasuryBalance) -> None:
        """The statement and that day's floor as the forecaster computed it (read right after it ran)."""
        agent = self.engine.cash.forecasting
        day = agent.day(statement.as_of)
        book = agent.books.get(statement.treasury_code)
        floor = floor_of(book.monthly_outflow(day, agent.rules.forecast), agent.rules) if book is not None else None
        if self.balances is not None:
            self.balances.record(statement.treasury_code, BalancePoint(day, statement.balance, floor))


def line_time(line: bytes) -> datetime | None:
    """A line's event time without validating it (the engine does that); None when it has none."""
    try:
        parsed = orjson.loads(line)
        text = parsed["data"][TIME_FIELD[parsed["type"]]]
        at = datetime.fromisoformat(text)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
    return at if at.tzinfo is not None else None


async def feed_paced(runtime: LiveRuntime, path: Path, pace: Pace, stop: asyncio.Event, max_line_bytes: int) -> int:
    """Push `path` into the runtime, each line when its event time comes round; until the end or `stop`."""
    sent, batch = 0, list[bytes]()
    first: tuple[datetime, float] | None = None
    last_push = time.monotonic()
    with path.open("rb") as handle:
        for _, item in read_lines(handle, max_line_bytes):
            if stop.is_set():
                break
            line = item.prefix if isinstance(item, Overlong) else item  # a prefix becomes a dead letter
            at = line_time(line) if pace.day_s > 0 else None
            if at is not None:
                first = first or (at, time.monotonic())
                due = first[1] + (at - first[0]).total_seconds() / _DAY_S * pace.day_s
                wait_s = due - time.monotonic()
                if wait_s > 0.01:
                    sent += await _push(runtime, batch)
                    await _sleep_unless(stop, wait_s)
                    last_push = time.monotonic()
            batch.append(line)
            if len(batch) >= pace.batch_lines or time.monotonic() - last_push >= pace.flush_s:
                sent += await _push(runtime, batch)
                last_push = time.monotonic()
    return sent + await _push(runtime, batch)


async def _push(runtime: LiveRuntime, batch: list[bytes]) -> int:
    if not batch:
        return 0
    count = len(batch)
    await runtime.push(batch[:])
    batch.clear()
    return count


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    """Sleep, but wake at once when `stop` is set."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return
