"""Тема 04: примитивы синхронизации потоков."""

from corpus.runner import Variant, replace

NOTEBOOK = "04-sync"

VARIANTS = [
    # ------------------------------------------------------------------ account_safe
    Variant("account_safe", "no_lock_at_all", replace(
        "        with self._lock:\n            self.balance += amount", "        self.balance += amount"),
        picture="race"),
    Variant("account_safe", "check_outside_lock", '''
class Account:
    def __init__(self, balance=0):
        self.balance = balance
        self._lock = threading.Lock()

    def deposit(self, amount):
        with self._lock:
            self.balance += amount

    def withdraw(self, amount):
        if self.balance < amount:
            raise ValueError("мало денег")
        with self._lock:
            self.balance -= amount
''', picture="race"),
    Variant("account_safe", "new_lock_every_call", '''
class Account:
    def __init__(self, balance=0):
        self.balance = balance

    def deposit(self, amount):
        with threading.Lock():
            self.balance += amount

    def withdraw(self, amount):
        with threading.Lock():
            if self.balance < amount:
                raise ValueError("мало денег")
            self.balance -= amount
''', message="одной threading.Lock, созданной в __init__", picture="race"),
    Variant("account_safe", "separate_locks_for_deposit_and_withdraw", '''
class Account:
    def __init__(self, balance=0):
        self.balance = balance
        self._in = threading.Lock()
        self._out = threading.Lock()

    def deposit(self, amount):
        with self._in:
            self.balance += amount

    def withdraw(self, amount):
        with self._out:
            if self.balance < amount:
                raise ValueError("мало денег")
            self.balance -= amount
''', message="одну и ту же блокировку", picture="race"),
    Variant("account_safe", "rlock_and_condition", valid=True, source='''
class Account:
    def __init__(self, balance=0):
        self.balance = balance
        self._guard = threading.RLock()

    def deposit(self, amount):
        self._guard.acquire()
        try:
            self.balance = self.balance + amount
        finally:
            self._guard.release()

    def withdraw(self, amount):
        with self._guard:
            if amount > self.balance:
                raise ValueError(f"не хватает: {self.balance} < {amount}")
            self.balance = self.balance - amount
'''),
    # ------------------------------------------------------------------ transfer
    Variant("transfer", "balance_checked_before_locks", '''
def transfer(src, dst, amount):
    if src.balance < amount:
        raise ValueError("не хватает денег")
    if src is dst:
        return
    first, second = sorted((src, dst), key=lambda acc: acc.number)
    with first.lock, second.lock:
        src.balance -= amount
        dst.balance += amount
''', message="в минус"),
    Variant("transfer", "no_lock_at_all", replace(
        "    with first.lock, second.lock:\n", "    if first is not second:\n"), message="блокировк"),
    Variant("transfer", "src_then_dst_order", replace(
        "sorted((src, dst), key=lambda account: account.number)", "(src, dst)"), message="Взаимоблокировка",
        picture="deadlock"),
    Variant("transfer", "self_transfer_not_handled", '''
def transfer(src, dst, amount):
    first, second = sorted((src, dst), key=lambda account: account.number)
    with first.lock:
        with second.lock:
            if src.balance < amount:
                raise ValueError("не хватает денег")
            src.balance -= amount
            dst.balance += amount
''', message="самому себе", picture="deadlock"),
    Variant("transfer", "only_source_locked", '''
def transfer(src, dst, amount):
    with src.lock:
        if src.balance < amount:
            raise ValueError("не хватает денег")
        src.balance -= amount
    if src is not dst:
        with dst.lock:
            dst.balance += amount
    else:
        src.balance += amount
''', message="в пути"),
    Variant("transfer", "min_max_nested_with", valid=True, source='''
def transfer(src, dst, amount):
    if src is dst:
        locks = [src.lock]
    else:
        low = min(src, dst, key=lambda acc: acc.number)
        high = max(src, dst, key=lambda acc: acc.number)
        locks = [low.lock, high.lock]
    for lock in locks:
        lock.acquire()
    try:
        if amount > src.balance:
            raise ValueError("недостаточно средств")
        src.balance -= amount
        dst.balance += amount
    finally:
        for lock in reversed(locks):
            lock.release()
'''),
    # ------------------------------------------------------------------ polite_work (livelock)
    Variant("polite_work", "fixed_pause", replace(
        "sleep(rng.uniform(0, min(1.0, 0.01 * 2**attempt)))", "sleep(0.05)"), message="активная блокировка"),
    Variant("polite_work", "no_pause_at_all", replace(
        "        sleep(rng.uniform(0, min(1.0, 0.01 * 2**attempt)))\n", ""), message="активная блокировка"),
    Variant("polite_work", "module_random", '''
import random


def polite_work(first, second, work, rng, sleep, max_attempts=30):
    for attempt in range(1, max_attempts + 1):
        with first:
            if second.acquire(timeout=0.05):
                try:
                    work()
                    return attempt
                finally:
                    second.release()
        sleep(random.uniform(0, min(1.0, 0.01 * 2 ** attempt)))
    raise RuntimeError("не удалось")
''', message="а не из модуля random"),
    Variant("polite_work", "sleeps_holding_first", '''
def polite_work(first, second, work, rng, sleep, max_attempts=30):
    for attempt in range(1, max_attempts + 1):
        with first:
            if second.acquire(timeout=0.05):
                work()
                second.release()
                return attempt
            sleep(rng.uniform(0, min(1.0, 0.01 * 2 ** attempt)))
    raise RuntimeError("не удалось")
''', message="Отпустите first и только потом"),
    Variant("polite_work", "random_but_not_growing", replace(
        "rng.uniform(0, min(1.0, 0.01 * 2**attempt))", "rng.uniform(0, 0.05)"),
            message="растёт с номером попытки"),
    Variant("polite_work", "retries_forever", '''
def polite_work(first, second, work, rng, sleep, max_attempts=30):
    attempt = 0
    while True:
        attempt += 1
        with first:
            if second.acquire(timeout=0.05):
                work()
                second.release()
                return attempt
        sleep(rng.uniform(0, min(1.0, 0.01 * 2 ** attempt)))
''', message="ожидался RuntimeError"),
    Variant("polite_work", "second_without_timeout", replace(
        "second.acquire(timeout=0.05)", "second.acquire()"), message="с тайм-аутом"),
    Variant("polite_work", "while_loop_try_finally", valid=True, source='''
def polite_work(first, second, work, rng, sleep, max_attempts=30):
    attempt = 0
    while attempt < max_attempts:
        attempt += 1
        first.acquire()
        got_both = False
        try:
            got_both = second.acquire(True, 0.05)
            if got_both:
                work()
        finally:
            if got_both:
                second.release()
            first.release()
        if got_both:
            return attempt
        ceiling = min(1.0, 0.01 * (2 ** attempt))
        sleep(ceiling * rng.random())
    raise RuntimeError("max_attempts исчерпаны")
'''),
    # ------------------------------------------------------------------ bounded_buffer
    Variant("bounded_buffer", "if_instead_of_while", '''
from collections import deque


class BoundedBuffer:
    def __init__(self, capacity):
        self.capacity = capacity
        self._items = deque()
        self._changed = threading.Condition()

    def put(self, item):
        with self._changed:
            if len(self._items) >= self.capacity:
                self._changed.wait()
            self._items.append(item)
            self._changed.notify_all()

    def get(self):
        with self._changed:
            if not self._items:
                self._changed.wait()
            item = self._items.popleft()
            self._changed.notify_all()
            return item
''', message="while, а не if"),
    Variant("bounded_buffer", "one_condition_notify_one", replace(
        "notify_all()", "notify()", count=2), message="notify_all"),
    Variant("bounded_buffer", "get_never_notifies", '''
from collections import deque


class BoundedBuffer:
    def __init__(self, capacity):
        self.capacity = capacity
        self._items = deque()
        self._changed = threading.Condition()

    def put(self, item):
        with self._changed:
            while len(self._items) >= self.capacity:
                self._changed.wait()
            self._items.append(item)
            self._changed.notify_all()

    def get(self):
        with self._changed:
            while not self._items:
                self._changed.wait()
            return self._items.popleft()
''', message="notify в get"),
    Variant("bounded_buffer", "lifo_pop", replace("self._items.popleft()", "self._items.pop()"),
            message="FIFO"),
    Variant("bounded_buffer", "two_conditions_one_lock", valid=True, source='''
import collections


class BoundedBuffer:
    def __init__(self, capacity):
        self.capacity = capacity
        self.items = collections.deque()
        lock = threading.Lock()
        self.not_full = threading.Condition(lock)
        self.not_empty = threading.Condition(lock)

    def put(self, item):
        with self.not_full:
            self.not_full.wait_for(lambda: len(self.items) < self.capacity)
            self.items.append(item)
            self.not_empty.notify()

    def get(self):
        with self.not_empty:
            self.not_empty.wait_for(lambda: self.items)
            item = self.items.popleft()
            self.not_full.notify()
            return item
'''),
    # ------------------------------------------------------------------ read_write_lock
    Variant("read_write_lock", "readers_ignore_waiting_writer", replace(
        "while self._writing or self._writers_waiting:", "while self._writing:"), message="голодание"),
    Variant("read_write_lock", "notify_one_on_release_write", '''
class ReadWriteLock:
    def __init__(self):
        self._changed = threading.Condition()
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    def acquire_read(self):
        with self._changed:
            while self._writing or self._writers_waiting:
                self._changed.wait()
            self._readers += 1

    def release_read(self):
        with self._changed:
            self._readers -= 1
            if self._readers == 0:
                self._changed.notify()

    def acquire_write(self):
        with self._changed:
            self._writers_waiting += 1
            while self._writing or self._readers:
                self._changed.wait()
            self._writers_waiting -= 1
            self._writing = True

    def release_write(self):
        with self._changed:
            self._writing = False
            self._changed.notify()
''', message="notify_all"),
    Variant("read_write_lock", "writer_ignores_readers", replace(
        "while self._writing or self._readers:", "while self._writing:"),
            message="писатель ждёт, пока читателей"),
    Variant("read_write_lock", "one_plain_lock", '''
class ReadWriteLock:
    def __init__(self):
        self._lock = threading.Lock()

    def acquire_read(self):
        self._lock.acquire()

    def release_read(self):
        self._lock.release()

    def acquire_write(self):
        self._lock.acquire()

    def release_write(self):
        self._lock.release()
''', message="второй acquire_read()"),
    Variant("read_write_lock", "release_read_forgets_notify", replace(
        "            if self._readers == 0:\n                self._changed.notify_all()\n", ""),
            message="release_read должен разбудить"),
    Variant("read_write_lock", "two_conditions_one_lock", valid=True, source='''
class ReadWriteLock:
    def __init__(self):
        mutex = threading.Lock()
        self.can_read = threading.Condition(mutex)
        self.can_write = threading.Condition(mutex)
        self.active_readers = 0
        self.writer_inside = False
        self.writers_queued = 0

    def acquire_read(self):
        with self.can_read:
            self.can_read.wait_for(lambda: not self.writer_inside and self.writers_queued == 0)
            self.active_readers += 1

    def release_read(self):
        with self.can_read:
            self.active_readers -= 1
            if not self.active_readers:
                self.can_write.notify()

    def acquire_write(self):
        with self.can_write:
            self.writers_queued += 1
            self.can_write.wait_for(lambda: not self.writer_inside and self.active_readers == 0)
            self.writers_queued -= 1
            self.writer_inside = True

    def release_write(self):
        with self.can_write:
            self.writer_inside = False
            if self.writers_queued:
                self.can_write.notify()
            else:
                self.can_read.notify_all()
'''),
    # ------------------------------------------------------------------ fetch_limited
    Variant("fetch_limited", "batches_of_limit_without_semaphore", '''
from course.slow_api import SlowAPI, fetch_text


def fetch_limited(urls, limit):
    texts = [None] * len(urls)

    def fetch(index, url):
        texts[index] = fetch_text(url)

    for start in range(0, len(urls), limit):
        stop = min(start + limit, len(urls))
        batch = [threading.Thread(target=fetch, args=(i, urls[i])) for i in range(start, stop)]
        for worker in batch:
            worker.start()
        for worker in batch:
            worker.join()
    return texts
''', message="пачками"),
    Variant("fetch_limited", "semaphore_per_thread", '''
from course.slow_api import SlowAPI, fetch_text


def fetch_limited(urls, limit):
    texts = [None] * len(urls)

    def fetch(index, url):
        with threading.Semaphore(limit):
            texts[index] = fetch_text(url)

    workers = [threading.Thread(target=fetch, args=(i, url)) for i, url in enumerate(urls)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return texts
''', message="семафор не ограничивает", picture="limit"),
    Variant("fetch_limited", "results_in_completion_order", '''
from course.slow_api import SlowAPI, fetch_text


def fetch_limited(urls, limit):
    permits = threading.Semaphore(limit)
    texts = []

    def fetch(url):
        with permits:
            texts.append(fetch_text(url))

    workers = [threading.Thread(target=fetch, args=(url,)) for url in urls]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return texts
''', message="i-й текст"),
    Variant("fetch_limited", "start_join_one_by_one", '''
from course.slow_api import SlowAPI, fetch_text


def fetch_limited(urls, limit):
    permits = threading.Semaphore(limit)
    texts = [None] * len(urls)

    def fetch(index, url):
        with permits:
            texts[index] = fetch_text(url)

    for i, url in enumerate(urls):
        worker = threading.Thread(target=fetch, args=(i, url))
        worker.start()
        worker.join()
    return texts
''', message="по очереди", picture="sequential"),
    Variant("fetch_limited", "acquire_release_dict", valid=True, source='''
from course.slow_api import fetch_text


def fetch_limited(urls, limit):
    gate = threading.BoundedSemaphore(limit)
    answers = {}

    def worker(i):
        gate.acquire()
        try:
            answers[i] = fetch_text(urls[i])
        finally:
            gate.release()

    threads = []
    for i in range(len(urls)):
        t = threading.Thread(target=worker, args=(i,))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    return [answers[i] for i in range(len(urls))]
'''),
    # ------------------------------------------------------------------ run_phases
    Variant("run_phases", "no_barrier", replace("            barrier.wait()\n", ""),
            message="Фазы перемешались"),
    Variant("run_phases", "barrier_per_thread", source='''
def run_phases(workers, phases, step):
    def work(w):
        barrier = threading.Barrier(workers)
        for k in range(phases):
            step(w, k)
            barrier.wait()

    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
'''),
    Variant("run_phases", "new_threads_every_phase", '''
def run_phases(workers, phases, step):
    for k in range(phases):
        threads = [threading.Thread(target=step, args=(w, k)) for w in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
''', message="по потоку на работника"),
    Variant("run_phases", "sequential_in_caller", '''
def run_phases(workers, phases, step):
    for k in range(phases):
        for w in range(workers):
            step(w, k)
''', message="одновременно"),
    Variant("run_phases", "no_join", replace(
        "    for thread in threads:\n        thread.join()\n", ""), message="(join)"),
    Variant("run_phases", "wait_before_step", valid=True, source='''
def run_phases(workers, phases, step):
    meeting = threading.Barrier(workers)

    def worker(w):
        for k in range(phases):
            meeting.wait()
            step(w, k)

    pool = [threading.Thread(target=worker, args=(w,)) for w in range(workers)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
'''),
    # ------------------------------------------------------------------ pipeline
    Variant("pipeline", "consumer_exits_on_empty", '''
def pipeline(items, func, producers=2, consumers=2, maxsize=4):
    items = list(items)
    jobs = queue.Queue(maxsize)
    results = {}

    def produce(p):
        for item in items[p::producers]:
            jobs.put(item)

    def consume():
        while True:
            try:
                item = jobs.get(timeout=0.1)
            except queue.Empty:
                return
            results[item] = func(item)

    threads = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    threads += [threading.Thread(target=consume) for _ in range(consumers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
''', message="задержался"),
    Variant("pipeline", "no_join_of_consumers", replace(
        "    for thread in takers:\n        thread.join()\n", ""), message="дождитесь потребителей join()"),
    Variant("pipeline", "each_producer_sends_stop", '''
def pipeline(items, func, producers=2, consumers=2, maxsize=4):
    items = list(items)
    jobs = queue.Queue(maxsize)
    results = {}

    def produce(p):
        for item in items[p::producers]:
            jobs.put(item)
        for _ in range(consumers):
            jobs.put(None)

    def consume():
        while (item := jobs.get()) is not None:
            results[item] = func(item)

    threads = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    threads += [threading.Thread(target=consume) for _ in range(consumers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
''', message="раньше, чем производители"),
    Variant("pipeline", "one_sentinel_only", replace(
        "    for _ in takers:\n        jobs.put(None)\n", "    jobs.put(None)\n"),
            message="по одному на каждого"),
    Variant("pipeline", "qsize_polling", '''
def pipeline(items, func, producers=2, consumers=2, maxsize=4):
    items = list(items)
    jobs = queue.Queue(maxsize)
    results = {}
    done = threading.Event()

    def produce(p):
        for item in items[p::producers]:
            jobs.put(item)

    def consume():
        while not (done.is_set() and jobs.empty()):
            try:
                item = jobs.get(timeout=0.01)
            except queue.Empty:
                continue
            results[item] = func(item)

    makers = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    takers = [threading.Thread(target=consume) for _ in range(consumers)]
    for thread in makers + takers:
        thread.start()
    for thread in makers:
        thread.join()
    done.set()
    for thread in takers:
        thread.join()
    return results
''', valid=True),
    Variant("pipeline", "object_sentinel_and_pairs", valid=True, source='''
def pipeline(items, func, producers=2, consumers=2, maxsize=4):
    work = list(items)
    q = queue.Queue(maxsize=maxsize)
    END = object()
    pairs = []

    def producer(p):
        for x in work[p::producers]:
            q.put(x)

    def consumer():
        for x in iter(q.get, END):
            pairs.append((x, func(x)))

    ps = [threading.Thread(target=producer, args=(p,)) for p in range(producers)]
    cs = [threading.Thread(target=consumer) for _ in range(consumers)]
    for t in cs + ps:
        t.start()
    for t in ps:
        t.join()
    for _ in cs:
        q.put(END)
    for t in cs:
        t.join()
    return dict(pairs)
'''),
]
