"""The live embedded runtime: one engine task fed lines as they come, operator commands between them.

`treasury replay` runs a file to its end; this runtime keeps running: input batches arrive by
`push` (bounded: a fast producer waits), operator commands by `LiveOperator.submit`, and one task
applies both in arrival order, commands first (an operator should not wait behind the backlog),
each at the engine's event time. After every step the outputs go to the sink, changed chain rows
to the store (so the API reads payments, the held queue and chains as they are now), and alert
states to the hub (server-sent events). A command's future is resolved only after its outputs
are written, so a read right after the answer sees the change.
"""

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from agents.ledger import Ledger
from agents.validation.agent import ValidationAgent
from agents.validation.reference import ReferenceState
from models.base import WireModel
from models.outputs import Alert
from stream.api.hub import AlertHub
from stream.engine import Engine
from stream.kafka.chainrows import node_message, payment_message, read
from stream.operator.apply import apply_command
from stream.operator.port import Actions, Command, OperatorResult
from stream.sinks import Sink
from stream.store.port import Store
from stream.store.rows import Row

log = logging.getLogger(__name__)


class AlertOutlet(Protocol):
    """Where alert states go besides the store and the hub (webhook, Alertmanager): never waits."""

    def offer(self, alert: Alert) -> bool: ...


class Dirty(dict[str, Any]):
    """A dict that remembers which keys were written since `take()` (the engine writes back every change)."""

    def __init__(self) -> None:
        super().__init__()
        self.changed: set[str] = set()

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.changed.add(key)

    def take(self) -> set[str]:
        changed, self.changed = self.changed, set()
        return changed


def tracking_engine(engine: Engine) -> tuple[Dirty, Dirty]:
    """Bind a fresh validation agent whose accounts and payments record their changes."""
    accounts, payments = Dirty(), Dirty()
    agent = ValidationAgent(engine.rules, state=ReferenceState(ledger=Ledger(accounts)), payments=payments)
    engine.bind(agent)
    return accounts, payments


@dataclass(slots=True)
class _Pending:
    command: Command
    done: asyncio.Future[OperatorResult]


