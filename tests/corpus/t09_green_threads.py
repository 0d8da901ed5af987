"""Тема 09: greenlet и gevent."""

from corpus.runner import Variant, replace

NOTEBOOK = "09-green-threads"

VARIANTS = [
    # ---------------------------------------------------------------- round_robin
    Variant("round_robin", "no_greenlets_pause_does_nothing", '''
def round_robin(funcs):
    def pause():
        pass

    return [func(pause) for func in funcs]
''', message="уступить очередь"),
    Variant("round_robin", "results_in_finish_order", '''
def round_robin(funcs):
    from collections import deque

    scheduler = getcurrent()

    def pause():
        scheduler.switch()

    queue = deque(greenlet(func) for func in funcs)
    results = []
    while queue:
        task = queue.popleft()
        value = task.switch() if task else task.switch(pause)
        if task.dead:
            results.append(value)
        else:
            queue.append(task)
    return results
''', message="результаты задач по порядку"),
    Variant("round_robin", "swallows_task_errors", replace(
        "        value = task.switch() if task else task.switch(pause)  # bool(task) — уже запущен\n",
        "        try:\n            value = task.switch() if task else task.switch(pause)\n"
        "        except Exception:\n            value = None\n"), message="KeyError"),
    Variant("round_robin", "restarts_finished_first", '''
def round_robin(funcs):
    scheduler = getcurrent()

    def pause():
        scheduler.switch()

    tasks = [greenlet(func) for func in funcs]
    results = [None] * len(tasks)
    while any(not t.dead for t in tasks):
        for index, task in enumerate(tasks):
            if task.dead:
                continue
            value = task.switch() if task else task.switch(pause)
            if task.dead:
                results[index] = value
                break
    return results
'''),
    Variant("round_robin", "parent_switch_and_rotation", valid=True, source='''
def round_robin(funcs):
    def pause():
        getcurrent().parent.switch()

    ring = [(i, greenlet(f)) for i, f in enumerate(funcs)]
    results = [None] * len(ring)
    started = set()
    while ring:
        i, g = ring.pop(0)
        out = g.switch() if i in started else g.switch(pause)
        started.add(i)
        if g.dead:
            results[i] = out
        else:
            ring.append((i, g))
    return results
'''),
    # ---------------------------------------------------------------- fetch_pages
    Variant("fetch_pages", "sequential", '''
def fetch_pages(urls, limit):
    return [fetch_text(url) for url in urls]
''', message="по очереди", picture="sequential"),
    Variant("fetch_pages", "no_limit", '''
def fetch_pages(urls, limit):
    jobs = [gevent.spawn(fetch_text, url) for url in urls]
    gevent.joinall(jobs)
    return [job.value for job in jobs]
''', message="передайте limit в Pool(limit)"),
    Variant("fetch_pages", "unordered", '''
def fetch_pages(urls, limit):
    return list(Pool(limit).imap_unordered(fetch_text, urls))
''', message="в порядке адресов, а не готовности"),
    Variant("fetch_pages", "pool_one_too_big", replace("Pool(limit)", "Pool(limit + 1)"),
            message="передайте limit в Pool(limit)"),
    Variant("fetch_pages", "semaphore_and_joinall", valid=True, source='''
def fetch_pages(urls, limit):
    from gevent.lock import BoundedSemaphore

    gate = BoundedSemaphore(limit)

    def one(url):
        with gate:
            return fetch_text(url)

    jobs = [gevent.spawn(one, url) for url in urls]
    gevent.joinall(jobs, raise_error=True)
    return [job.value for job in jobs]
'''),
    Variant("fetch_pages", "own_imports_and_pool_spawn", valid=True, source='''
def fetch_pages(urls, limit):
    from gevent.pool import Pool as GreenPool

    from course.slow_api import fetch_text as get

    pool = GreenPool(limit)
    jobs = [pool.spawn(get, url) for url in urls]
    pool.join()
    return [job.get() for job in jobs]
'''),
    # ---------------------------------------------------------------- checksums
    Variant("checksums", "time_sleep_kept", '''
def checksums(blocks, pause):
    results = []
    for size in blocks:
        time.sleep(pause)
        results.append(sum(i * i for i in range(size)))
    return results
''', message="gevent.sleep"),
    Variant("checksums", "patch_time_inside", '''
def checksums(blocks, pause):
    from gevent import monkey

    monkey.patch_time()
    results = []
    for size in blocks:
        time.sleep(pause)
        results.append(sum(i * i for i in range(size)))
    return results
''', message="подменила time.sleep"),
    Variant("checksums", "original_sleep_bypasses_spy", '''
def checksums(blocks, pause):
    from gevent import monkey

    real_sleep = monkey.get_original("time", "sleep")
    results = []
    for size in blocks:
        real_sleep(pause)
        results.append(sum(i * i for i in range(size)))
    return results
'''),
    Variant("checksums", "sleep_once_at_start", '''
def checksums(blocks, pause):
    gevent.sleep(pause * len(list(blocks)))
    return [sum(i * i for i in range(size)) for size in blocks]
''', message="пульс не бился"),
    Variant("checksums", "wrong_sum_range", replace("range(size)", "range(size + 1)")),
    Variant("checksums", "index_loop_on_list", valid=True, source='''
def checksums(blocks, pause):
    results = []
    for i in range(len(blocks)):
        gevent.sleep(pause)
        results.append(sum(k * k for k in range(blocks[i])))
    return results
'''),
    Variant("checksums", "event_wait_with_timeout", valid=True, source='''
def checksums(blocks, pause):
    from gevent.event import Event

    never = Event()
    out = []
    for size in blocks:
        never.wait(timeout=pause)
        out.append(sum(map(lambda k: k * k, range(size))))
    return out
'''),
]
