"""Merge a partition's input topics back into the producer's order (partition sequence numbers).

Kafka keeps order within a topic partition, not across topics. `treasury produce` numbers every
message it writes to partition p of the merged topics 1, 2, 3, … (header `treasury-pseq`, one
counter per partition over all the topics), so the worker can put them back exactly:

- **Numbered events** are released strictly in number order: the next is the last applied + 1.
  A missing number is waited for (it may still be in flight), bounded: once every topic of the
  partition has been read to its end for `gap_timeout_s` (the caller's `drained`), or more than
  `max_held` events are held, the aligner gives up on it, records a `Skip` and goes on. A number
  at or below the last applied is a redelivery (after a crash or a rebalance): its effects are in
  the state already, so it is released at once (the engine recognises it and repeats its answer).
- **Unnumbered events** (another producer's, or poison) keep the older rule among themselves:
  the earliest held, by the line number header `treasury-seq` when present, else event time, is
  released once every topic either has an event held or is drained. They are never merged with
  the numbered ones: neither waits for the other, and numbered events keep their order.

Nothing of a partition is released until the caller says where its numbering stands (`learn`,
from the durable table, after recovery). Pure: the caller passes `drained` and a monotonic `now`.
"""

import heapq
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
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


@dataclass(order=True, slots=True)
class _Numbered:
    pseq: int
    rank: int
    offset: int
    topic: str = field(compare=False)
    item: Any = field(compare=False)


@dataclass(frozen=True, slots=True)
class Skip:
    """Numbers `first`..`last` of a partition given up on: `reason` is "timeout" or "held_limit"."""

    partition: int
    first: int
    last: int
    reason: str


@dataclass(slots=True)
class _Lane:
    """One partition's held events and where its numbering stands."""

    unnumbered: dict[str, deque[_Held]] = field(default_factory=dict)
    numbered: list[_Numbered] = field(default_factory=list)  # a heap, lowest number first
    numbered_in: Counter[str] = field(default_factory=Counter)  # numbered events held per topic
    applied: int | None = None  # the last number applied; None until learned
    gap_since: float | None = None  # since when every topic was drained with a number missing


@dataclass(slots=True)
class Aligner:
    """Held events per partition: numbered ones by number, the others per topic in offset order."""

    topics: Sequence[str]  # ranked: on equal event times, earlier topics go first
    max_held: int = 100_000
    gap_timeout_s: float = 30.0
    lanes: dict[int, _Lane] = field(default_factory=dict)
    last_offset: dict[tuple[str, int], int] = field(default_factory=dict)
    last_at: dict[tuple[str, int], datetime] = field(default_factory=dict)
    count: int = 0
    skips: list[Skip] = field(default_factory=list)  # gaps given up on, for the caller to report

    def add(self, topic: str, partition: int, offset: int, at: datetime | None, item: Any,
            seq: int = 0, pseq: int = 0) -> None:
        """Hold an event; `pseq` > 0 is its partition sequence number.

        An unnumbered event without a time (undecodable) keeps its topic's latest time; its
        line number `seq`, when given, wins over event time (a file merged back in file order).
        """
        key = (topic, partition)
        when = at if at is not None else self.last_at.get(key, _BEGINNING)
        if at is not None and at > self.last_at.get(key, _BEGINNING):
            self.last_at[key] = at
        self.last_offset[key] = max(offset, self.last_offset.get(key, -1))
        lane = self.lanes.setdefault(partition, _Lane())
        rank = self.topics.index(topic)
        if pseq > 0:
            heapq.heappush(lane.numbered, _Numbered(pseq, rank, offset, topic, item))
            lane.numbered_in[topic] += 1
        else:
            lane.unnumbered.setdefault(topic, deque()).append(_Held(seq, when, rank, offset, item))
        self.count += 1

    def learn(self, partition: int, applied: int) -> None:
        """Where the partition's numbering stands (the last number applied, 0 for none): from
        here on its events may be released."""
        lane = self.lanes.setdefault(partition, _Lane())
        lane.applied = max(0, applied)
        lane.gap_since = None

    def unlearn(self, partitions: Iterable[int]) -> None:
        """Hold these partitions' events until `learn` is called again (their events stay held)."""
        for partition in partitions:
            lane = self.lanes.get(partition)
            if lane is not None:
                lane.applied = None
                lane.gap_since = None

    def applied(self, partition: int) -> int | None:
        lane = self.lanes.get(partition)
        return None if lane is None else lane.applied

    def release(self, drained: Callable[[str, int], bool], now: float) -> list[Any]:
        """Every event whose turn has come, per partition: the unnumbered ones that can no longer
        be preceded by one still unread (judged while the numbered ones are still held, as they
        were before numbers), then the numbered ones in number order."""
        out: list[Any] = []
        for partition, lane in self.lanes.items():
            if lane.applied is not None:
                self._release_unnumbered(partition, lane, drained, out)
                self._release_numbered(partition, lane, drained, now, out)
        return out

    def _release_numbered(self, partition: int, lane: _Lane, drained: Callable[[str, int], bool], now: float,
                          out: list[Any]) -> None:
        heap = lane.numbered
        applied = lane.applied or 0
        while heap:
            head = heap[0]
            if head.pseq > applied + 1:
                # A number is missing: wait while it may still come, i.e. until every topic of the
                # partition has been read to its end for gap_timeout_s (or too much is held).
                over = self.count > self.max_held
                if not over and not all(drained(topic, partition) for topic in self.topics):
                    lane.gap_since = now
                    break
                if lane.gap_since is None:
                    lane.gap_since = now
                if not over and now - lane.gap_since < self.gap_timeout_s:
                    break
                self.skips.append(Skip(partition, applied + 1, head.pseq - 1, "held_limit" if over else "timeout"))
                applied = head.pseq - 1
            heapq.heappop(heap)
            lane.numbered_in[head.topic] -= 1
            self.count -= 1
            out.append(head.item)
            # At or below the last applied: a redelivery, released at once without moving on.
            if head.pseq > applied:
                applied = head.pseq
                lane.gap_since = None
        lane.applied = applied
        if not heap:
            lane.gap_since = None

    def _release_unnumbered(self, partition: int, lane: _Lane, drained: Callable[[str, int], bool],
                            out: list[Any]) -> None:
        queues = lane.unnumbered
        while True:
            heads = [queue[0] for queue in queues.values() if queue]
            if not heads:
                return
            # A topic with any event held (numbered or not) has been read up to it (offset order).
            waiting = any(not queues.get(topic) and not lane.numbered_in[topic] and not drained(topic, partition)
                          for topic in self.topics)
            if waiting and self.count <= self.max_held:
                return
            first = min(heads)
            queues[self.topics[first.rank]].popleft()
            self.count -= 1
            out.append(first.item)

    def take_skips(self) -> list[Skip]:
        skips, self.skips = self.skips, []
        return skips

    def drop(self, partitions: set[int]) -> int:
        """Forget what is held for partitions this worker no longer owns (they will be redelivered)."""
        dropped = 0
        for partition in partitions & set(self.lanes):
            lane = self.lanes.pop(partition)
            dropped += len(lane.numbered) + sum(len(queue) for queue in lane.unnumbered.values())
        for key in [key for key in self.last_offset if key[1] in partitions]:
            self.last_offset.pop(key, None)
            self.last_at.pop(key, None)
        self.count -= dropped
        return dropped
