"""PinnedTable: writes land in the store at once and reach the changelog once per key per batch;
a key recovered as a tombstone is absent; PartitionScoped keeps each partition's copy apart."""

from typing import Any

import pytest

from stream.kafka.tables import PartitionScoped, Pin, PinnedTable


class FakeTable:
    """faust's Table as PinnedTable uses it: a `data` store and `send_changelog`."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.sent: list[tuple[int, str, Any]] = []

    def send_changelog(self, partition: int, key: str, value: Any, value_serializer: str | None = None) -> None:
        self.sent.append((partition, key, value))


def test_a_key_written_many_times_is_sent_once_with_its_last_value_to_its_pinned_partition() -> None:
    pin, table = Pin(), FakeTable()
    pinned = PinnedTable(table, pin)
    pin.partition = 2
    for reserved in range(1, 21):
        pinned["IND-1"] = reserved
    pin.partition = 3
    pinned["IND-2"] = "a"
    pinned["GONE"] = "b"
    del pinned["GONE"]
    assert pinned["IND-1"] == 20 and "GONE" not in pinned and table.sent == []  # nothing sent yet

    changes = pinned.take_changes()
    assert changes == [(2, "IND-1", 20), (3, "IND-2", "a"), (3, "GONE", None)]  # None: deleted
    assert pinned.take_changes() == []  # each change is taken once
    for partition, key, value in changes:
        pinned.send_change(partition, key, None if value is None else str(value).encode())
    assert table.sent == [(2, "IND-1", b"20"), (3, "IND-2", b"a"), (3, "GONE", None)]  # None: a tombstone


def test_written_and_touched_keys_are_dirty_until_taken() -> None:
    pinned = PinnedTable(FakeTable(), Pin(), track_changed=True)
    pinned["A"] = 1
    pinned.touch("B")  # not in the table: nothing to publish
    pinned["C"] = 2
    pinned.take_changes()
    pinned.touch("C")
    assert pinned.take_dirty() == {"A", "C"}
    assert pinned.take_dirty() == set()
    untracked = PinnedTable(FakeTable(), Pin())  # a table whose changes nobody publishes
    untracked["A"] = 1
    untracked.touch("A")
    assert untracked.take_dirty() == set()


def test_a_key_recovered_as_a_tombstone_is_absent() -> None:
    table = FakeTable()
    table.data.update({"gone": None, "kept": 2})  # what recovery leaves for a deleted key
    mapping = PinnedTable(table, Pin(), track_changed=True)
    assert "gone" not in mapping and mapping.get("gone") is None and mapping.get("gone", 7) == 7
    assert list(mapping) == ["kept"] and len(mapping) == 1 and dict(mapping.items()) == {"kept": 2}
    with pytest.raises(KeyError):
        mapping["gone"]
    with pytest.raises(KeyError):
        del mapping["gone"]
    assert table.sent == []
    mapping.touch("gone")
    assert mapping.take_dirty() == set()


def test_partition_scoped_keys_keep_each_partitions_copy_apart() -> None:
    table, pin = FakeTable(), Pin()
    scoped = PartitionScoped(PinnedTable(table, pin), pin)
    pin.partition = 1
    scoped["p"] = "one"
    pin.partition = 2
    assert "p" not in scoped
    scoped["p"] = "two"
    assert list(scoped) == ["p"] and scoped["p"] == "two"
    pin.partition = 1
    assert scoped["p"] == "one"


def test_a_restored_value_is_kept_and_taken_again_as_a_change_of_its_partition() -> None:
    table = FakeTable()
    table.data.update({"old": 1, "gone": 2})
    pinned = PinnedTable(table, Pin(), track_changed=True, name="accounts")
    pinned.restore(5, "old", 10)
    pinned.restore(5, "gone", None)
    pinned.restore(5, "new", 3)
    assert dict(pinned.items()) == {"old": 10, "new": 3}
    assert pinned.take_changes() == [(5, "old", 10), (5, "gone", None), (5, "new", 3)]
    assert pinned.take_dirty() == {"old", "new"}
