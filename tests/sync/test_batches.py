"""`chunks`: Jira's per-request limits and staff actions over many rows split the same way."""

import pytest

from incidents.sync.batches import chunks


def test_chunks_keep_order_and_leave_a_short_last_one():
    assert list(chunks(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]


def test_chunks_read_a_generator_lazily():
    consumed = []

    def numbers():
        for n in range(10):
            consumed.append(n)
            yield n

    first = next(chunks(numbers(), 4))
    assert first == [0, 1, 2, 3]
    assert consumed == [0, 1, 2, 3]


def test_nothing_gives_no_chunk_and_a_size_below_one_is_refused():
    assert list(chunks([], 5)) == []
    with pytest.raises(ValueError, match="at least one item"):
        list(chunks([1], 0))
