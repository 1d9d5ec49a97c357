"""Regressions found while hardening the Kafka adapters against faults and hostile input."""

import asyncio
from datetime import datetime, timedelta

import orjson

from agents.tracing.watch import Deadline
from models.errors import InvalidInput
from models.outputs import Alert, DeadLetter, Decision
from stream.engine import Engine
from stream.kafka import persist
from stream.kafka.codecs import StateCodecError, loads_step
from stream.settings import Settings
from stream.store.buffer import RetryPolicy
from stream.store.errors import StoreError
from tests.unit.conftest import INDICATOR_DEFAULTS, PAYMENT_DEFAULTS, PROJECT_DEFAULTS, SETTLEMENT_DEFAULTS


def test_an_overlong_kafka_payment_is_a_dead_letter_without_a_v001_and_is_not_parsed() -> None:
    """Found by the poison test: a 200 KB payment over the line limit was parsed whole for a
    payment hint and got a V001 decision (an overlong file line gets neither)."""
    engine = Engine(Settings().load_rules(), max_line_bytes=4096)
    value = orjson.dumps({**PAYMENT_DEFAULTS, "purpose": "x" * 200_000})
    out = engine.invalid(value, "t.payment/0", 5, InvalidInput("line_too_long", "too long"), kind="payment")
    assert [type(o) for o in out] == [DeadLetter]
    assert not any(isinstance(o, Decision) for o in out)


def test_a_malformed_allocation_step_is_a_codec_error_not_a_crash() -> None:
    """Found by fuzzing: `{"step": []}` raised TypeError (unhashable), a bare string KeyError."""
    for raw in (b'{"step": []}', b'"x"', b"\xff", b'{"step": "Debit"}', b"[" * 5000):
        try:
            loads_step(raw)
        except StateCodecError:
            continue
        raise AssertionError(f"{raw[:20]!r} decoded")


class _LateStore:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.opened = False

    async def open(self) -> None:
        if self.failures:
            self.failures -= 1
            raise StoreError("PostgreSQL at 127.0.0.1:1/x: connection refused (is the server running?)")
        self.opened = True


def test_the_persist_consumer_waits_for_a_database_that_is_not_up_yet() -> None:
    """A worker started before its database (or during an outage) used to crash its persist task."""
    store = _LateStore(failures=3)
    asyncio.run(persist._open(store, RetryPolicy(first_s=0.001, max_s=0.002)))
    assert store.opened and store.failures == 0


def test_a_settlement_deadline_that_comes_back_after_its_settlement_never_fires() -> None:
    """Found by the broker-restart fault test: after the worker's tables were recovered, T005
    deadlines of payments settled days before came back, fired and stayed open (the replay has
    none). A deadline is now checked against the payment's own state when it falls due."""
    engine = Engine(Settings().load_rules())
    for kind, data in (("project", PROJECT_DEFAULTS), ("indicator", INDICATOR_DEFAULTS), ("payment", PAYMENT_DEFAULTS),
                       ("settlement", SETTLEMENT_DEFAULTS)):
        engine.handle_line(orjson.dumps({"type": kind, "data": data}), "f.jsonl", 1)
    assert engine.tracing.deadlines == {}  # settled: its clock stopped
    # What a recovered changelog without the deletion puts back:
    due = datetime.fromisoformat(PAYMENT_DEFAULTS["requested_at"]) + timedelta(days=5)
    engine.tracing.deadlines["T005\x1fPAY-1"] = Deadline("T005", "PAY-1", "IND-1", engine.lane(),
                                                         due - timedelta(days=5), due)
    engine.tracing.reload()
    out = engine.handle_line(orjson.dumps({"type": "clock", "data": {"now": (due + timedelta(days=1)).isoformat()}}),
                             "f.jsonl", 2)
    assert [o for o in out if isinstance(o, Alert)] == []
    assert engine.tracing.deadlines == {}
