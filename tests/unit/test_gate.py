"""The offset gate: events of a partition pass in contiguous offset order from where reading starts."""

from stream.kafka.gate import Gate

P = ("treasury.payment", 0)
S = ("treasury.settlement", 0)


def test_a_closed_gate_holds_everything_until_it_knows_where_reading_starts() -> None:
    gate = Gate()
    assert gate.offer(P, 12, "e12") == ([], []) and gate.offer(P, 10, "e10") == ([], [])
    passed, stale = gate.reopen({P: 10})
    assert passed == ["e10"] and stale == []  # 11 has not come: 12 waits behind it
    assert gate.offer(P, 11, "e11") == (["e11", "e12"], [])
    assert gate.next_offset[P] == 13


def test_after_a_rebalance_stale_reads_wait_for_the_earlier_events_read_again() -> None:
    """faust hands over events read before the rebalance (500, 501) before the ones re-read from the
    commit (498, 499): a kept partition goes on in offset order, and the second copies are stale."""
    gate = Gate()
    gate.reopen({P: 498})
    assert gate.offer(P, 498, "a498")[0] == ["a498"]
    gate.close(set())  # rebalance: this worker keeps the partition
    gate.offer(P, 500, "a500")
    gate.offer(P, 501, "a501")
    assert gate.reopen({})[0] == []  # kept: it goes on from 499, which has not come again yet
    assert gate.offer(P, 498, "b498") == ([], ["b498"])  # re-read from the commit: already through
    assert gate.offer(P, 499, "b499") == (["b499", "a500", "a501"], [])
    assert gate.offer(P, 500, "b500") == ([], ["b500"])


def test_a_partition_given_away_is_forgotten_and_starts_anew_when_it_comes_back() -> None:
    gate = Gate()
    gate.reopen({P: 0, S: 0})
    gate.offer(P, 0, "p0")
    gate.offer(P, 2, "p2")
    gate.close({P})
    assert gate.gaps() == [] and P not in gate.next_offset
    gate.reopen({P: 7})
    assert gate.offer(P, 7, "p7") == (["p7"], [])


def test_a_gap_is_reported_until_the_missing_offset_is_read_again() -> None:
    gate = Gate()
    gate.reopen({S: 3})
    gate.offer(S, 5, "s5")
    assert gate.gaps() == [S] and gate.next_offset[S] == 3  # the worker seeks back to 3 (app.py)
    gate.offer(S, 3, "s3")
    assert gate.offer(S, 4, "s4") == (["s4", "s5"], []) and gate.gaps() == []


def test_a_partition_without_a_known_start_begins_at_its_first_event() -> None:
    gate = Gate()
    gate.reopen({})
    assert gate.offer(S, 40, "s40") == (["s40"], [])
    assert gate.offer(S, 40, "again") == ([], ["again"])
