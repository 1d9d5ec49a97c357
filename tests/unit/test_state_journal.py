"""The state journal: batches round-trip in chunks, only complete ones count, and a worker killed
while a batch's changelog messages go out leaves a state the journal tail makes whole again."""

import asyncio
from typing import Any

import pytest

from agents.ledger import Account
from stream.kafka.codecs import loads_state
from stream.kafka.journal import (
    THIS_BATCH,
    Checkpoints,
    Chunk,
    Entry,
    JournalError,
    decode_chunk,
    encode_batch,
    replay_tail,
    tail_start,
)
from stream.kafka.tables import Pin, PinnedTable
from stream.kafka.wal import StateLog


def test_a_batch_round_trips_through_its_chunks_in_order() -> None:
    entries = [Entry("accounts", f"IND-{n}", b"A" + bytes(range(256)) * 3) for n in range(40)]
    entries.append(Entry("payments", "ZF1", None))
    entries.append(Entry("indicators", "中文键", b""))
    records = encode_batch("w:1", entries, redo_from=17, max_chunk_bytes=4096)
    assert len(records) > 5 and all(len(r) < 4096 + 1024 for r in records)
    chunks = [decode_chunk(r) for r in records]
    assert [c.index for c in chunks] == list(range(len(records))) and {c.count for c in chunks} == {len(records)}
    assert {c.redo_from for c in chunks} == {17}
    assert [e for c in chunks for e in c.entries] == entries
    assert replay_tail(records) == (entries, 0)


def test_an_entry_bigger_than_a_chunk_travels_alone() -> None:
    big, small = Entry("t", "big", b"x" * 10_000), Entry("t", "small", b"y")
    records = encode_batch("w:1", [small, big, small], redo_from=THIS_BATCH, max_chunk_bytes=1000)
    assert [decode_chunk(r).entries for r in records] == [(small,), (big,), (small,)]


def test_a_batch_cut_short_by_a_crash_is_ignored_and_earlier_ones_are_applied() -> None:
    first = encode_batch("w:1", [Entry("t", "a", b"1")], redo_from=THIS_BATCH)
    second = encode_batch("w:2", [Entry("t", "a", b"2"), Entry("t", "b", b"3")], redo_from=THIS_BATCH,
                          max_chunk_bytes=8)
    assert len(second) == 2
    assert replay_tail([*first, second[0]]) == ([Entry("t", "a", b"1")], 1)


def test_the_tail_starts_at_the_oldest_batch_not_checkpointed_else_at_the_last_batch() -> None:
    assert tail_start(41, Chunk("w:9", 2, 3, redo_from=30, entries=())) == 30
    assert tail_start(41, Chunk("w:9", 2, 3, redo_from=THIS_BATCH, entries=())) == 39


@pytest.mark.parametrize("raw", [b"", b"nope", b"TJ1\x00\x00\x00\x02{}", b"TJ1\x00\x00\x00\x02[]",
                                 encode_batch("w:1", [Entry("t", "k", b"v")], 0)[0][:-1]])
def test_a_record_that_is_not_a_journal_record_is_refused(raw: bytes) -> None:
    with pytest.raises(JournalError):
        decode_chunk(raw)


class _Sent:
    """A delivery (faust's FutureMessage) with an outcome the test sets."""

    def __init__(self) -> None:
        self.acked = False
        self.error: BaseException | None = None

    def done(self) -> bool:
        return self.acked or self.error is not None

    def cancelled(self) -> bool:
        return False

    def exception(self) -> BaseException | None:
        return self.error


