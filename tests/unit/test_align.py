"""The aligner: numbered events in partition sequence order, unnumbered ones in event-time order."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from stream.kafka.align import Aligner, Skip

T0 = datetime(2022, 1, 1, tzinfo=UTC)
TOPICS = ("indicator", "payment", "settlement")


def _learned(*partitions: int, **options: int) -> Aligner:
    """An aligner that knows where each partition's numbering stands (nothing applied yet)."""
    aligner = Aligner(TOPICS, **options)
    for partition in partitions or (0,):
        aligner.learn(partition, 0)
    return aligner


def test_waits_for_a_topic_that_is_not_drained() -> None:
    aligner = _learned()
    aligner.add("payment", 0, 0, T0 + timedelta(hours=2), "pay")
    assert aligner.release(lambda topic, p: topic == "settlement", 0.0) == []  # indicator may still come
    aligner.add("indicator", 0, 0, T0 + timedelta(hours=1), "ind")
    assert aligner.release(lambda topic, p: topic == "settlement", 0.0) == ["ind"]  # payment: indicator empty again
    assert aligner.release(lambda topic, p: True, 0.0) == ["pay"]


def test_equal_times_follow_topic_rank_then_offset() -> None:
    aligner = _learned()
    for offset, topic in enumerate(("settlement", "payment", "indicator")):
        aligner.add(topic, 0, offset, T0, topic)
    assert aligner.release(lambda topic, p: True, 0.0) == ["indicator", "payment", "settlement"]


def test_an_event_without_time_keeps_its_place_in_its_topic() -> None:
    aligner = _learned()
    aligner.add("payment", 0, 0, T0 + timedelta(hours=3), "a")
    aligner.add("payment", 0, 1, None, "bad")
    aligner.add("indicator", 0, 0, T0 + timedelta(hours=4), "i")
    assert aligner.release(lambda topic, p: True, 0.0) == ["a", "bad", "i"]


def test_too_much_held_releases_without_waiting() -> None:
    aligner = _learned(max_held=2)
    for offset in range(3):
        aligner.add("payment", 0, offset, T0 + timedelta(minutes=offset), offset)
    assert aligner.release(lambda topic, p: False, 0.0) == [0]
    assert aligner.count == 2


def test_drop_forgets_revoked_partitions() -> None:
    aligner = _learned(1, 2)
    aligner.add("payment", 1, 5, T0, "x")
    aligner.add("payment", 2, 5, T0, "y")
    assert aligner.drop({1}) == 1
    assert aligner.release(lambda topic, p: True, 0.0) == ["y"]


@given(st.lists(st.tuples(st.sampled_from(TOPICS), st.integers(0, 10_000)), max_size=60), st.randoms())
def test_any_delivery_interleaving_gives_the_file_order(events: list[tuple[str, int]], rnd: object) -> None:
    """Per-topic queues delivered in any interleaving, released once drained, come out sorted."""
    ordered = sorted(enumerate(events), key=lambda e: (e[1][1], TOPICS.index(e[1][0]), e[0]))
    per_topic: dict[str, list[tuple[int, int]]] = {t: [] for t in TOPICS}
    for index, (topic, minute) in sorted(enumerate(events), key=lambda e: (e[1][1], e[0])):
        per_topic[topic].append((index, minute))
    aligner = _learned()
    cursors = {t: 0 for t in TOPICS}
    out: list[int] = []
    while any(cursors[t] < len(per_topic[t]) for t in TOPICS):
        topic = rnd.choice([t for t in TOPICS if cursors[t] < len(per_topic[t])])  # type: ignore[attr-defined]
        index, minute = per_topic[topic][cursors[topic]]
        aligner.add(topic, 0, cursors[topic], T0 + timedelta(minutes=minute), index)
        cursors[topic] += 1
        out += aligner.release(lambda t, p: cursors[t] >= len(per_topic[t]), 0.0)
    out += aligner.release(lambda t, p: True, 0.0)
    def file_position(x: tuple[int, tuple[str, int]]) -> tuple[int, int, int]:
        index, (topic, minute) = x
        return minute, TOPICS.index(topic), per_topic[topic].index((index, minute))

    expected = [i for i, _ in sorted(enumerate(events), key=file_position)]
    assert out == expected
    assert len(ordered) == len(out)


def test_unnumbered_source_sequence_wins_over_event_time() -> None:
    """A late line (earlier time, later in the file) stays where the file put it."""
    aligner = _learned()
    aligner.add("payment", 0, 0, T0 + timedelta(hours=5), "first", seq=1)
    aligner.add("settlement", 0, 0, T0 + timedelta(hours=1), "late", seq=2)
    assert aligner.release(lambda topic, p: True, 0.0) == ["first", "late"]


