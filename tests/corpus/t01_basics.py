"""Тема 01: ожидание и счёт, потоки и процессы."""

from corpus.runner import Variant, replace

NOTEBOOK = "01-basics"

VARIANTS = [
    # --- classify_workload ---------------------------------------------------------------
    Variant("classify_workload", "thread_time_like_clocks", replace(
        "time.process_time()", "time.thread_time()", count=2),
        message="time.thread_time() видит только текущий поток"),
    Variant("classify_workload", "half_of_wall", replace("cpu >= wall / 10", "cpu > wall / 2"),
            message="а не половина"),
    Variant("classify_workload", "calls_func_twice", '''
def classify_workload(func):
    func()  # «прогрев»
    wall0, cpu0 = time.perf_counter(), time.process_time()
    func()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return "cpu" if cpu >= wall / 10 else "io"
''', message="ровно один раз"),
    Variant("classify_workload", "wall_clock_twice", replace(
        "time.process_time()", "time.perf_counter()", count=2), message="процессорными часами"),
    Variant("classify_workload", "absolute_cpu_threshold", '''
def classify_workload(func):
    cpu0 = time.process_time()
    func()
    return "cpu" if time.process_time() - cpu0 > 0.1 else "io"
'''),
    Variant("classify_workload", "bool_result", replace(
        'return "cpu" if wall > 0 and cpu >= wall / 10 else "io"', "return cpu >= wall / 10")),
    Variant("classify_workload", "os_times", valid=True, source='''
import os


def classify_workload(func):
    before, start = os.times(), time.monotonic()
    func()
    after, elapsed = os.times(), time.monotonic() - start
    used = (after.user - before.user) + (after.system - before.system)
    return "cpu" if 10 * used >= elapsed else "io"
'''),
    Variant("classify_workload", "process_time_ns", valid=True, source='''
def classify_workload(func):
    t0, c0 = time.perf_counter_ns(), time.process_time_ns()
    func()
    share = (time.process_time_ns() - c0) / max(1, time.perf_counter_ns() - t0)
    return "cpu" if share >= 0.1 else "io"
'''),
    # --- fetch_all -------------------------------------------------------------------------
    Variant("fetch_all", "lecture_map_every_url", '''
def fetch_all(urls, max_workers=8):
    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        return list(pool.map(fetch_text, urls))
''', message="ровно один запрос"),
    Variant("fetch_all", "cache_checked_inside_task", '''
def fetch_all(urls, max_workers=8):
    cache = {}

    def get(url):
        if url not in cache:
            cache[url] = fetch_text(url)
        return cache[url]

    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        return list(pool.map(get, urls))
''', message="ровно один запрос"),
    Variant("fetch_all", "sequential_with_cache", '''
def fetch_all(urls, max_workers=8):
    cache = {}
    for url in urls:
        if url not in cache:
            cache[url] = fetch_text(url)
    return [cache[url] for url in urls]
''', message="запросы шли по очереди", picture="sequential"),
    Variant("fetch_all", "unique_texts_only", '''
def fetch_all(urls, max_workers=8):
    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        return list(pool.map(fetch_text, dict.fromkeys(urls)))
'''),
    Variant("fetch_all", "default_pool_size", replace(
        "ThreadPoolExecutor(max_workers=max_workers)", "ThreadPoolExecutor()"),
        message="Передайте max_workers", picture="limit"),
    Variant("fetch_all", "futures_by_url", valid=True, source='''
def fetch_all(urls, max_workers=8):
    futures = {}
    with ThreadPoolExecutor(max_workers) as pool:
        for url in urls:
            if url not in futures:
                futures[url] = pool.submit(fetch_text, url)
        return [futures[url].result() for url in urls]
'''),
    Variant("fetch_all", "set_and_dict", valid=True, source='''
def fetch_all(urls, max_workers=8):
    distinct = set(urls)
    pool = ThreadPoolExecutor(max_workers=max_workers)
    try:
        text_of = {url: text for url, text in zip(distinct, pool.map(fetch_text, distinct))}
    finally:
        pool.shutdown()
    return [text_of[u] for u in urls]
'''),
    # --- run_in_processes ----------------------------------------------------------------------
    Variant("run_in_processes", "one_worker", replace("ProcessPoolExecutor(max_workers=workers)",
                                                      "ProcessPoolExecutor(max_workers=1)"),
            message="меньше 2 процессов"),
    Variant("run_in_processes", "default_pool_size", replace("ProcessPoolExecutor(max_workers=workers)",
                                                             "ProcessPoolExecutor()"),
            message="max_workers=workers"),
    Variant("run_in_processes", "threads_not_processes", replace("ProcessPoolExecutor(max_workers=workers)",
                                                                 "ThreadPoolExecutor(max_workers=workers)"),
            message="Нужен ProcessPoolExecutor"),
    Variant("run_in_processes", "pid_of_parent", '''
def run_in_processes(func, items, workers):
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(func, items))
    return results, {os.getpid(): len(results)} if results else {}
''', message="pid ядра"),
    Variant("run_in_processes", "global_dict_filled_in_child", '''
seen_by = {}


def counting_call(func, item):
    pid = os.getpid()
    seen_by[pid] = seen_by.get(pid, 0) + 1
    return func(item)


def run_in_processes(func, items, workers):
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(counting_call, [func] * len(items), items))
    return results, dict(seen_by)
''', message="родитель не увидит"),
    Variant("run_in_processes", "only_results", '''
def run_in_processes(func, items, workers):
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(func, items))
''', message="Ожидалась пара"),
    Variant("run_in_processes", "pool_left_open", '''
def run_in_processes(func, items, workers):
    pool = ProcessPoolExecutor(max_workers=workers)
    pairs = list(pool.map(call_with_pid, [func] * len(items), items))
    per_process = {}
    for pid, _ in pairs:
        per_process[pid] = per_process.get(pid, 0) + 1
    return [r for _, r in pairs], per_process
''', message="Пул не закрыли", isolate=True),
    Variant("run_in_processes", "lambda_to_pool", replace(
        "pool.map(call_with_pid, [func] * len(items), items)",
        "pool.map(lambda item: call_with_pid(func, item), items)"),
        message="через pickle"),
    Variant("run_in_processes", "submit_partial_counter", valid=True, source='''
from collections import Counter
from functools import partial


def run_in_processes(func, items, workers):
    with ProcessPoolExecutor(workers) as pool:
        futures = [pool.submit(partial(call_with_pid, func), item) for item in items]
        pairs = [f.result() for f in futures]
    return [result for _, result in pairs], dict(Counter(pid for pid, _ in pairs))
'''),
]