def test_checkpoints_hold_the_oldest_batch_until_every_changelog_message_is_acknowledged() -> None:
    marks = Checkpoints()
    assert marks.redo_from(0) == THIS_BATCH
    one, two, three = _Sent(), _Sent(), _Sent()
    marks.add(0, 10, [one, two])
    marks.add(0, 12, [three])
    marks.add(1, 50, [_Sent()])
    one.acked = True
    assert marks.redo_from(0) == 10  # `two` is not acknowledged yet
    two.acked = True
    assert marks.redo_from(0) == 12
    three.error = RuntimeError("broker gone")
    assert marks.redo_from(0) == 12  # a failed send never counts
    marks.forget([1])
    assert marks.redo_from(1) == THIS_BATCH


class _Metadata:
    def __init__(self, offset: int) -> None:
        self.offset = offset


class _Journal:
    """faust's journal topic: records per partition; each send's future resolves to its offset."""

    def __init__(self) -> None:
        self.records: dict[int, list[bytes]] = {}

    async def send(self, value: bytes, partition: int) -> "asyncio.Future[_Metadata]":
        log = self.records.setdefault(partition, [])
        log.append(value)
        future: asyncio.Future[_Metadata] = asyncio.get_running_loop().create_future()
        future.set_result(_Metadata(len(log) - 1))
        return future


class _Changelog:
    """faust's Table as PinnedTable uses it; every changelog message kept in send order."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.sent: list[tuple[int, str, Any]] = []
        self.deliveries: list[_Sent] = []

    def send_changelog(self, partition: int, key: str, value: Any, value_serializer: str | None = None) -> _Sent:
        self.sent.append((partition, key, value))
        self.deliveries.append(_Sent())
        return self.deliveries[-1]


def _worker(journal: _Journal, writer: str) -> tuple[Pin, dict[str, PinnedTable], StateLog]:
    pin = Pin()
    tables = {name: PinnedTable(_Changelog(), pin, name=name) for name in ("accounts", "payments")}
    return pin, tables, StateLog(journal, list(tables.values()), writer_id=writer)


def _recovered(old: dict[str, PinnedTable], landed: int, new: dict[str, PinnedTable]) -> None:
    """faust's recovery: the first `landed` changelog messages, in the order they were sent."""
    sent = [(name, message) for name, table in old.items() for message in table._table.sent]
    for name, (_partition, key, value) in sent[:landed]:
        new[name]._table.data[key] = None if value is None else loads_state(value)


@pytest.mark.parametrize("landed", [0, 1, 2, 3])
def test_a_kill_between_changelog_messages_is_made_whole_by_the_journal_tail(landed: int) -> None:
    async def run() -> None:
        journal = _Journal()
        pin, old, log = _worker(journal, "a")
        pin.partition = 3
        old["accounts"]["IND-1"] = Account(amount=1000, allocated=0, reserved=0, spent=0, version=1)
        await log.write()
        for table in old.values():  # the first batch reached the changelogs
            for delivery in table._table.deliveries:
                delivery.acked = True
            table._table.sent.clear()
        # The second batch: a payment reserved on the account; the worker dies while its two
        # changelog messages go out (`landed` of them reach the broker).
        old["accounts"]["IND-1"] = Account(amount=1000, allocated=0, reserved=300, spent=0, version=2)
        old["payments"]["ZF1"] = "reserved 300"
        await log.write()
        assert len(journal.records[3]) == 2

        _pin, new, log2 = _worker(journal, "b")
        new["accounts"]._table.data["IND-1"] = Account(1000, 0, 0, 0, 1)
        _recovered(old, landed, new)
        records = journal.records[3]
        begin = tail_start(len(records) - 1, decode_chunk(records[-1]))
        entries, incomplete = replay_tail(records[begin:])
        assert begin == 1 and incomplete == 0  # batch one was checkpointed: only batch two is redone
        log2.restore(3, entries)
        assert dict(new["accounts"].items()) == {"IND-1": Account(1000, 0, 300, 0, 2)}
        assert dict(new["payments"].items()) == {"ZF1": "reserved 300"}
        # The new owner journals and checkpoints what it restored, as its own first batch.
        assert await log2.write() == 2 and len(journal.records[3]) == 3

    asyncio.run(run())
