"""The demo's paced embedded runtime: a scenario file streamed through the engine in real time.

Event time is mapped to wall time (`day_s` wall seconds per event-time day), so a year of the
generated region plays in minutes and the console sees alerts arrive as they would. The engine
is the same one `replay` runs, in file order; only the pacing and the outputs' destinations
differ: files, the store (in small batches, with each chain's state every few seconds), the
metrics and any live listeners (the console's alert stream).
"""

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from agents.forecasting.risk import floor_of
from models.base import WireModel
from models.codec import decode_line
from models.errors import InvalidInput
from models.inputs import InputEvent, TreasuryBalance
from stream.console.balances import BalanceHistory, BalancePoint
from stream.embedded import Overlong, RunStats, handle_batch, read_lines
from stream.engine import Engine, event_time
from stream.metrics import EngineMetrics
from stream.sinks import Sink

_DAY_S = 86_400.0
Listener = Callable[[Sequence[WireModel]], None]


@dataclass(frozen=True, slots=True)
class Pace:
    """How fast event time runs: `day_s` wall seconds per event-time day (0: as fast as possible)."""

    day_s: float = 1.0
    flush_s: float = 0.2  # outputs reach the store (and the console) at least this often
    chains_s: float = 3.0  # each chain's state is written to the store this often


@dataclass(slots=True)
class LiveRun:
    """One streaming run; `stop` ends it early (Ctrl-C, or the demo's duration)."""

    engine: Engine
    files: Sink  # opened and closed here
    store: Sink | None  # already open (the API reads it too); the caller closes it
    metrics: EngineMetrics
    balances: BalanceHistory
    listeners: list[Listener] = field(default_factory=list)
    stats: RunStats = field(default_factory=RunStats)
    _pending: list[WireModel] = field(default_factory=list)
    _started_at: datetime | None = None
    _wall_start: float = 0.0

    async def run(self, path: Path, pace: Pace, stop: asyncio.Event) -> RunStats:
        """Stream `path` until it ends or `stop` is set; the chains' final state goes to every sink."""
        self.stats.total_bytes = path.stat().st_size
        source, last_flush, last_chains = path.name, time.monotonic(), time.monotonic()
        await self.files.open()
        try:
            with path.open("rb") as handle:
                for number, item in read_lines(handle, self.engine.max_line_bytes):
                    if stop.is_set():
                        break
                    at = self._handle(number, item, source)
                    self.stats.bytes_read = handle.tell()
                    now = time.monotonic()
                    wait_s = self._wait_s(at, pace, now)
                    if wait_s > 0 or now - last_flush >= pace.flush_s:
                        await self._flush()
                        last_flush = now
                    if now - last_chains >= pace.chains_s and self.store is not None:
                        await self.store.write(list[WireModel](self.engine.chains()))
                        last_chains = now
                    if wait_s > 0:
                        await _sleep_unless(stop, wait_s)
            await self._flush()
            chains = list[WireModel](self.engine.chains())
            await self.files.write(chains)
            if self.store is not None:
                await self.store.write(chains)
        finally:
            await self.files.close()
        self.stats.finished = time.monotonic()
        return self.stats

    def _handle(self, number: int, item: bytes | Overlong, source: str) -> datetime | None:
        """One line through the engine, observed; its event time when it had one."""
        if isinstance(item, Overlong):
            outputs, event = handle_batch(self.engine, [(number, item)], source), None
            decoded: InputEvent | InvalidInput = InvalidInput("line_too_long", "overlong line")
        else:
            started = time.perf_counter()
            try:
                decoded = event = decode_line(item, self.engine.max_line_bytes)
            except InvalidInput as error:
                decoded, event = error, None
                outputs = self.engine.invalid(item, source, number, error)
            else:
                outputs = self.engine.handle(event, item, source, number)
            self.metrics.observe(decoded, outputs, time.perf_counter() - started)
        if isinstance(event, TreasuryBalance):
            self._record_balance(event)
        self.stats.lines += 1
        self.stats.count(outputs)
        self._pending.extend(outputs)
        return event_time(event) if event is not None else None

    def _record_balance(self, statement: TreasuryBalance) -> None:
        """The statement and that day's floor, as the forecaster computed them (read after it ran)."""
        agent = self.engine.cash.forecasting
        day = agent.day(statement.as_of)
        book = agent.books.get(statement.treasury_code)
        floor = None
        if book is not None:
            floor = floor_of(book.monthly_outflow(day, agent.rules.forecast), agent.rules)
        self.balances.record(statement.treasury_code, BalancePoint(day, statement.balance, floor))

    def _wait_s(self, at: datetime | None, pace: Pace, now: float) -> float:
        """How long until this event's event time comes round on the wall clock."""
        if at is None or pace.day_s <= 0:
            return 0.0
        if self._started_at is None:
            self._started_at, self._wall_start = at, now
            return 0.0
        due = self._wall_start + (at - self._started_at).total_seconds() / _DAY_S * pace.day_s
        return due - now if due - now > 0.01 else 0.0

    async def _flush(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        await self.files.write(batch)
        if self.store is not None:
            await self.store.write(batch)
        for listener in self.listeners:
            listener(batch)



async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    """Sleep, but wake at once when `stop` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)

