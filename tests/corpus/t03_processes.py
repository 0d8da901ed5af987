"""Тема 03: процессы, пулы, очереди и общая память."""

from corpus.runner import Variant, replace

NOTEBOOK = "03-processes"

VARIANTS = [
    # ------------------------------------------------------------------ split_range
    Variant("split_range", "remainder_to_last_chunk", '''
def split_range(start, stop, parts):
    if parts < 1:
        raise ValueError("parts < 1")
    length = max(0, stop - start)
    count = min(parts, length)
    if count == 0:
        return []
    step = length // count
    chunks = [(start + i * step, start + (i + 1) * step) for i in range(count)]
    chunks[-1] = (chunks[-1][0], stop)
    return chunks
''', message="длинные — первыми: остаток"),
    Variant("split_range", "empty_chunks_when_parts_exceed_length", '''
def split_range(start, stop, parts):
    if parts < 1:
        raise ValueError("parts < 1")
    length = max(0, stop - start)
    chunks, lo = [], start
    for i in range(parts):
        hi = lo + length // parts + (1 if i < length % parts else 0)
        chunks.append((lo, hi))
        lo = hi
    return chunks
''', message="Пустых кусков быть не должно"),
    Variant("split_range", "no_error_for_zero_parts", replace(
        '        raise ValueError(f"parts должно быть не меньше 1, получено {parts}")', "        return []"),
            message="ValueError"),
    Variant("split_range", "ceil_step_leaves_short_tail", '''
import math


def split_range(start, stop, parts):
    if parts < 1:
        raise ValueError("parts < 1")
    length = max(0, stop - start)
    if length == 0:
        return []
    step = math.ceil(length / min(parts, length))
    return [(lo, min(lo + step, stop)) for lo in range(start, stop, step)]
'''),
    Variant("split_range", "divmod_comprehension", valid=True, source='''
def split_range(start, stop, parts):
    if parts < 1:
        raise ValueError("на ноль кусков не разрезать")
    n = max(0, stop - start)
    k = min(parts, n)
    if k == 0:
        return []
    base, extra = divmod(n, k)
    bounds = [start]
    for i in range(k):
        bounds.append(bounds[-1] + base + (i < extra))
    return list(zip(bounds, bounds[1:]))
'''),
    # ------------------------------------------------------------------ count_primes_parallel
    Variant("count_primes_parallel", "one_worker", replace(
        "ProcessPoolExecutor(max_workers=workers)", "ProcessPoolExecutor(max_workers=1)"),
            message="max_workers=2"),
    Variant("count_primes_parallel", "default_pool_size", replace(
        "ProcessPoolExecutor(max_workers=workers)", "ProcessPoolExecutor()"), message="max_workers=3"),
    Variant("count_primes_parallel", "counted_in_the_kernel", '''
from course.procs import count_primes_range


def count_primes_parallel(limit, workers):
    parts = [count_primes_range(lo, hi) for lo, hi in split_range(2, limit, workers)]
    return sum(c for c, _ in parts), {pid for _, pid in parts}
''', message="pid дочерних процессов"),
    Variant("count_primes_parallel", "pool_never_closed", '''
from course.procs import count_primes_range


def count_primes_parallel(limit, workers):
    chunks = split_range(2, limit, workers)
    if not chunks:
        return 0, set()
    pool = ProcessPoolExecutor(max_workers=workers)
    parts = list(pool.map(count_primes_range, *zip(*chunks)))
    return sum(c for c, _ in parts), {pid for _, pid in parts}
''', message="закройте пул"),
    Variant("count_primes_parallel", "multiprocessing_pool", '''
import multiprocessing

from course.procs import count_primes_range


def count_primes_parallel(limit, workers):
    chunks = split_range(2, limit, workers)
    if not chunks:
        return 0, set()
    with multiprocessing.Pool(workers) as pool:
        parts = pool.starmap(count_primes_range, chunks)
    return sum(c for c, _ in parts), {pid for _, pid in parts}
''', message="ProcessPoolExecutor не создавался"),
    Variant("count_primes_parallel", "submit_and_as_completed", valid=True, source='''
from concurrent.futures import as_completed

from course.procs import count_primes_range


def count_primes_parallel(limit, workers):
    total, pids = 0, set()
    pieces = split_range(2, limit, workers)
    if not pieces:
        return total, pids
    with ProcessPoolExecutor(workers) as executor:
        futures = [executor.submit(count_primes_range, lo, hi) for lo, hi in pieces]
        for future in as_completed(futures):
            count, pid = future.result()
            total += count
            pids.add(pid)
    return total, pids
'''),
    # ------------------------------------------------------------------ map_in_batches
    Variant("map_in_batches", "floor_division", replace(
        "math.ceil(len(items) / max_messages)", "len(items) // max_messages"), message="округляйте вверх"),
    Variant("map_in_batches", "no_chunksize", replace(
        "pool.map(func, items, chunksize=chunk)", "pool.map(func, items)"), message="Пакуйте элементы"),
    Variant("map_in_batches", "chunksize_is_max_messages", replace(
        "chunksize=chunk", "chunksize=max_messages"), message="а не сколько задач"),
    Variant("map_in_batches", "local_loop", '''
def map_in_batches(pool, func, items, max_messages):
    return [func(x) for x in items]
'''),
    Variant("map_in_batches", "negative_floor_trick", valid=True, source='''
def map_in_batches(pool, func, items, max_messages):
    data = list(items)
    if len(data) == 0:
        return []
    size = -(-len(data) // max_messages)
    return [result for result in pool.map(func, data, chunksize=size)]
'''),
    # ------------------------------------------------------------------ squares_via_queue
    Variant("squares_via_queue", "poll_empty_after_sleep", '''
import time

from course.procs import STOP, square_consumer


def squares_via_queue(numbers, consumers):
    tasks, results = Queue(), Queue()
    children = [Process(target=square_consumer, args=(tasks, results)) for _ in range(consumers)]
    for child in children:
        child.start()
    for n in numbers:
        tasks.put(n)
    for _ in children:
        tasks.put(STOP)
    time.sleep(0.5)
    received = []
    while len(received) < len(numbers) and not results.empty():
        received.append(results.get())
    for child in children:
        child.join()
    return sorted((n, sq) for n, sq, _ in received), {pid for _, _, pid in received}
''', message="results.empty() после паузы", picture="items"),
    Variant("squares_via_queue", "one_consumer_too_few", replace(
        "for _ in range(consumers)]", "for _ in range(consumers - 1)]"), message="запущено 2 процессов"),
    Variant("squares_via_queue", "join_before_get", '''
from course.procs import STOP, square_consumer


def squares_via_queue(numbers, consumers):
    tasks, results = Queue(), Queue()
    children = [Process(target=square_consumer, args=(tasks, results)) for _ in range(consumers)]
    for child in children:
        child.start()
    for n in numbers:
        tasks.put(n)
    for _ in children:
        tasks.put(STOP)
    for child in children:
        child.join()
    received = [results.get() for _ in numbers]
    return sorted((n, sq) for n, sq, _ in received), {pid for _, _, pid in received}
''', message="Забирайте результаты ДО join()"),
    Variant("squares_via_queue", "one_stop_only", replace(
        "    for _ in children:\n        tasks.put(STOP)\n", "    tasks.put(STOP)\n"),
            message="по метке STOP на каждого"),
    Variant("squares_via_queue", "iter_sentinel_and_late_start", valid=True, source='''
from course.procs import STOP, square_consumer


def squares_via_queue(numbers, consumers):
    tasks, results = Queue(), Queue()
    for n in numbers:
        tasks.put(n)
    for _ in range(consumers):
        tasks.put(STOP)
    workers = []
    for _ in range(consumers):
        p = Process(target=square_consumer, args=(tasks, results))
        p.start()
        workers.append(p)
    triples = []
    while len(triples) < len(numbers):
        triples.append(results.get(timeout=30))
    for p in workers:
        p.join()
    return sorted(t[:2] for t in triples), set(t[2] for t in triples)
'''),
    # ------------------------------------------------------------------ next_ticket
    Variant("next_ticket", "value_read_after_lock", '''
def next_ticket(counter):
    with counter.get_lock():
        counter.value += 1
    return counter.value
''', message="прочитано уже после выхода из блокировки"),
    Variant("next_ticket", "value_has_its_own_lock", '''
def next_ticket(counter):
    counter.value += 1
    return counter.value
''', message="прибавок потерялись"),
    Variant("next_ticket", "threading_lock", '''
import threading

_tickets_lock = threading.Lock()


def next_ticket(counter):
    with _tickets_lock:
        counter.value += 1
        return counter.value
''', message="threading.Lock"),
    Variant("next_ticket", "new_process_lock_each_call", '''
import multiprocessing


def next_ticket(counter):
    with multiprocessing.Lock():
        counter.value = counter.value + 1
        return counter.value
''', message="прибавок потерялись"),
    Variant("next_ticket", "returns_old_value", '''
def next_ticket(counter):
    with counter.get_lock():
        number = counter.value
        counter.value = number + 1
        return number
''', message="два вызова next_ticket"),
    Variant("next_ticket", "value_as_context_manager", valid=True, source='''
def next_ticket(counter):
    with counter:
        mine = counter.value + 1
        counter.value = mine
    return mine
'''),
    Variant("next_ticket", "acquire_release", valid=True, source='''
def next_ticket(counter):
    lock = counter.get_lock()
    lock.acquire()
    try:
        counter.value = counter.value + 1
        ticket = counter.value
    finally:
        lock.release()
    return ticket
'''),
]
