"""The Kafka side of operator actions, without a broker: applying a command message, merging answers."""

import asyncio

import orjson

from agents.config import default_rules_text, parse_rules
from models.outputs import Decision
from stream.engine import Engine
from stream.kafka.operator import _result, _Waiting, encode_command, operate
from stream.operator.port import Command, OperatorResult
from tests.unit.live_helpers import SCENARIO


def _engine() -> Engine:
    engine = Engine(parse_rules(default_rules_text()))
    for number, raw in enumerate(SCENARIO, 1):
        engine.handle_line(raw, "t", number)
    return engine


def test_a_command_message_is_applied_at_the_lane_time_and_answered() -> None:
    engine = _engine()
    outputs, key, answer = operate(engine, encode_command("c1", Command("release", "PAY-1", "li")), 3, True)
    assert key == b"c1"
    command_id, partition, status, message, kind, state = orjson.loads(answer)
    assert (command_id, partition, status, kind) == ("c1", 3, "done", "decision")
    decision = _result(kind, status, message, state).state
    assert isinstance(decision, Decision) and decision.outcome == "accepted"
    assert decision.decided_at == engine.lane_time()
    assert outputs == [decision]
    again = orjson.loads(operate(engine, encode_command("c2", Command("release", "PAY-1", "li")), 3, True)[2])
    assert again[2] == "conflict"


def test_no_state_changes_while_rebalancing_and_a_malformed_command_is_skipped() -> None:
    engine = _engine()
    outputs, _, answer = operate(engine, encode_command("c1", Command("reject", "PAY-3", "li")), 0, False)
    assert outputs == [] and orjson.loads(answer)[2] == "unavailable"
    assert engine.validation.payments["PAY-3"].status == "held"
    assert operate(engine, b"not json", 0, True) == ([], b"", b"")


def test_a_broadcast_command_settles_on_the_first_firm_answer_or_when_all_said_unknown() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        unknown, done = OperatorResult("unknown", "no alert"), OperatorResult("done", "acknowledged")
        firm = _Waiting(3, loop.create_future())
        firm.add(unknown)
        assert not firm.done.done()
        firm.add(done)
        assert firm.done.result() is done
        nowhere = _Waiting(2, loop.create_future())
        nowhere.add(unknown)
        nowhere.add(unknown)
        assert nowhere.done.result().status == "unknown"
        busy = _Waiting(2, loop.create_future())
        busy.add(OperatorResult("unavailable", "rebalancing"))
        busy.add(unknown)
        assert busy.done.result().status == "unavailable"

    asyncio.run(main())
