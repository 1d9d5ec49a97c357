"""The Operator port: one contract for the engine-applied and the live (queued) implementation; the hub."""

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from agents.config import default_rules_text, parse_rules
from models.outputs import Alert, Decision
from stream.api.hub import AlertHub
from stream.engine import Engine
from stream.live import LiveOperator, LiveRuntime
from stream.operator.apply import EngineOperator
from stream.operator.port import Operator
from stream.sinks import MemorySink
from tests.unit.live_helpers import SCENARIO

Contract = Callable[[Operator, Engine], Awaitable[None]]


async def check_contract(operator: Operator, engine: Engine) -> None:
    f004 = {a.alert.subject.id: key for key, a in engine.alerts.alerts.items() if a.alert.code == "F004"}
    acked = await operator.acknowledge(f004["PAY-1"], "li")
    assert acked.status == "done" and isinstance(acked.state, Alert)
    assert (acked.state.status, acked.state.actor) == ("acknowledged", "li")
    assert (await operator.acknowledge(f004["PAY-1"], "li")).status == "conflict"
    assert (await operator.resolve(f004["PAY-1"], "wang")).status == "done"
    assert (await operator.resolve(f004["PAY-1"], "wang")).status == "conflict"
    assert (await operator.acknowledge("F004-0000000000000000", "li")).status == "unknown"
    released = await operator.release("PAY-1", "li")
    assert released.status == "done" and isinstance(released.state, Decision)
    assert released.state.outcome == "accepted"
    rejected = await operator.reject("PAY-3", "li")
    assert isinstance(rejected.state, Decision) and rejected.state.outcome == "rejected"
    for payment_id in ("PAY-1", "PAY-2", "PAY-3"):
        result = await operator.release(payment_id, "li")
        assert result.status == "conflict" and "not held" in result.message
    assert (await operator.reject("NOPE", "li")).status == "unknown"
    account = engine.validation.state.ledger.accounts["IND-1"]
    assert (account.reserved, account.available) == (70_000, 30_000)


def _engine() -> Engine:
    engine = Engine(parse_rules(default_rules_text()))
    return engine


def test_engine_operator() -> None:
    async def main() -> None:
        engine = _engine()
        for number, raw in enumerate(SCENARIO, 1):
            engine.handle_line(raw, "t", number)
        sink = MemorySink()
        await check_contract(EngineOperator(engine, sink), engine)
        assert len(sink.lines["alert"]) == 2 and len(sink.lines["decision"]) == 2

    asyncio.run(main())


def test_live_operator() -> None:
    async def main() -> None:
        sink, hub = MemorySink(), AlertHub()
        runtime = LiveRuntime(_engine(), sink, hub)
        task = asyncio.create_task(runtime.run())
        await runtime.push(list(SCENARIO))
        while runtime.written_lines < len(SCENARIO):
            await asyncio.sleep(0.01)
        listener = hub.subscribe()
        await check_contract(LiveOperator(runtime, 2.0), runtime.engine)
        assert [(await listener.next(0.1)).status for _ in range(2)] == ["acknowledged", "resolved"]  # type: ignore[union-attr]
        runtime.finish()
        await task
        assert (await LiveOperator(runtime).release("PAY-1", "li")).status == "unavailable"

    asyncio.run(main())


def test_a_command_waits_no_longer_than_the_timeout() -> None:
    async def main() -> None:
        runtime = LiveRuntime(_engine(), MemorySink(), AlertHub())
        runtime.running = True  # as if the task were busy with a long batch: nothing applies the command
        result = await LiveOperator(runtime, 0.05).acknowledge("F004-x", "li")
        assert result.status == "pending" and "not applied within" in result.message

    asyncio.run(main())


def test_the_hub_never_blocks_and_drops_a_subscriber_that_falls_behind() -> None:
    async def main() -> None:
        hub = AlertHub(queue_size=2)
        slow, fast = hub.subscribe(), hub.subscribe()
        engine = _engine()
        for number, raw in enumerate(SCENARIO, 1):
            engine.handle_line(raw, "t", number)
        alert = next(iter(engine.alerts.alerts.values())).alert
        hub.publish([alert, alert])
        assert await fast.next(0.1) == alert and await fast.next(0.1) == alert
        hub.publish([alert])  # slow now holds 2: the third drops it; fast has room
        assert hub.dropped_subscribers == 1 and hub.subscribers == 1
        assert [await slow.next(0.1) for _ in range(3)] == [alert, alert, None]
        assert await fast.next(0.1) == alert
        hub.close()
        assert await fast.next(0.1) is None

    asyncio.run(main())


def test_a_hub_needs_room() -> None:
    with pytest.raises(ValueError, match="at least one"):
        AlertHub(queue_size=0)
