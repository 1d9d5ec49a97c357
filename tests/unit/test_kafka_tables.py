"""A faust table seen as a mapping: a key recovered as a tombstone is absent; partition-scoped copies."""

from typing import Any

import pytest

from stream.kafka.tables import PartitionScoped, Pin, PinnedTable


class FakeTable:
    """What PinnedTable uses of a faust table: its data and its changelog sender."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.sent: list[tuple[int, str, Any]] = []

    def send_changelog(self, partition: int, key: str, value: Any) -> None:
        self.sent.append((partition, key, value))


def test_a_key_recovered_as_a_tombstone_is_absent() -> None:
    table = FakeTable()
    table.data.update({"gone": None, "kept": 2})  # what recovery leaves for a deleted key
    mapping = PinnedTable(table, Pin())
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
