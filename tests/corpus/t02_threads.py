"""Тема 02: потоки, пулы потоков, GIL."""

from corpus.runner import Variant, replace

NOTEBOOK = "02-threads"

VARIANTS = [
    # --- run_named_threads ---------------------------------------------------------------
    Variant("run_named_threads", "start_join_one_by_one", replace(
        "    for t in threads:\n        t.start()\n    for t in threads:\n        t.join()",
        "    for t in threads:\n        t.start()\n        t.join()"),
        message="Сначала start() у всех"),
    Variant("run_named_threads", "busy_wait_instead_of_join", replace(
        "    for t in threads:\n        t.join()",
        "    while any(t.is_alive() for t in threads):\n        pass"),
        message="активное ожидание"),
    Variant("run_named_threads", "no_join_at_all", replace(
        "    for t in threads:\n        t.join()\n", ""), message="дождитесь всех"),
    Variant("run_named_threads", "not_daemon", replace(", daemon=True", ""), message="daemon=True"),
    Variant("run_named_threads", "names_from_one", replace(
        'name=f"{prefix}-{i}"', 'name=f"{prefix}-{i + 1}"'),
            message="имена потоков"),
    Variant("run_named_threads", "results_in_finish_order", '''
def run_named_threads(func, args, prefix):
    results = []
    threads = [
        threading.Thread(target=lambda a=a: results.append(func(a)), name=f"{prefix}-{i}", daemon=True)
        for i, a in enumerate(args)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
'''),
    Variant("run_named_threads", "dict_and_enumerate", valid=True, source='''
def run_named_threads(func, args, prefix):
    out = {}

    def body(index, value):
        out[index] = func(value)

    threads = []
    for index, value in enumerate(args):
        thread = threading.Thread(target=body, args=(index, value), daemon=True)
        thread.name = prefix + "-" + str(index)
        threads.append(thread)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [out[i] for i in range(len(args))]
'''),
    # --- fetch_with_errors ---------------------------------------------------------------
    Variant("fetch_with_errors", "map_stops_at_first_error", '''
def fetch_with_errors(urls, max_workers=8):
    texts, errors = [None] * len(urls), {}
    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        try:
            for i, text in enumerate(pool.map(fetch_text, urls)):
                texts[i] = text
        except Exception as exc:
            errors[i + 1 if texts[i] is not None else i] = exc
    return texts, errors
''', message="останавливается на первом исключении"),
    Variant("fetch_with_errors", "no_except", replace(
        "            try:\n                texts[i] = future.result()\n            except Exception as exc:\n"
        "                errors[i] = exc",
        "            texts[i] = future.result()"),
        message="вылетела из fetch_with_errors наружу"),
    Variant("fetch_with_errors", "result_inside_submit_loop", '''
def fetch_with_errors(urls, max_workers=8):
    texts, errors = [None] * len(urls), {}
    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        for i, url in enumerate(urls):
            future = pool.submit(fetch_text, url)
            try:
                texts[i] = future.result()
            except Exception as exc:
                errors[i] = exc
    return texts, errors
''', picture="sequential"),
    Variant("fetch_with_errors", "order_of_completion", '''
def fetch_with_errors(urls, max_workers=8):
    texts, errors = [], {}
    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        futures = {pool.submit(fetch_text, url): i for i, url in enumerate(urls)}
        for future in as_completed(futures):
            try:
                texts.append(future.result())
            except Exception as exc:
                texts.append(None)
                errors[futures[future]] = exc
    return texts, errors
''', message="на место его адреса"),
    Variant("fetch_with_errors", "message_instead_of_exception", replace(
        "errors[i] = exc", "errors[i] = str(exc)")),
    Variant("fetch_with_errors", "ignores_max_workers", replace(
        "ThreadPoolExecutor(max_workers=max_workers)", "ThreadPoolExecutor(max_workers=len(urls) or 1)"),
        message="max_workers"),
    Variant("fetch_with_errors", "wrapper_inside_task", valid=True, source='''
def fetch_with_errors(urls, max_workers=8):
    def safe(url):
        try:
            return fetch_text(url), None
        except Exception as exc:
            return None, exc

    with ThreadPoolExecutor(max_workers) as pool:
        pairs = list(pool.map(safe, urls))
    texts = [text for text, _ in pairs]
    errors = {i: exc for i, (_, exc) in enumerate(pairs) if exc is not None}
    return texts, errors
'''),
    # --- run_until_failure -------------------------------------------------------------------
    Variant("run_until_failure", "waits_for_all", replace(
        "        wait(futures, return_when=FIRST_EXCEPTION)\n        pool.shutdown(cancel_futures=True)"
        "  # ждущие в очереди — отменить, идущие — дождаться\n", ""),
        message="пул не остановили"),
    Variant("run_until_failure", "first_exception_without_cancel", replace(
        "        pool.shutdown(cancel_futures=True)  # ждущие в очереди — отменить, идущие — дождаться\n",
        ""),
        message="пул не остановили"),
    Variant("run_until_failure", "results_in_order", """
def run_until_failure(tasks, max_workers):
    results, errors, cancelled = {}, {}, []
    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        futures = [pool.submit(task) for task in tasks]
        for i, future in enumerate(futures):
            if errors:
                if future.cancel():
                    cancelled.append(i)
                    continue
            try:
                results[i] = future.result()
            except Exception as exc:
                errors[i] = exc
    return results, errors, cancelled
""", message="пул не остановили"),
    Variant("run_until_failure", "returns_without_waiting_running", """
def run_until_failure(tasks, max_workers):
    pool = ThreadPoolExecutor(max_workers=max_workers)
    futures = [pool.submit(task) for task in tasks]
    wait(futures, return_when=FIRST_EXCEPTION)
    pool.shutdown(wait=False, cancel_futures=True)
    results, errors, cancelled = {}, {}, []
    for i, future in enumerate(futures):
        if future.cancelled():
            cancelled.append(i)
        elif future.done():
            if future.exception() is not None:
                errors[i] = future.exception()
            else:
                results[i] = future.result()
    return results, errors, cancelled
""", message="не дождавшись"),
    Variant("run_until_failure", "not_done_counted_as_cancelled", """
def run_until_failure(tasks, max_workers):
    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        futures = [pool.submit(task) for task in tasks]
        done, not_done = wait(futures, return_when=FIRST_EXCEPTION)
        for future in not_done:
            future.cancel()
    results, errors = {}, {}
    cancelled = sorted(futures.index(f) for f in not_done)
    for i, future in enumerate(futures):
        if future in not_done:
            continue
        if future.exception() is not None:
            errors[i] = future.exception()
        else:
            results[i] = future.result()
    return results, errors, cancelled
""", message="cancelled"),
    Variant("run_until_failure", "errors_as_text", replace("errors[i] = future.exception()",
                                                           "errors[i] = str(future.exception())"),
            message="сами исключения"),
    Variant("run_until_failure", "swallowed_in_wrapper", """
def run_until_failure(tasks, max_workers):
    def safe(task):
        try:
            return task(), None
        except Exception as exc:
            return None, exc

    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        outcomes = list(pool.map(safe, tasks))
    results = {i: r for i, (r, e) in enumerate(outcomes) if e is None}
    errors = {i: e for i, (r, e) in enumerate(outcomes) if e is not None}
    return results, errors, []
""", message="пул не остановили"),
    Variant("run_until_failure", "result_reraises", """
def run_until_failure(tasks, max_workers):
    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        futures = [pool.submit(task) for task in tasks]
        done, not_done = wait(futures, return_when=FIRST_EXCEPTION)
        for future in not_done:
            future.cancel()
    results = {i: f.result() for i, f in enumerate(futures) if not f.cancelled()}
    return results, {}, [i for i, f in enumerate(futures) if f.cancelled()]
""", message="вылетело из run_until_failure наружу"),
    Variant("run_until_failure", "as_completed_break_cancel", valid=True, source="""
def run_until_failure(tasks, max_workers):
    pool = ThreadPoolExecutor(max_workers)
    futures = {pool.submit(task): i for i, task in enumerate(tasks)}
    for future in as_completed(futures):
        if future.exception() is not None:
            for other in futures:
                other.cancel()
            break
    pool.shutdown(wait=True)
    results, errors, cancelled = {}, {}, []
    for future, i in futures.items():
        if future.cancelled():
            cancelled.append(i)
        else:
            try:
                results[i] = future.result()
            except Exception as exc:
                errors[i] = exc
    return results, errors, sorted(cancelled)
"""),
    # --- join_all -----------------------------------------------------------------------------
    Variant("join_all", "timeout_per_thread", """
def join_all(threads, timeout):
    for thread in threads:
        thread.join(timeout)
    return [thread.name for thread in threads if thread.is_alive()]
""", message="каждому потоку дали весь timeout"),
    Variant("join_all", "join_without_timeout", """
def join_all(threads, timeout):
    for thread in threads:
        thread.join()
    return [thread.name for thread in threads if thread.is_alive()]
""", message="без тайм-аута ждёт"),  # тест отпускает зависшие потоки сам
    Variant("join_all", "sleep_the_whole_timeout", """
def join_all(threads, timeout):
    time.sleep(timeout)
    return [thread.name for thread in threads if thread.is_alive()]
""", message="не досиживайте срок"),
    Variant("join_all", "no_waiting", """
def join_all(threads, timeout):
    return [thread.name for thread in threads if thread.is_alive()]
""", message="нужно дождаться (join)"),
    Variant("join_all", "equal_slices", """
def join_all(threads, timeout):
    for thread in threads:
        thread.join(timeout / len(threads))
    return [thread.name for thread in threads if thread.is_alive()]
""", message="а не долей срока"),
    Variant("join_all", "threads_not_names", replace(
        "return [thread.name for thread in threads if thread.is_alive()]",
        "return [thread for thread in threads if thread.is_alive()]")),
    Variant("join_all", "polling_loop", valid=True, source="""
def join_all(threads, timeout):
    start = time.perf_counter()
    waiting = list(threads)
    while waiting and time.perf_counter() - start < timeout:
        waiting[0].join(min(0.01, max(0.0, timeout - (time.perf_counter() - start))))
        waiting = [t for t in waiting if t.is_alive()]
    return [t.name for t in threads if t.is_alive()]
"""),
    # --- tally -----------------------------------------------------------------------------
    Variant("tally", "no_lock", replace("            with lock:\n                increment(counts, key)",
                                        "            increment(counts, key)"),
            message="общую блокировку", picture="race"),
    Variant("tally", "lock_per_task", '''
def tally(chunks, workers, increment):
    counts = {}

    def work(chunk):
        lock = threading.Lock()
        for key in chunk:
            with lock:
                increment(counts, key)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(work, chunks))
    return counts
''', message="общую блокировку", picture="race"),
    Variant("tally", "sequential_loop", '''
def tally(chunks, workers, increment):
    counts = {}
    for chunk in chunks:
        for key in chunk:
            increment(counts, key)
    return counts
'''),
    Variant("tally", "dict_per_chunk_not_shared", '''
def tally(chunks, workers, increment):
    def work(chunk):
        counts = {}
        for key in chunk:
            increment(counts, key)
        return counts

    with ThreadPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(work, chunks))
    return parts[-1] if parts else {}
''', message="counts не один на все задачи"),
    Variant("tally", "ignores_workers", replace(
        "ThreadPoolExecutor(max_workers=workers)", "ThreadPoolExecutor()"),
            message="workers"),
    Variant("tally", "lock_around_whole_chunk_submit", valid=True, source='''
def tally(chunks, workers, increment):
    counts = {}
    guard = threading.RLock()

    def work(chunk):
        with guard:
            for key in chunk:
                increment(counts, key)

    with ThreadPoolExecutor(workers) as pool:
        for future in [pool.submit(work, c) for c in chunks]:
            future.result()
    return counts
'''),
    # --- explain_speedup ---------------------------------------------------------------------
    Variant("explain_speedup", "speedup_without_copies", replace(
        "speedup = copies * one.wall / many.wall", "speedup = one.wall / many.wall")),
    Variant("explain_speedup", "verdict_from_rounded", '''
def explain_speedup(one, many, copies):
    speedup = round(copies * one.wall / many.wall, 2)
    parallelism = round(many.cpu / many.wall, 2)
    if parallelism >= 1.5:
        verdict = "параллельно"
    elif parallelism < 0.5:
        verdict = "ожидание"
    else:
        verdict = "по очереди"
    return speedup, parallelism, verdict
'''),
    Variant("explain_speedup", "strict_boundary", replace("parallelism >= 1.5", "parallelism > 1.5")),
    Variant("explain_speedup", "lower_boundary_inclusive", replace(
        "parallelism < 0.5", "parallelism <= 0.5")),
    Variant("explain_speedup", "cpu_of_one", replace("parallelism = many.cpu / many.wall",
                                                      "parallelism = many.cpu / one.wall")),
    Variant("explain_speedup", "list_instead_of_tuple", replace(
        "return round(speedup, 2), round(parallelism, 2), verdict",
        "return [round(speedup, 2), round(parallelism, 2), verdict]"), message="кортеж из трёх"),
    Variant("explain_speedup", "table_of_thresholds", valid=True, source='''
def explain_speedup(one, many, copies):
    busy = many.cpu / many.wall
    verdict = next(name for bound, name in ((1.5, "параллельно"), (0.5, "по очереди"), (0.0, "ожидание"))
                   if busy >= bound)
    return (round(one.wall * copies / many.wall, 2), round(busy, 2), verdict)
'''),
]
