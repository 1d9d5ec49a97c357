"""The offset gate: each input partition's events are let through in contiguous offset order.

After a rebalance a worker can receive, first, events it read before the rebalance (still in
faust's stream buffer) and only then the earlier events it had held, dropped and now reads again
from the last commit. Applied as they come, a later payment would overtake an earlier one. The
gate knows where reading restarts (the group's committed offset, read at assignment) and lets an
event through only when every earlier offset of its partition went through: later ones wait,
copies of offsets already let through are stale. Pure: the worker says when reading (re)starts.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Key = tuple[str, int]  # (topic, partition)


@dataclass(slots=True)
class Gate:
    """Per topic partition: the next offset to let through and the events waiting behind a gap."""

    next_offset: dict[Key, int] = field(default_factory=dict)
    ahead: dict[Key, dict[int, Any]] = field(default_factory=dict)
    open: bool = False  # closed until the worker knows where reading starts

    def close(self, forget: set[Key]) -> None:
        """A rebalance begins: hold everything until `reopen`; forget partitions given away."""
        self.open = False
        for key in forget:
            self.next_offset.pop(key, None)
            self.ahead.pop(key, None)

    def reopen(self, starts: Mapping[Key, int]) -> tuple[list[Any], list[Any]]:
        """Reading (re)starts at `starts` for partitions newly owned; kept ones go on where they were.

        A partition with no known start begins at the earliest offset held. Returns (events let
        through in offset order, stale copies to drop).
        """
        self.open = True
        for key, start in starts.items():
            self.next_offset.setdefault(key, start)
        passed: list[Any] = []
        stale: list[Any] = []
        for key in list(self.ahead):
            waiting = self.ahead[key]
            if key not in self.next_offset and waiting:
                self.next_offset[key] = min(waiting)
            start = self.next_offset.get(key, 0)
            for offset in [o for o in waiting if o < start]:
                stale.append(waiting.pop(offset))
            passed.extend(self._release(key))
        return passed, stale

    def offer(self, key: Key, offset: int, event: Any) -> tuple[list[Any], list[Any]]:
        """An event read: (events let through now, in offset order; stale copies)."""
        expected = self.next_offset.get(key)
        if self.open and expected is None:
            expected = self.next_offset[key] = offset  # a partition first seen now: start here
        if expected is not None and offset < expected:
            return [], [event]
        waiting = self.ahead.setdefault(key, {})
        if offset in waiting:
            return [], [event]  # the same offset twice while waiting: keep the first copy
        waiting[offset] = event
        if not self.open:
            return [], []
        return self._release(key), []

    def gaps(self) -> list[Key]:
        """Partitions with events waiting behind an offset not yet read."""
        return [key for key, waiting in self.ahead.items() if waiting]

    def _release(self, key: Key) -> list[Any]:
        waiting = self.ahead.get(key, {})
        expected = self.next_offset[key]
        passed = []
        while expected in waiting:
            passed.append(waiting.pop(expected))
            expected += 1
        self.next_offset[key] = expected
        return passed
