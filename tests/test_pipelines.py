"""course.pipelines: ленивый вход, счётчик вытянутых элементов, пик памяти, exhaust."""

from __future__ import annotations

import itertools
import tracemalloc

import pytest

from course.pipelines import (
    CountingIterator,
    exhaust,
    format_bytes,
    log_line,
    log_lines,
    peak_memory,
)


def test_log_lines_are_deterministic_and_lazy() -> None:
    assert list(log_lines(3)) == [log_line(0), log_line(1), log_line(2)]
    assert list(log_lines(2, start=5)) == [log_line(5), log_line(6)]
    assert log_line(8).split()[1] == "ERROR" and log_line(5).split()[1] == "WARN"
    assert sum("ERROR" in line for line in log_lines(1000)) == 100
    endless = log_lines()
    assert list(itertools.islice(endless, 2)) == [log_line(0), log_line(1)]
    assert next(endless) == log_line(2)


def test_counting_iterator_counts_and_brakes() -> None:
    source = CountingIterator(range(10))
    assert iter(source) is source
    assert list(itertools.islice(source, 3)) == [0, 1, 2] and source.pulled == 3
    assert list(source) == list(range(3, 10)) and source.pulled == 10
    endless = CountingIterator(itertools.count(), limit=5)
    with pytest.raises(RuntimeError, match="больше 5"):
        list(endless)
    assert endless.pulled == 5


def test_peak_memory_tells_list_from_generator() -> None:
    total, lazy_peak = peak_memory(lambda: sum(len(line) for line in log_lines(50_000)))
    length, list_peak = peak_memory(lambda: len(list(log_lines(50_000))))
    assert length == 50_000 and total > 0
    assert lazy_peak < 50_000 < 1_000_000 < list_peak
    assert not tracemalloc.is_tracing()


def test_peak_memory_keeps_outer_tracing() -> None:
    tracemalloc.start()
    try:
        result, peak = peak_memory(lambda: [0] * 100_000)
        assert len(result) == 100_000 and peak >= 800_000
        assert tracemalloc.is_tracing()
    finally:
        tracemalloc.stop()


def test_exhaust_keeps_return_value() -> None:
    def gen():
        yield 1
        yield 2
        return "готово"

    assert exhaust(gen()) == ([1, 2], "готово")
    assert exhaust(x for x in ()) == ([], None)


def test_format_bytes() -> None:
    assert format_bytes(512) == "512 Б"
    assert format_bytes(3 * 1024 + 400) == "3.4 КБ"
    assert format_bytes(12 * 1024**2) == "12.0 МБ"
