"""Operator actions on Kafka: commands to the partition that owns the state, answers back to the asker.

`<prefix>operator` is co-partitioned with the inputs and read by the `validate` agent beside the
allocation steps (not aligned: a command applies when it arrives, between two events, at that
partition's lane time). A payment command is keyed by the payment's `indicator_id` (from the
store's decision row), so the partition owning its ledger applies it; an alert command goes to
every partition (the alert book is partition-pinned and an alert's partition is not always
derivable), and each answers. Answers go to `<prefix>operator-result`; every worker tails that
topic and `<prefix>alert` with a group-less consumer (from the end): the answers complete the
waiting requests, the alert states feed the worker's AlertHub (SSE sees every partition's alerts).
"""

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from models.base import WireModel
from models.codec import encode_data
from models.outputs import Alert, Decision
from stream.api.hub import AlertHub
from stream.engine import Engine
from stream.kafka.topics import OPERATOR, OPERATOR_RESULT, Topics
from stream.operator.apply import apply_command
from stream.operator.port import Actions, Command, OperatorResult
from stream.settings import Settings
from stream.store.port import Store

log = logging.getLogger(__name__)
_FIRM: Final = frozenset({"done", "conflict"})  # an answer that settles a broadcast command at once


def encode_command(command_id: str, command: Command) -> bytes:
    return orjson.dumps([command_id, command.action, command.target, command.actor])


def operate(engine: Engine, value: bytes, partition: int, steady: bool) -> tuple[list[WireModel], bytes, bytes]:
    """Apply one command message on the pinned partition: (outputs, answer key, answer value).

    While the worker rebalances or recovers, state must not change: the answer is `unavailable`.
    A malformed command is answered (and logged) rather than raised: it must not stop the agent.
    """
    try:
        command_id, action, target, actor = orjson.loads(value)
        command = Command(action, target, actor)
    except (ValueError, TypeError) as error:
        log.error("operator: malformed command on partition %d: %s", partition, error)
        return [], b"", b""
    outputs: list[WireModel] = []
    if not steady:
        result = OperatorResult("unavailable", "the worker is rebalancing; try again")
    else:
        result, outputs = apply_command(engine, command, at=engine.lane_time())
    state = None if result.state is None else encode_data(result.state).decode()
    kind = "alert" if isinstance(result.state, Alert) else "decision" if result.state is not None else None
    answer = orjson.dumps([command_id, partition, result.status, result.message, kind, state])
    return outputs, command_id.encode(), answer


def _result(kind: str | None, status: str, message: str, state: str | None) -> OperatorResult:
    if state is None:
        return OperatorResult(status, message)  # type: ignore[arg-type]  # our own answers
    model = Alert.model_validate_json(state) if kind == "alert" else Decision.model_validate_json(state)
    return OperatorResult(status, message, model)  # type: ignore[arg-type]


@dataclass(slots=True)
class _Waiting:
    expected: int
    done: asyncio.Future[OperatorResult]
    answers: list[OperatorResult] = field(default_factory=list)

    def add(self, answer: OperatorResult) -> None:
        self.answers.append(answer)
        if self.done.done():
            return
        if answer.status in _FIRM:
            self.done.set_result(answer)
        elif len(self.answers) >= self.expected:
            busy = [a for a in self.answers if a.status == "unavailable"]
            self.done.set_result(busy[0] if busy else answer)


class KafkaOperations:
    """The worker's side of the API on Kafka: the Operator, the answer tail and the AlertHub."""

    def __init__(self, settings: Settings, store: Store, hub: AlertHub | None = None) -> None:
        self.settings = settings
        self.topics = Topics(settings.topic_prefix)
        self.store = store
        self.hub = hub or AlertHub(settings.sse_queue)
        self.operator = KafkaOperator(self)
        self._waiting: dict[str, _Waiting] = {}
        self._producer: Any = None
        self._consumer: Any = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, _: Any = None) -> None:
        """Positioned at the end of the answers before any command is sent (aiohttp on_startup).

        A failure here must not stop the worker: its API then answers operator actions with 503.
        """
        try:
            await self._start()
        except (KafkaError, OSError) as error:
            log.error("operator channel not started (operator actions answer 503): %s", error)
            await self.stop()
            self._producer = None

    async def _start(self) -> None:
        servers = self.settings.kafka_bootstrap_servers
        self._producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all")
        self._consumer = AIOKafkaConsumer(bootstrap_servers=servers, group_id=None, enable_auto_commit=False)
        await self._producer.start()
        await self._consumer.start()
        names = [self.topics.name(OPERATOR_RESULT), self.topics.name("alert")]
        parts = [TopicPartition(name, p) for name in names for p in sorted(await self._producer.partitions_for(name))]
        self._consumer.assign(parts)
        await self._consumer.seek_to_end(*parts)
        for tp in parts:
            await self._consumer.position(tp)  # resolve now: an answer after this point is seen
        self._task = asyncio.create_task(self._tail(), name="operator-tail")

    async def stop(self, _: Any = None) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.hub.close()
        for client in (self._consumer, self._producer):
            if client is not None:
                with contextlib.suppress(KafkaError, OSError):
                    await client.stop()

    async def send(self, command: Command) -> OperatorResult:
        if self._producer is None:
            return OperatorResult("unavailable", "the worker's operator channel is not started")
        command_id = uuid.uuid4().hex
        topic = self.topics.name(OPERATOR)
        value = encode_command(command_id, command)
        key = command.target.encode()
        partitions: list[int] = []
        if command.on_alert:
            partitions = sorted(await self._producer.partitions_for(topic))
        else:
            decided = await self.store.decision(command.target)
            if decided is None or decided.get("indicator_id") is None:
                return OperatorResult("unknown", f"no payment {command.target}")
            key = str(decided["indicator_id"]).encode()  # the partition that owns its ledger
        waiting = _Waiting(max(1, len(partitions)), asyncio.get_running_loop().create_future())
        self._waiting[command_id] = waiting
        try:
            for partition in partitions or [None]:  # type: ignore[list-item]  # None: by the key
                await self._producer.send_and_wait(topic, value, key=key, partition=partition)
            return await asyncio.wait_for(asyncio.shield(waiting.done), self.settings.operator_timeout_s)
        except TimeoutError:
            return OperatorResult("pending", f"not answered within {self.settings.operator_timeout_s:g} s; "
                                             "it applies when its partition's worker reads it")
        except KafkaError as error:
            return OperatorResult("unavailable", f"Kafka: {error}")
        finally:
            self._waiting.pop(command_id, None)

    async def _tail(self) -> None:
        answers, alerts = self.topics.name(OPERATOR_RESULT), self.topics.name("alert")
        while True:
            try:
                batch = await self._consumer.getmany(timeout_ms=500)
            except KafkaError as error:
                log.warning("operator tail: %s", error)
                await asyncio.sleep(1.0)
                continue
            for records in batch.values():
                for record in records:
                    if record.topic == alerts:
                        self.hub.publish([Alert.model_validate_json(record.value)])
                    elif record.topic == answers:
                        self._answer(record.value)

    def _answer(self, value: bytes) -> None:
        try:
            command_id, _partition, status, message, kind, state = orjson.loads(value)
        except (ValueError, TypeError):
            return
        waiting = self._waiting.get(command_id)
        if waiting is not None:
            waiting.add(_result(kind, status, message, state))


class KafkaOperator(Actions):
    """The Operator port over Kafka (see the module docstring)."""

    def __init__(self, operations: KafkaOperations) -> None:
        self.operations = operations

    async def submit(self, command: Command) -> OperatorResult:
        return await self.operations.send(command)
