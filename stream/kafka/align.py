"""Event-time alignment of a partition's input topics: release events in event-time order.

Kafka keeps order within a topic partition, not across topics. A worker owning partition p of
`indicator`, `payment` and `settlement` merges them by event time, like a replay of the file:
it releases the earliest held event once every topic either has an event held (its later ones
can only be later) or is drained (nothing more to read right now). "Earliest" is the source's own
sequence number when it gives one (`treasury produce` numbers the file's lines), else event time.
Pure: the caller says which topics are drained.
"""

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(order=True, slots=True)
class _Held:
    seq: int  # the source's own order (the line number from `treasury produce`), 0 when unknown
    at: datetime
    rank: int
    offset: int
    item: Any = field(compare=False)


@dataclass(slots=True)
class Aligner:
    """Held events per partition and topic, each queue in offset order."""

    topics: Sequence[str]  # ranked: on equal event times, earlier topics go first
    max_held: int = 100_000
    held: dict[int, dict[str, deque[_Held]]] = field(default_factory=dict)
    last_offset: dict[tuple[str, int], int] = field(default_factory=dict)
    last_at: dict[tuple[str, int], datetime] = field(default_factory=dict)
    count: int = 0

    def add(self, topic: str, partition: int, offset: int, at: datetime | None, item: Any, seq: int = 0) -> None:
        """Hold an event; one without a time (undecodable) keeps its topic's latest time.

        When the source numbers its messages (`seq`), that order wins over event time: a replayed
        file is then merged back exactly in file order, late lines included.
        """
        key = (topic, partition)
        when = at if at is not None else self.last_at.get(key, _BEGINNING)
        if at is not None and at > self.last_at.get(key, _BEGINNING):
            self.last_at[key] = at
        self.last_offset[key] = max(offset, self.last_offset.get(key, -1))
        queues = self.held.setdefault(partition, {})
        queues.setdefault(topic, deque()).append(_Held(seq, when, self.topics.index(topic), offset, item))
        self.count += 1

    def release(self, drained: Callable[[str, int], bool]) -> list[Any]:
        """Every event that can no longer be preceded by one still unread, in event-time order."""
        out: list[Any] = []
        for partition, queues in self.held.items():
            while True:
                heads = [queue[0] for queue in queues.values() if queue]
                if not heads:
                    break
                waiting = any(not queues.get(topic) and not drained(topic, partition) for topic in self.topics)
                if waiting and self.count <= self.max_held:
                    break
                first = min(heads)
                queues[self.topics[first.rank]].popleft()
                self.count -= 1
                out.append(first.item)
        return out

    def drop(self, partitions: set[int]) -> int:
        """Forget what is held for partitions this worker no longer owns (they will be redelivered)."""
        dropped = 0
        for partition in partitions & set(self.held):
            dropped += sum(len(queue) for queue in self.held.pop(partition).values())
        for key in [key for key in self.last_offset if key[1] in partitions]:
            self.last_offset.pop(key, None)
            self.last_at.pop(key, None)
        self.count -= dropped
        return dropped
