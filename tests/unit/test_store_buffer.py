"""WriteBuffer: batches written in order, retried until written, acknowledged only once written,
and a full queue makes the producer wait (back-pressure)."""

import asyncio

import pytest
from prometheus_client import REGISTRY

from stream.store.buffer import RetryPolicy, WriteBuffer
from stream.store.errors import StoreError


class FlakyStore:
    """A store that is down (raises StoreError) until `up` is set."""

    def __init__(self, up: bool = True) -> None:
        self.up = up
        self.written: list[int] = []
        self.attempts = 0

    async def write(self, batch: int) -> None:
        self.attempts += 1
        if not self.up:
            raise StoreError("PostgreSQL at 127.0.0.1:1/x: connection refused")
        self.written.append(batch)


def _sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def _no_sleep(_: float) -> None:
    await asyncio.sleep(0)


def test_batches_are_written_in_order_and_acknowledged_after_their_write() -> None:
    store, acked = FlakyStore(), []

    async def done(batch: int) -> None:
        assert batch in store.written  # never acknowledged before it is in the store
        acked.append(batch)

    async def run() -> None:
        buffer = WriteBuffer(store.write, done, max_batches=3)
        buffer.start()
        for n in range(10):
            await buffer.put(n, messages=5)
        await buffer.join()
        assert buffer.queued_messages == 0
        await buffer.stop()

    asyncio.run(run())
    assert store.written == list(range(10))
    assert acked == list(range(10))


def test_a_store_that_is_down_is_retried_until_it_is_back_and_nothing_is_lost() -> None:
    store, acked = FlakyStore(up=False), []
    retries_before = _sample("treasury_store_write_retries_total")

    async def done(batch: int) -> None:
        acked.append(batch)

    async def run() -> None:
        buffer = WriteBuffer(store.write, done, max_batches=2, sleep=_no_sleep)
        buffer.start()
        await buffer.put(1, messages=1)
        while store.attempts < 5:
            await asyncio.sleep(0)
        assert acked == [] and _sample("treasury_store_up") == 0
        store.up = True
        await buffer.put(2, messages=1)
        await buffer.join()
        await buffer.stop()
        assert buffer.retries >= 4

    asyncio.run(run())
    assert store.written == [1, 2] and acked == [1, 2]
    assert _sample("treasury_store_write_retries_total") - retries_before >= 4
    assert _sample("treasury_store_up") == 1


def test_a_full_queue_makes_put_wait_until_the_store_is_back() -> None:
    store = FlakyStore(up=False)

    async def done(batch: int) -> None:
        return None

    async def run() -> None:
        buffer = WriteBuffer(store.write, done, max_batches=2, sleep=_no_sleep)
        buffer.start()
        await buffer.put(1, messages=10)  # taken by the writer, failing
        await buffer.put(2, messages=10)
        await buffer.put(3, messages=10)  # the queue now holds 2 and 3: full
        assert buffer.queued_batches == 2
        assert _sample("treasury_store_queue_batches") == 2
        assert _sample("treasury_store_queue_messages") == 30
        blocked = asyncio.ensure_future(buffer.put(4, messages=10))
        for _ in range(50):
            await asyncio.sleep(0)
        assert not blocked.done(), "a full queue must hold the producer back"
        store.up = True
        await asyncio.wait_for(blocked, 5)
        await buffer.join()
        await buffer.stop()

    asyncio.run(run())
    assert store.written == [1, 2, 3, 4]
    assert _sample("treasury_store_queue_batches") == 0


def test_a_programming_error_in_the_writer_is_raised_not_retried() -> None:
    async def write(batch: int) -> None:
        raise TypeError("a bug")

    async def done(batch: int) -> None:
        raise AssertionError("never acknowledged")

    async def run() -> None:
        buffer = WriteBuffer(write, done, max_batches=1)
        buffer.start()
        await buffer.put(1, messages=1)
        with pytest.raises(TypeError, match="a bug"):
            for n in range(2, 5):
                await buffer.put(n, messages=1)
        await buffer.stop()

    asyncio.run(run())


def test_back_off_doubles_up_to_its_cap_and_limits_are_checked() -> None:
    policy = RetryPolicy(first_s=0.2, max_s=5.0)
    assert [policy.delay_s(n) for n in range(7)] == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    assert policy.delay_s(10_000) == 5.0

    async def noop(batch: int) -> None:
        return None

    with pytest.raises(StoreError):
        WriteBuffer(noop, noop, max_batches=0)
