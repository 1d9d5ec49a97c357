"""AlertHub: every alert state change, fanned out to the server-sent-event subscribers.

Publishing never waits: each subscriber has a bounded queue, and one that falls behind by more
than its queue is dropped (its stream ends; the browser's EventSource reconnects and re-reads the
list). The engine task therefore never blocks on a slow client.
"""

import asyncio
import logging
from collections.abc import Iterable

from models.outputs import Alert

log = logging.getLogger(__name__)


class Subscription:
    """One client's queue of alert states; `None` marks the end (dropped or hub closed)."""

    def __init__(self, size: int) -> None:
        self.queue: asyncio.Queue[Alert | None] = asyncio.Queue(size + 1)  # +1: room for the end mark
        self.size = size

    async def next(self, timeout_s: float) -> Alert | None:
        """The next alert, or None at the end; TimeoutError when nothing came within the timeout."""
        return await asyncio.wait_for(self.queue.get(), timeout_s)


class AlertHub:
    """Fan-out of alert states to subscribers, each bounded; counts what it drops."""

    def __init__(self, queue_size: int = 256) -> None:
        if queue_size < 1:
            raise ValueError("a subscriber queue holds at least one alert")
        self.queue_size = queue_size
        self._subscribers: set[Subscription] = set()
        self.dropped_subscribers = 0

    def subscribe(self) -> Subscription:
        subscription = Subscription(self.queue_size)
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, alerts: Iterable[Alert]) -> None:
        """Hand each alert to every subscriber, now; a full subscriber is ended instead."""
        for alert in alerts:
            for subscription in list(self._subscribers):
                if subscription.queue.qsize() >= subscription.size:
                    self._drop(subscription)
                else:
                    subscription.queue.put_nowait(alert)

    def close(self) -> None:
        for subscription in list(self._subscribers):
            self._subscribers.discard(subscription)
            subscription.queue.put_nowait(None)

    def _drop(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)
        subscription.queue.put_nowait(None)  # the +1 slot: always room
        self.dropped_subscribers += 1
        log.warning("an alert stream subscriber fell %d alerts behind and was disconnected", subscription.size)