# --- partition sequence numbers (header treasury-pseq) ----------------------------------------

NEVER_DRAINED = lambda topic, p: False  # noqa: E731  (a producer still writing: nothing is ever drained)
ALL_DRAINED = lambda topic, p: True  # noqa: E731


def _numbered(aligner: Aligner, partition: int, *events: tuple[str, int]) -> None:
    """Add (topic, pseq) events; each topic's offsets follow arrival, as Kafka's do."""
    offsets: dict[str, int] = {}
    for topic, pseq in events:
        offsets[topic] = offsets.get(topic, -1) + 1
        # Event time deliberately against the number: numbers win, time plays no part.
        aligner.add(topic, partition, offsets[topic], T0 - timedelta(minutes=pseq), f"{partition}:{pseq}", pseq=pseq)


def test_numbered_events_come_out_in_number_order_without_any_topic_drained() -> None:
    aligner = _learned()
    _numbered(aligner, 0, ("settlement", 3), ("payment", 2), ("payment", 4))
    assert aligner.release(NEVER_DRAINED, 0.0) == []  # 1 has not come
    _numbered(aligner, 0, ("indicator", 1))
    assert aligner.release(NEVER_DRAINED, 0.0) == ["0:1", "0:2", "0:3", "0:4"]
    assert aligner.applied(0) == 4 and aligner.count == 0


def test_a_missing_number_is_waited_for_though_every_topic_looks_drained() -> None:
    """The old heuristic's failure: a topic looks drained while its earlier line is in flight."""
    aligner = _learned()
    _numbered(aligner, 0, ("payment", 1), ("payment", 3))
    assert aligner.release(ALL_DRAINED, 0.0) == ["0:1"]
    assert aligner.release(ALL_DRAINED, 29.9) == []
    _numbered(aligner, 0, ("settlement", 2))
    assert aligner.release(ALL_DRAINED, 29.9) == ["0:2", "0:3"]
    assert aligner.take_skips() == []


def test_a_missing_number_is_given_up_after_the_gap_timeout() -> None:
    aligner = _learned()
    _numbered(aligner, 0, ("payment", 1), ("payment", 3), ("settlement", 4))
    assert aligner.release(ALL_DRAINED, 100.0) == ["0:1"]
    assert aligner.release(ALL_DRAINED, 129.9) == []
    assert aligner.release(ALL_DRAINED, 130.0) == ["0:3", "0:4"]
    assert aligner.take_skips() == [Skip(0, 2, 2, "timeout")]
    assert aligner.take_skips() == []  # reported once
    # The lost number turns up after all: applied now, like a redelivery (nothing waits for it).
    _numbered(aligner, 0, ("settlement", 2), ("payment", 5))
    assert aligner.release(NEVER_DRAINED, 131.0) == ["0:2", "0:5"]
    assert aligner.applied(0) == 5


def test_the_gap_clock_runs_only_while_every_topic_is_read_to_its_end() -> None:
    """The missing number may still be unread (or the broker away): no timeout while so."""
    aligner = _learned(gap_timeout_s=30)
    _numbered(aligner, 0, ("payment", 2))
    assert aligner.release(NEVER_DRAINED, 0.0) == []
    assert aligner.release(NEVER_DRAINED, 1000.0) == []
    one_behind = lambda topic, p: topic != "indicator"  # noqa: E731
    assert aligner.release(ALL_DRAINED, 1001.0) == []  # the clock starts here
    assert aligner.release(one_behind, 1020.0) == []  # and starts again here
    assert aligner.release(ALL_DRAINED, 1049.0) == []
    assert aligner.release(ALL_DRAINED, 1050.0) == ["0:2"]
    assert aligner.take_skips() == [Skip(0, 1, 1, "timeout")]


def test_too_much_held_gives_up_on_a_gap_at_once() -> None:
    aligner = _learned(max_held=2)
    _numbered(aligner, 0, ("payment", 5), ("payment", 6), ("payment", 7))
    assert aligner.release(NEVER_DRAINED, 0.0) == ["0:5", "0:6", "0:7"]
    assert aligner.take_skips() == [Skip(0, 1, 4, "held_limit")]


def test_redelivered_numbers_are_released_at_once_and_do_not_move_the_count_back() -> None:
    aligner = Aligner(TOPICS)
    aligner.learn(0, 10)  # numbers 1..10 applied before a crash: their effects are in the state
    _numbered(aligner, 0, ("payment", 9), ("payment", 12), ("settlement", 7))
    assert aligner.release(NEVER_DRAINED, 0.0) == ["0:7", "0:9"]  # 11 missing: 12 waits
    _numbered(aligner, 0, ("indicator", 11))
    assert aligner.release(NEVER_DRAINED, 0.0) == ["0:11", "0:12"]
    assert aligner.applied(0) == 12


