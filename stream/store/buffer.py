"""WriteBuffer: a bounded queue of batches in front of a store, written in order and retried until written.

The database may go away for a while (restart, failover, network). The persist consumer must
then neither lose a batch nor crash nor read without limit: batches wait here, at most
`max_batches` of them; when the queue is full, `put` waits, so the consumer stops reading and
Kafka keeps the rest (back-pressure). One writer takes the batches in arrival order and writes
each until it succeeds (capped exponential back-off); only then is it acknowledged (`done`: the
offsets are committed), so an acknowledged batch is always in the database.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from prometheus_client import Counter, Gauge

from stream.store.errors import StoreError

T = TypeVar("T")
log = logging.getLogger(__name__)

RETRIES = Counter("treasury_store_write_retries", "Batch writes to PostgreSQL that failed and are retried")
QUEUE_BATCHES = Gauge("treasury_store_queue_batches", "Batches waiting to be written to PostgreSQL (bounded)")
QUEUE_MESSAGES = Gauge("treasury_store_queue_messages", "Output messages in the batches waiting for PostgreSQL")
STORE_UP = Gauge("treasury_store_up", "1 while the last PostgreSQL write succeeded, 0 while writes fail")
WRITTEN = Counter("treasury_store_batches_written", "Batches written to PostgreSQL and acknowledged")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Back-off between attempts: first_s, doubling, never above max_s."""

    first_s: float = 0.2
    max_s: float = 5.0

    def delay_s(self, attempt: int) -> float:
        return float(min(self.max_s, self.first_s * 2 ** min(attempt, 30)))


class WriteBuffer(Generic[T]):
    """Batches in, written in order with retries, acknowledged once written."""

    def __init__(
        self,
        write: Callable[[T], Awaitable[None]],
        done: Callable[[T], Awaitable[None]],
        *,
        max_batches: int,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if max_batches < 1:
            raise StoreError(f"the write queue must hold at least one batch, got {max_batches}")
        self._write, self._done, self._sleep = write, done, sleep
        self.retry = retry or RetryPolicy()
        self._queue: asyncio.Queue[tuple[T, int]] = asyncio.Queue(maxsize=max_batches)
        self._task: asyncio.Task[None] | None = None
        self.retries = 0
        self.queued_messages = 0

    @property
    def queued_batches(self) -> int:
        return self._queue.qsize()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="store-writer")

    async def stop(self) -> None:
        """Stop writing (what is still queued was not acknowledged: Kafka delivers it again)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def put(self, batch: T, messages: int) -> None:
        """Queue a batch; wait while the queue is full. A writer that failed raises here."""
        if self._task is None:
            raise StoreError("the write buffer is not started")
        putting = asyncio.ensure_future(self._queue.put((batch, messages)))
        finished, _ = await asyncio.wait({putting, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if putting not in finished:
            putting.cancel()
            self._task.result()  # the writer failed: its error, loudly
            raise StoreError("the store writer stopped")
        self.queued_messages += messages
        self._gauge()

    async def join(self) -> None:
        """Wait until every queued batch is written and acknowledged (tests, orderly shutdown)."""
        await self._queue.join()

    async def _run(self) -> None:
        while True:
            batch, messages = await self._queue.get()
            await self._write_until_done(batch)
            await self._done(batch)
            self.queued_messages -= messages
            self._queue.task_done()
            WRITTEN.inc()
            self._gauge()

    async def _write_until_done(self, batch: T) -> None:
        attempt = 0
        while True:
            try:
                await self._write(batch)
            except StoreError as error:  # the database away or refusing: wait, try again
                self.retries += 1
                RETRIES.inc()
                STORE_UP.set(0)
                delay = self.retry.delay_s(attempt)
                log.warning("store write failed (%s); attempt %d, retrying in %.1f s with %d batches queued",
                            error, attempt + 1, delay, self.queued_batches + 1)
                attempt += 1
                await self._sleep(delay)
                continue
            STORE_UP.set(1)
            return

    def _gauge(self) -> None:
        QUEUE_BATCHES.set(self.queued_batches)
        QUEUE_MESSAGES.set(self.queued_messages)
