"""A faust table seen as a plain mapping whose changelog partition the caller pins.

faust picks a write's changelog partition from the event being iterated. Events released by the
aligner are processed later than they were received, so the worker pins the partition of the
event it is applying instead; recovery then restores each key to the partition that owns it.

Writes reach the changelog once per batch, not once per write: a key written twenty times in a
batch (an indicator's account, paid twenty times) is sent once, with its last value. The worker
takes the batch's changes (`take_changes()`), journals them whole (stream/kafka/wal.py), then
sends each (`send_change()`), all before it acks the batch's events, so what a commit covers is in
the changelog, as with a write per change.
"""

from collections.abc import Iterator, MutableMapping
from typing import Any


class Pin:
    """The partition whose event is being applied right now."""

    __slots__ = ("partition",)

    def __init__(self) -> None:
        self.partition = 0


class PinnedTable(MutableMapping[str, Any]):
    """Reads and writes a faust table's store; every write goes to the pinned changelog partition.

    With `track_changed`, keys written since the last `take_dirty()` are remembered (to publish
    balances and chain rows); only tables whose changes are published track them, so the others
    never grow a set of every key they ever wrote.
    """

    __slots__ = ("_dirty", "_pin", "_table", "_track", "_unsent", "name")

    def __init__(self, table: Any, pin: Pin, *, track_changed: bool = False, name: str = "") -> None:
        self.name = name  # how the journal names it (stream/kafka/journal.py)
        self._table = table
        self._pin = pin
        self._track = track_changed
        self._dirty: set[str] = set()
        self._unsent: dict[str, int] = {}  # key -> changelog partition, written since take_changes()

    def touch(self, key: str) -> None:
        """Count a key as changed even if it was not (a new owner re-publishes the balances it holds)."""
        if self._track and key in self:
            self._dirty.add(key)

    def take_dirty(self) -> set[str]:
        dirty, self._dirty = self._dirty, set()
        return dirty

    def take_changes(self) -> list[tuple[int, str, Any]]:
        """(changelog partition, key, value now) of each key written since the last call; None: deleted."""
        unsent, self._unsent = self._unsent, {}
        data = self._data
        return [(partition, key, data.get(key)) for key, partition in unsent.items()]

    def send_change(self, partition: int, key: str, encoded: bytes | None) -> Any:
        """One key's value to its changelog, encoded already (the journal encoded it); the delivery."""
        if encoded is None:
            return self._table.send_changelog(partition, key, None)  # a tombstone, as faust writes one
        return self._table.send_changelog(partition, key, encoded, value_serializer="raw")

    def restore(self, partition: int, key: str, value: Any) -> None:
        """A value from the journal (a batch the changelog may lack): kept, and to be sent again."""
        if value is None:
            self._data.pop(key, None)
        else:
            self._data[key] = value
            if self._track:
                self._dirty.add(key)
        self._unsent[key] = partition

    @property
    def _data(self) -> Any:
        return self._table.data  # the store faust recovers into

    # A key deleted before a crash comes back from the changelog as None (our tombstone is the
    # empty value, which faust's recovery stores as decoded): absent, to every reader.
    def __getitem__(self, key: str) -> Any:
        value = self._data[key]
        if value is None:
            raise KeyError(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        value = self._data.get(key)
        return default if value is None else value

    def __contains__(self, key: object) -> bool:
        return self._data.get(key) is not None

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = value
        self._unsent[key] = self._pin.partition
        if self._track:
            self._dirty.add(key)

    def __delitem__(self, key: str) -> None:
        if self._data.pop(key, None) is None:
            raise KeyError(key)
        self._unsent[key] = self._pin.partition

    def __iter__(self) -> Iterator[str]:
        return (key for key, value in self._data.items() if value is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class PartitionScoped(MutableMapping[str, Any]):
    """A partition's own copy of broadcast reference data inside a worker's shared table.

    Every partition reads the broadcast topics by itself, at its own pace; keys carry the
    partition so one partition's newer project version never shows in another's past.
    """

    __slots__ = ("_inner", "_pin")

    def __init__(self, inner: MutableMapping[str, Any], pin: Pin) -> None:
        self._inner = inner
        self._pin = pin

    def _key(self, key: str) -> str:
        return f"{self._pin.partition}\x1f{key}"

    def __getitem__(self, key: str) -> Any:
        return self._inner[self._key(key)]

    def get(self, key: str, default: Any = None) -> Any:
        return self._inner.get(self._key(key), default)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._key(key) in self._inner

    def __setitem__(self, key: str, value: Any) -> None:
        self._inner[self._key(key)] = value

    def __delitem__(self, key: str) -> None:
        del self._inner[self._key(key)]

    def __iter__(self) -> Iterator[str]:
        prefix = f"{self._pin.partition}\x1f"
        return (key[len(prefix):] for key in self._inner if key.startswith(prefix))

    def __len__(self) -> int:
        return sum(1 for _ in self)