@dataclass(slots=True)
class LiveRuntime:
    """The engine task of the live embedded runtime (see the module docstring)."""

    engine: Engine
    sink: Sink
    hub: AlertHub
    store: Store | None = None
    outlets: list[AlertOutlet] = field(default_factory=list)
    queue_batches: int = 4
    # Lines applied between two looks at the event loop (and at queued commands).
    step_lines: int = 256
    source: str = "live"
    applied_lines: int = 0
    written_lines: int = 0  # lines whose outputs are written (the store shows them)
    _inputs: asyncio.Queue[list[bytes]] = field(init=False)
    _commands: list[_Pending] = field(default_factory=list)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _finishing: bool = False
    running: bool = False
    _accounts: Dirty = field(init=False)
    _payments: Dirty = field(init=False)

    def __post_init__(self) -> None:
        self._inputs = asyncio.Queue(self.queue_batches)
        self._accounts, self._payments = tracking_engine(self.engine)

    async def push(self, lines: list[bytes]) -> None:
        """One batch of raw JSON lines; waits while `queue_batches` batches are already waiting."""
        await self._inputs.put(lines)
        self._wake.set()

    def command(self, command: Command) -> asyncio.Future[OperatorResult]:
        """Queue a command; the future resolves once it is applied and its outputs written."""
        done: asyncio.Future[OperatorResult] = asyncio.get_running_loop().create_future()
        if not self.running:
            done.set_result(OperatorResult("unavailable", "the engine is not running"))
            return done
        self._commands.append(_Pending(command, done))
        self._wake.set()
        return done

    def finish(self) -> None:
        """Stop once the queued input is applied."""
        self._finishing = True
        self._wake.set()

    async def run(self) -> None:
        """Apply commands and input batches until `finish()` and the input queue is empty."""
        self.running = True
        try:
            while True:
                if self._commands:
                    await self._apply_commands()
                elif not self._inputs.empty():
                    await self._apply_lines(self._inputs.get_nowait())
                elif self._finishing:
                    return
                else:
                    self._wake.clear()
                    await self._wake.wait()
        finally:
            self.running = False
            for pending in self._commands:
                if not pending.done.done():
                    pending.done.set_result(OperatorResult("unavailable", "the engine stopped"))
            self._commands.clear()

    async def _apply_lines(self, batch: list[bytes]) -> None:
        """A batch in steps of `step_lines`: after each, the loop runs (HTTP, SSE, new commands) and
        queued commands apply, so an action waits for at most one step, never for the backlog."""
        for start in range(0, len(batch), self.step_lines):
            out: list[WireModel] = []
            for line in batch[start:start + self.step_lines]:
                self.applied_lines += 1
                out.extend(self.engine.handle_line(line, self.source, self.applied_lines))
            await self._write(out)
            self.written_lines = self.applied_lines
            await asyncio.sleep(0)  # the engine never holds the event loop for more than one step
            if self._commands:
                await self._apply_commands()

    async def _apply_commands(self) -> None:
        pending, self._commands = self._commands, []
        results: list[tuple[_Pending, OperatorResult]] = []
        out: list[WireModel] = []
        for item in pending:
            result, emitted = apply_command(self.engine, item.command)
            results.append((item, result))
            out.extend(emitted)
        try:
            await self._write(out)
        except Exception as error:  # the state changed but could not be written: say so, keep running
            log.error("writing the outputs of %d operator commands failed: %s", len(pending), error)
            results = [(item, OperatorResult("unavailable", f"applied, but not yet stored: {error}", r.state))
                       for item, r in results]
        for item, result in results:
            if not item.done.done():
                item.done.set_result(result)

    async def _write(self, out: list[WireModel]) -> None:
        if out:
            await self.sink.write(out)
        if self.store is not None:
            nodes, payments = self._chain_rows()
            if nodes or payments:
                await self.store.write_chain_rows(nodes, payments)
        changed = [o for o in out if isinstance(o, Alert)]
        self.hub.publish(changed)
        for outlet in self.outlets:
            for alert in changed:
                outlet.offer(alert)

    def _chain_rows(self) -> tuple[list[Row], list[Row]]:
        """Rows of the accounts and payments changed since the last write, each indicator's parents too."""
        state = self.engine.validation.state
        indicators = set(self._accounts.take())
        payment_ids = self._payments.take()
        payments = []
        for payment_id in sorted(payment_ids):
            record = self._payments.get(payment_id)
            root = state.roots.get(record.indicator_id) if record is not None else None
            message = payment_message(payment_id, record, root) if record is not None and root else None
            if message is not None:
                payments.append(read(message)[1])
                indicators.add(record.indicator_id)  # type: ignore[union-attr]
        return _node_rows(state, indicators), payments


def _node_rows(state: ReferenceState, changed: Iterable[str]) -> list[Row]:
    rows: dict[str, Row] = {}
    for start in changed:
        current: str | None = start
        while current is not None and current not in rows:
            indicator, root = state.indicators.get(current), state.roots.get(current)
            account = state.ledger.accounts.get(current)
            if indicator is None or root is None or account is None:
                break
            rows[current] = read(node_message(indicator, root, account))[1]
            current = indicator.parent_indicator_id
    return [rows[key] for key in sorted(rows)]


class LiveOperator(Actions):
    """Commands into the live runtime; waits up to `timeout_s`, then answers `pending` (it still applies)."""

    def __init__(self, runtime: LiveRuntime, timeout_s: float = 5.0) -> None:
        self.runtime = runtime
        self.timeout_s = timeout_s

    async def submit(self, command: Command) -> OperatorResult:
        done = self.runtime.command(command)
        try:
            return await asyncio.wait_for(asyncio.shield(done), self.timeout_s)
        except TimeoutError:
            return OperatorResult("pending", f"queued behind the input; not applied within {self.timeout_s:g} s")
