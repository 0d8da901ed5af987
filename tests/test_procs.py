"""course.procs: рабочие функции для процессов, счётчик сообщений пула, уборка детей."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import Pipe, Process, Queue, Value, shared_memory

import pytest

from course.procs import (
    STOP,
    CountingProcessPool,
    add_to_counter,
    count_primes_range,
    echo,
    fill_shared,
    increment_plain,
    is_prime,
    payload_size,
    reap_new_children,
    shout,
    square,
    square_consumer,
)
from course.workloads import count_primes


@pytest.fixture(autouse=True)
def no_children_left():
    yield
    assert not multiprocessing.active_children(), "тест оставил живые дочерние процессы"


def test_primes_match_workloads() -> None:
    assert [n for n in range(30) if is_prime(n)] == [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]
    assert count_primes_range(2, 10_000) == (count_primes(10_000), os.getpid())
    assert count_primes_range(-5, 2)[0] == 0
    assert count_primes_range(100, 1000)[0] == count_primes(1000) - count_primes(100)


def test_small_workers() -> None:
    assert square(-7) == 49
    assert payload_size(b"abc") == 3
    data = {"a": [1, 2]}
    assert echo(data) is data


def test_pool_runs_workers_in_children() -> None:
    with ProcessPoolExecutor(max_workers=2) as pool:
        parts = list(pool.map(count_primes_range, [2, 500], [500, 1000]))
    assert sum(count for count, _ in parts) == 168
    assert all(pid != os.getpid() for _, pid in parts)


def test_counting_pool_counts_messages_per_chunk() -> None:
    with CountingProcessPool(max_workers=2) as pool:
        assert list(pool.map(square, range(100), chunksize=10)) == [x * x for x in range(100)]
        assert pool.messages == 10
        assert pool.submit(square, 3).result() == 9
        assert pool.messages == 11


def test_square_consumer_stops_on_sentinel() -> None:
    tasks, results = Queue(), Queue()
    children = [Process(target=square_consumer, args=(tasks, results)) for _ in range(2)]
    for child in children:
        child.start()
    for n in range(50):
        tasks.put(n)
    for _ in children:
        tasks.put(STOP)
    got = [results.get(timeout=10) for _ in range(50)]
    for child in children:
        child.join(timeout=10)
        assert child.exitcode == 0
    assert sorted((n, sq) for n, sq, _ in got) == [(n, n * n) for n in range(50)]
    assert os.getpid() not in {pid for _, _, pid in got}


def _run_counter(processes: int, times: int, locked: bool) -> int:
    counter = Value("i", 0)
    args = (counter, times, counter.get_lock()) if locked else (counter, times)
    children = [Process(target=add_to_counter, args=args) for _ in range(processes)]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=20)
    return counter.value


def test_counter_with_lock_is_exact_and_without_loses() -> None:
    assert _run_counter(3, 300, locked=True) == 900
    # Вставленная пауза между чтением и записью делает потерю обязательной при наложении.
    assert _run_counter(3, 300, locked=False) < 900


def test_increment_plain_single_process_is_exact() -> None:
    counter, go = Value("i", 0), multiprocessing.Event()
    child = Process(target=increment_plain, args=(counter, 1000, go))
    child.start()
    go.set()
    child.join(timeout=10)
    assert counter.value == 1000


def test_fill_shared_writes_into_parent_memory() -> None:
    block = shared_memory.SharedMemory(create=True, size=4096)
    try:
        child = Process(target=fill_shared, args=(block.name, 100, 9))
        child.start()
        child.join(timeout=10)
        assert bytes(block.buf[:100]) == bytes([9]) * 100
        assert fill_shared(block.name, 1, 3) == os.getpid() and block.buf[0] == 3
    finally:
        block.close()
        block.unlink()


def test_shout_over_pipe() -> None:
    ours, theirs = Pipe()
    child = Process(target=shout, args=(theirs,))
    child.start()
    ours.send("abc")
    assert ours.recv() == "ABC"
    ours.send(STOP)
    child.join(timeout=10)
    assert child.exitcode == 0


def test_reap_new_children_kills_only_new_ones() -> None:
    tasks, results = Queue(), Queue()
    old = Process(target=square_consumer, args=(tasks, results))
    old.start()
    before = set(multiprocessing.active_children())
    forgotten = Process(target=square_consumer, args=(Queue(), results))
    forgotten.start()
    assert reap_new_children(before) == 1
    assert not forgotten.is_alive() and old.is_alive()
    tasks.put(STOP)
    old.join(timeout=10)
    assert reap_new_children() == 0


def test_ticket_rush_tells_a_locked_counter_from_broken_ones() -> None:
    import threading

    from course.procs import ticket_rush

    def locked(counter):
        with counter.get_lock():
            counter.value += 1
            return counter.value

    def read_after_release(counter):
        with counter.get_lock():
            counter.value += 1
        return counter.value

    thread_lock = threading.Lock()

    def thread_locked(counter):
        with thread_lock:
            counter.value += 1
            return counter.value

    mine, theirs, total = ticket_rush(locked)
    assert sorted(mine + theirs) == list(range(1, total + 1)) and len(mine) == 180 and theirs
    mine, theirs, total = ticket_rush(read_after_release)
    assert total == len(mine) + len(theirs) and len(set(mine + theirs)) < total  # целы, но не свои
    mine, theirs, total = ticket_rush(thread_locked)
    assert total < len(mine) + len(theirs)  # потерянные прибавки
    assert not multiprocessing.active_children()


def test_slow_square_consumer_answers_late_but_all() -> None:
    import time

    from course.procs import slow_square_consumer

    tasks, results = Queue(), Queue()
    child = Process(target=slow_square_consumer, args=(tasks, results, 0.3))
    child.start()
    for n in (3, 4, STOP):
        tasks.put(n)
    began = time.monotonic()
    got = [results.get(timeout=10) for _ in range(2)]
    child.join(10)
    assert [g[:2] for g in got] == [(3, 9), (4, 16)] and time.monotonic() - began >= 0.25
