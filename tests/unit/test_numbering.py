"""The producer's partition sequence: which partition a key goes to, and numbers that go on."""

from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given
from hypothesis import strategies as st

from stream.kafka.numbering import Numbering, partition_of
from stream.kafka.topics import PSEQ_HEADER, SEQ_HEADER, pseq_of, sequence_of


@given(st.binary(min_size=1, max_size=64), st.integers(1, 64))
def test_a_key_goes_where_the_default_producer_and_the_workers_put_it(key: bytes, count: int) -> None:
    """produce.py numbers the partition it sends to; publish.py and aiokafka pick the same one."""
    every = list(range(count))
    assert partition_of(key, set(every)) == DefaultPartitioner()(key, every, every)  # type: ignore[arg-type]
    assert partition_of(key, list(reversed(every))) == partition_of(key, every)


def test_numbers_go_on_from_the_highest_found_per_partition() -> None:
    numbering = Numbering({0: 41, 2: 7})
    assert [numbering.take(0), numbering.take(0), numbering.take(1), numbering.take(2)] == [42, 43, 1, 8]
    assert numbering.last(0) == 43 and numbering.last(3) == 0


def test_the_partition_number_and_the_line_number_are_separate_headers() -> None:
    headers = [(SEQ_HEADER, b"120"), (PSEQ_HEADER, b"37")]
    assert (sequence_of(headers), pseq_of(headers)) == (120, 37)
    assert pseq_of([(SEQ_HEADER, b"120")]) == 0  # another producer's message: unnumbered
    assert pseq_of([(PSEQ_HEADER, b"-3")]) == 0 and pseq_of([(PSEQ_HEADER, b"x")]) == 0
    assert pseq_of({PSEQ_HEADER: b"5"}) == 5
