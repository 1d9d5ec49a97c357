"""PinnedTable: writes land in the store at once and reach the changelog once per key per batch."""

from typing import Any

from stream.kafka.tables import Pin, PinnedTable


class FakeTable:
    """faust's Table as PinnedTable uses it: a `data` store and `send_changelog`."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.sent: list[tuple[int, str, Any]] = []

    def send_changelog(self, partition: int, key: str, value: Any) -> None:
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

    assert pinned.send_changes() == 3
    assert table.sent == [(2, "IND-1", 20), (3, "IND-2", "a"), (3, "GONE", None)]  # None: a tombstone
    assert pinned.send_changes() == 0 and len(table.sent) == 3  # each change is sent once


def test_written_and_touched_keys_are_dirty_until_taken() -> None:
    pinned = PinnedTable(FakeTable(), Pin())
    pinned["A"] = 1
    pinned.touch("B")  # not in the table: nothing to publish
    pinned["C"] = 2
    pinned.send_changes()
    pinned.touch("C")
    assert pinned.take_dirty() == {"A", "C"}
    assert pinned.take_dirty() == set()
