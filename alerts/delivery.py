"""Delivery of alert states to an outside HTTP receiver: a bounded queue, one sender task, retries.

`offer` never waits: when the queue is full the alert is dropped, counted and logged (at the 1st,
2nd, 4th, 8th... drop), so a slow or dead receiver can never hold up the stream. The sender
posts in order, retrying connection errors, timeouts, 408, 429 and 5xx with exponential back-off
(doubling from `backoff_s`, capped at `backoff_max_s`) up to `max_attempts`; any other answer (a
4xx) is a permanent failure, counted. With the webhook and Alertmanager modules, the only I/O in
`alerts/`.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

import aiohttp

from models.outputs import Alert

log = logging.getLogger(__name__)
_RETRY_STATUS: Final = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class DeliveryLimits:
    """How hard a sink tries, and how much it may buffer."""

    timeout_s: float = 5.0
    queue_size: int = 1000
    max_attempts: int = 5
    backoff_s: float = 0.5
    backoff_max_s: float = 30.0

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or self.queue_size < 1 or self.max_attempts < 1:
            raise ValueError("an alert sink needs a positive timeout, a queue of at least 1 and at least 1 attempt")
        if not 0 <= self.backoff_s <= self.backoff_max_s:
            raise ValueError("an alert sink's back-off must satisfy 0 <= backoff_s <= backoff_max_s")

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        return float(min(self.backoff_max_s, self.backoff_s * 2 ** (attempt - 1)))


class Retry(Exception):
    """A failure worth another attempt (connection, timeout, 429, 5xx)."""


Request = tuple[str, bytes, dict[str, str]]  # url, body, headers


class Delivery:
    """Queue and sender shared by the sinks; a sink turns an alert into one request (`build`)."""

    name = "alerts"

    def __init__(self, limits: DeliveryLimits) -> None:
        self.limits = limits
        self.queue: asyncio.Queue[Request] = asyncio.Queue(limits.queue_size)
        self.dropped = 0  # queue full: never sent
        self.failed = 0  # sent, but refused or out of attempts
        self.delivered = 0
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # tests shorten the waits

    def build(self, alert: Alert) -> Request:
        raise NotImplementedError

    def offer(self, alert: Alert) -> bool:
        """Queue one alert state for delivery; False (counted, logged) when the queue is full."""
        if self.queue.full():
            return self._drop()  # before building: a dropped state costs no encoding or signing
        return self.offer_request(self.build(alert))

    def offer_request(self, request: Request) -> bool:
        try:
            self.queue.put_nowait(request)
        except asyncio.QueueFull:
            return self._drop()
        return True

    def _drop(self) -> bool:
        self.dropped += 1
        if self.dropped & (self.dropped - 1) == 0:  # the 1st, 2nd, 4th, 8th...: a storm logs a few lines
            log.warning("%s sink queue full (%d): %d alert states dropped so far", self.name,
                        self.limits.queue_size, self.dropped)
        return False

    async def start(self) -> None:
        if self._task is None:
            timeout = aiohttp.ClientTimeout(total=self.limits.timeout_s)
            self._session = aiohttp.ClientSession(timeout=timeout)
            self._task = asyncio.create_task(self._send_all(), name=f"{self.name}-sink")

    async def close(self, drain_s: float = 5.0) -> None:
        """Send what is queued for up to `drain_s`, then stop."""
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self.queue.join(), drain_s)
        except TimeoutError:
            log.warning("%s sink closed with %d alert states unsent", self.name, self.queue.qsize())
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _send_all(self) -> None:
        while True:
            request = await self.queue.get()
            try:
                await self._send(request)
            finally:
                self.queue.task_done()

    async def _send(self, request: Request) -> None:
        for attempt in range(1, self.limits.max_attempts + 1):
            try:
                await self._post(request)
            except Retry as why:
                if attempt == self.limits.max_attempts:
                    self.failed += 1
                    log.error("%s sink gave up after %d attempts: %s", self.name, attempt, why)
                    return
                await self.sleep(self.limits.backoff(attempt))
            except PermanentFailure as why:
                self.failed += 1
                log.error("%s sink: the receiver refused an alert: %s", self.name, why)
                return
            else:
                self.delivered += 1
                return

    async def _post(self, request: Request) -> None:
        url, body, headers = request
        if self._session is None:
            raise PermanentFailure("the sink is not started")
        try:
            async with self._session.post(url, data=body, headers=headers) as response:
                if response.status in _RETRY_STATUS:
                    raise Retry(f"HTTP {response.status}")
                if response.status >= 300:
                    raise PermanentFailure(f"HTTP {response.status}")
        except (aiohttp.ClientError, TimeoutError) as error:
            raise Retry(type(error).__name__) from None


class PermanentFailure(Exception):
    """The receiver answered, and no retry will change its mind (a 4xx)."""