def test_nothing_of_a_partition_is_released_before_its_numbering_is_learned() -> None:
    aligner = Aligner(TOPICS)
    _numbered(aligner, 0, ("payment", 4))
    aligner.add("settlement", 0, 0, T0, "poison")
    assert aligner.release(ALL_DRAINED, 1e9) == []
    aligner.learn(0, 3)
    assert aligner.release(ALL_DRAINED, 1e9) == ["poison", "0:4"]
    # After a rebalance: held again until learned again (the table recovered meanwhile).
    aligner.unlearn({0})
    _numbered(aligner, 0, ("payment", 5))
    assert aligner.release(ALL_DRAINED, 1e9) == []
    aligner.learn(0, 4)
    assert aligner.release(ALL_DRAINED, 1e9) == ["0:5"]


def test_unnumbered_events_neither_block_nor_reorder_numbered_ones() -> None:
    """Poison (no header) between numbered events of the same topics: the numbered ones come out
    in number order at once; the unnumbered ones keep the older rule (every topic has an event
    held, or is drained) and go when it allows."""
    aligner = _learned()
    _numbered(aligner, 0, ("payment", 2))
    aligner.add("payment", 0, 1, None, "poison-p")
    aligner.add("settlement", 0, 0, None, "poison-s")
    _numbered(aligner, 0, ("settlement", 3), ("indicator", 1), ("payment", 4))
    out = aligner.release(NEVER_DRAINED, 0.0)
    assert [x for x in out if not x.startswith("poison")] == ["0:1", "0:2", "0:3", "0:4"]
    # Every topic had an event held, so the poison went too; nothing numbered waited for it.
    assert sorted(x for x in out if x.startswith("poison")) == ["poison-p", "poison-s"]
    aligner.add("payment", 0, 9, None, "poison-late")
    assert aligner.release(NEVER_DRAINED, 0.0) == []  # indicator and settlement may still send one
    _numbered(aligner, 0, ("payment", 5))
    assert aligner.release(NEVER_DRAINED, 0.0) == ["0:5"]
    assert aligner.release(ALL_DRAINED, 0.0) == ["poison-late"]


def test_partitions_are_numbered_and_waited_for_independently() -> None:
    aligner = _learned(0, 1)
    _numbered(aligner, 1, ("payment", 2), ("payment", 3))
    _numbered(aligner, 0, ("payment", 2), ("indicator", 1))
    assert aligner.release(ALL_DRAINED, 0.0) == ["0:1", "0:2"]  # partition 1 waits for its own 1
    _numbered(aligner, 1, ("settlement", 1))
    assert aligner.release(ALL_DRAINED, 0.0) == ["1:1", "1:2", "1:3"]
    assert aligner.drop({1}) == 0 and aligner.applied(1) is None and aligner.applied(0) == 2


@given(st.lists(st.lists(st.sampled_from(TOPICS), max_size=40), min_size=1, max_size=3), st.randoms())
def test_any_delivery_interleaving_gives_each_partitions_number_order(
    topics_of: list[list[str]], rnd: object
) -> None:
    """Each partition's numbers 1..n spread over the topics (each topic in number order, as a
    producer writes them), delivered in any interleaving, with drained answers at random (the
    heuristic's mistakes): every partition comes out exactly 1..n, and nothing is given up."""
    queues = [(partition, topic, [n for n, t in enumerate(topics, 1) if t == topic])
              for partition, topics in enumerate(topics_of) for topic in TOPICS]
    aligner = _learned(*range(len(topics_of)))
    out: list[str] = []
    offsets = {(p, t): 0 for p, t, _ in queues}
    while any(numbers for _, _, numbers in queues):
        partition, topic, numbers = rnd.choice([q for q in queues if q[2]])  # type: ignore[attr-defined]
        aligner.add(topic, partition, offsets[(partition, topic)], T0, f"{partition}:{numbers[0]}", pseq=numbers[0])
        offsets[(partition, topic)] += 1
        numbers.pop(0)
        out += aligner.release(lambda t, p: rnd.random() < 0.5, 0.0)  # type: ignore[attr-defined]
    for partition, topics in enumerate(topics_of):
        mine = [x for x in out if x.startswith(f"{partition}:")]
        assert mine == [f"{partition}:{n}" for n in range(1, len(topics) + 1)]
    assert aligner.count == 0 and aligner.take_skips() == []
