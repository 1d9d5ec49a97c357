"""The aligner releases a partition's events in event-time order across topics."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from stream.kafka.align import Aligner

T0 = datetime(2022, 1, 1, tzinfo=UTC)
TOPICS = ("indicator", "payment", "settlement")


def test_waits_for_a_topic_that_is_not_drained() -> None:
    aligner = Aligner(TOPICS)
    aligner.add("payment", 0, 0, T0 + timedelta(hours=2), "pay")
    assert aligner.release(lambda topic, p: topic == "settlement") == []  # indicator may still come
    aligner.add("indicator", 0, 0, T0 + timedelta(hours=1), "ind")
    assert aligner.release(lambda topic, p: topic == "settlement") == ["ind"]  # payment: indicator empty again
    assert aligner.release(lambda topic, p: True) == ["pay"]


def test_equal_times_follow_topic_rank_then_offset() -> None:
    aligner = Aligner(TOPICS)
    for offset, topic in enumerate(("settlement", "payment", "indicator")):
        aligner.add(topic, 0, offset, T0, topic)
    assert aligner.release(lambda topic, p: True) == ["indicator", "payment", "settlement"]


def test_an_event_without_time_keeps_its_place_in_its_topic() -> None:
    aligner = Aligner(TOPICS)
    aligner.add("payment", 0, 0, T0 + timedelta(hours=3), "a")
    aligner.add("payment", 0, 1, None, "bad")
    aligner.add("indicator", 0, 0, T0 + timedelta(hours=4), "i")
    assert aligner.release(lambda topic, p: True) == ["a", "bad", "i"]


def test_too_much_held_releases_without_waiting() -> None:
    aligner = Aligner(TOPICS, max_held=2)
    for offset in range(3):
        aligner.add("payment", 0, offset, T0 + timedelta(minutes=offset), offset)
    assert aligner.release(lambda topic, p: False) == [0]
    assert aligner.count == 2


def test_drop_forgets_revoked_partitions() -> None:
    aligner = Aligner(TOPICS)
    aligner.add("payment", 1, 5, T0, "x")
    aligner.add("payment", 2, 5, T0, "y")
    assert aligner.drop({1}) == 1
    assert aligner.release(lambda topic, p: True) == ["y"]


@given(st.lists(st.tuples(st.sampled_from(TOPICS), st.integers(0, 10_000)), max_size=60), st.randoms())
def test_any_delivery_interleaving_gives_the_file_order(events: list[tuple[str, int]], rnd: object) -> None:
    """Per-topic queues delivered in any interleaving, released once drained, come out sorted."""
    ordered = sorted(enumerate(events), key=lambda e: (e[1][1], TOPICS.index(e[1][0]), e[0]))
    per_topic: dict[str, list[tuple[int, int]]] = {t: [] for t in TOPICS}
    for index, (topic, minute) in sorted(enumerate(events), key=lambda e: (e[1][1], e[0])):
        per_topic[topic].append((index, minute))
    aligner = Aligner(TOPICS)
    cursors = {t: 0 for t in TOPICS}
    out: list[int] = []
    while any(cursors[t] < len(per_topic[t]) for t in TOPICS):
        topic = rnd.choice([t for t in TOPICS if cursors[t] < len(per_topic[t])])  # type: ignore[attr-defined]
        index, minute = per_topic[topic][cursors[topic]]
        aligner.add(topic, 0, cursors[topic], T0 + timedelta(minutes=minute), index)
        cursors[topic] += 1
        out += aligner.release(lambda t, p: cursors[t] >= len(per_topic[t]))
    out += aligner.release(lambda t, p: True)
    def file_position(x: tuple[int, tuple[str, int]]) -> tuple[int, int, int]:
        index, (topic, minute) = x
        return minute, TOPICS.index(topic), per_topic[topic].index((index, minute))

    expected = [i for i, _ in sorted(enumerate(events), key=file_position)]
    assert out == expected
    assert len(ordered) == len(out)


def test_source_sequence_wins_over_event_time() -> None:
    """A late line (earlier time, later in the file) stays where the file put it."""
    aligner = Aligner(TOPICS)
    aligner.add("payment", 0, 0, T0 + timedelta(hours=5), "first", seq=1)
    aligner.add("settlement", 0, 0, T0 + timedelta(hours=1), "late", seq=2)
    assert aligner.release(lambda topic, p: True) == ["first", "late"]
