"""Тема 08: синхронизация и очереди в asyncio."""

from corpus.runner import Variant, replace

NOTEBOOK = "08-asyncio-sync"

VARIANTS = [
    # ---------------------------------------------------------------- withdraw
    Variant("withdraw", "no_lock", '''
async def withdraw(account, amount, audit):
    if account.balance < amount:
        return False
    await audit(amount)
    account.balance -= amount
    return True
''', message="Баланс ушёл в минус", picture="race"),
    Variant("withdraw", "lock_only_around_subtraction", '''
async def withdraw(account, amount, audit):
    if account.balance < amount:
        return False
    await audit(amount)
    async with account.lock:
        account.balance -= amount
    return True
''', message="Баланс ушёл в минус", picture="race"),
    Variant("withdraw", "audit_before_check", '''
async def withdraw(account, amount, audit):
    async with account.lock:
        await audit(amount)
        if account.balance < amount:
            return False
        account.balance -= amount
        return True
''', message="audit не вызывается"),
    Variant("withdraw", "acquire_without_finally", '''
async def withdraw(account, amount, audit):
    await account.lock.acquire()
    if account.balance < amount:
        account.lock.release()
        return False
    await audit(amount)
    account.balance -= amount
    account.lock.release()
    return True
''', message="замок счёта всё ещё занят"),
    Variant("withdraw", "acquire_try_finally", valid=True, source='''
async def withdraw(account, amount, audit):
    await account.lock.acquire()
    try:
        enough = account.balance >= amount
        if enough:
            await audit(amount)
            account.balance = account.balance - amount
        return enough
    finally:
        account.lock.release()
'''),
    # ---------------------------------------------------------------- rate_limited
    Variant("rate_limited", "token_back_when_call_ends", '''
async def rate_limited(calls, rate):
    tokens = asyncio.Semaphore(rate)

    async def one(call):
        async with tokens:
            return await call()

    return list(await asyncio.gather(*(one(call) for call in calls)))
''', message="Жетон возвращается через 1 с"),
    Variant("rate_limited", "batches_of_rate", '''
async def rate_limited(calls, rate):
    results = []
    for i in range(0, len(calls), rate):
        batch = calls[i:i + rate]
        results += await asyncio.gather(*(call() for call in batch))
        await asyncio.sleep(1)
    return results
'''),
    Variant("rate_limited", "awaits_each_call_in_turn", '''
async def rate_limited(calls, rate):
    loop = asyncio.get_running_loop()
    tokens = asyncio.Semaphore(rate)
    results = []
    for call in calls:
        await tokens.acquire()
        loop.call_later(1, tokens.release)
        results.append(await call())
    return results
'''),
    Variant("rate_limited", "results_in_completion_order", '''
async def rate_limited(calls, rate):
    loop = asyncio.get_running_loop()
    tokens = asyncio.Semaphore(rate)

    async def one(call):
        await tokens.acquire()
        loop.call_later(1, tokens.release)
        return await call()

    return [await f for f in asyncio.as_completed([one(call) for call in calls])]
'''),
    Variant("rate_limited", "delay_by_position", valid=True, source='''
async def rate_limited(calls, rate):
    async def start_later(position, call):
        await asyncio.sleep(position // rate)
        return await call()

    tasks = [asyncio.create_task(start_later(i, call)) for i, call in enumerate(calls)]
    return [await task for task in tasks]
'''),
    # ---------------------------------------------------------------- fetch_per_host
    Variant("fetch_per_host", "one_semaphore_for_all", '''
async def fetch_per_host(urls, fetch, per_host):
    gate = asyncio.Semaphore(per_host)

    async def one(url):
        async with gate:
            return await fetch(url)

    return await asyncio.gather(*(one(url) for url in urls))
''', message="хосты ждали друг друга", picture="sequential"),
    Variant("fetch_per_host", "new_semaphore_every_call", '''
async def fetch_per_host(urls, fetch, per_host):
    async def one(url):
        async with asyncio.Semaphore(per_host):
            return await fetch(url)

    return await asyncio.gather(*(one(url) for url in urls))
''', message="не больше per_host сразу", picture="limit"),
    Variant("fetch_per_host", "one_by_one_per_host", '''
async def fetch_per_host(urls, fetch, per_host):
    from urllib.parse import urlsplit

    by_host = {}
    for index, url in enumerate(urls):
        by_host.setdefault(urlsplit(url).hostname, []).append(index)
    results = [None] * len(urls)

    async def host_worker(indexes):
        for index in indexes:
            results[index] = await fetch(urls[index])

    await asyncio.gather(*(host_worker(ix) for ix in by_host.values()))
    return results
''', message="не меньше, если адресов хватает", picture="sequential"),
    Variant("fetch_per_host", "results_grouped_by_host", '''
async def fetch_per_host(urls, fetch, per_host):
    from urllib.parse import urlsplit

    groups = {}
    for url in urls:
        groups.setdefault(urlsplit(url).hostname, []).append(url)

    async def host_batch(batch):
        gate = asyncio.Semaphore(per_host)

        async def one(url):
            async with gate:
                return await fetch(url)

        return await asyncio.gather(*(one(url) for url in batch))

    out = []
    for part in await asyncio.gather(*(host_batch(b) for b in groups.values())):
        out.extend(part)
    return out
''', message="результаты по порядку адресов"),
    Variant("fetch_per_host", "host_with_port", replace(
        "host = urlsplit(url).hostname", 'host = url.split("/")[2]'), picture="limit"),
    Variant("fetch_per_host", "defaultdict_and_taskgroup", valid=True, source='''
async def fetch_per_host(urls, fetch, per_host):
    import collections
    import urllib.parse

    limits = collections.defaultdict(lambda: asyncio.BoundedSemaphore(per_host))

    async def limited(url):
        await limits[urllib.parse.urlsplit(url).hostname].acquire()
        try:
            return await fetch(url)
        finally:
            limits[urllib.parse.urlsplit(url).hostname].release()

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(limited(url)) for url in urls]
    return [task.result() for task in tasks]
'''),
    # ---------------------------------------------------------------- crawl
    Variant("crawl", "worker_quits_on_empty_queue", '''
async def crawl(start, get_links, workers):
    queue = asyncio.Queue()
    seen = {start}
    queue.put_nowait(start)

    async def worker():
        while not queue.empty():
            page = await queue.get()
            for link in await get_links(page):
                if link not in seen:
                    seen.add(link)
                    queue.put_nowait(link)

    await asyncio.gather(*(worker() for _ in range(workers)))
    return seen
''', message="вышли из цикла раньше"),
    Variant("crawl", "marks_seen_after_fetch", '''
async def crawl(start, get_links, workers):
    queue = asyncio.Queue()
    seen = set()
    queue.put_nowait(start)

    async def worker():
        while True:
            page = await queue.get()
            links = await get_links(page)
            seen.add(page)
            for link in links:
                if link not in seen:
                    queue.put_nowait(link)
            queue.task_done()

    tasks = [asyncio.create_task(worker()) for _ in range(workers)]
    await queue.join()
    for task in tasks:
        task.cancel()
    return seen
''', message="когда кладёте её в очередь"),
    Variant("crawl", "workers_left_running", replace(
        "        for task in tasks:\n            task.cancel()\n"
        "        await asyncio.gather(*tasks, return_exceptions=True)\n",
        "        pass\n"), message="отмените исполнителей"),
    Variant("crawl", "one_worker_only", replace(
        "for _ in range(workers)]", "for _ in range(1)]"), message="делали только 1 задач"),
    Variant("crawl", "sentinels_when_nothing_pending", valid=True, source='''
async def crawl(start, get_links, workers):
    queue, seen, pending = asyncio.Queue(), {start}, 1
    queue.put_nowait(start)

    async def worker():
        nonlocal pending
        while (page := await queue.get()) is not None:
            for link in await get_links(page):
                if link not in seen:
                    seen.add(link)
                    pending += 1
                    queue.put_nowait(link)
            pending -= 1
            if pending == 0:
                for _ in range(workers):
                    queue.put_nowait(None)

    await asyncio.gather(*(worker() for _ in range(workers)))
    return seen
'''),
    # ---------------------------------------------------------------- run_by_priority
    Variant("run_by_priority", "no_tie_breaker", '''
async def run_by_priority(jobs, workers):
    queue = asyncio.PriorityQueue()
    for job in jobs:
        queue.put_nowait(job)
    started = []

    async def worker():
        while True:
            _, name, seconds = await queue.get()
            started.append(name)
            await asyncio.sleep(seconds)
            queue.task_done()

    tasks = [asyncio.create_task(worker()) for _ in range(workers)]
    await queue.join()
    for task in tasks:
        task.cancel()
    return started
''', message="упала — ваш код поднял TypeError"),
    Variant("run_by_priority", "plain_fifo_queue", replace(
        "queue = asyncio.PriorityQueue()", "queue = asyncio.Queue()")),
    Variant("run_by_priority", "records_finish_not_start", '''
async def run_by_priority(jobs, workers):
    queue = asyncio.PriorityQueue()
    for index, (priority, name, seconds) in enumerate(jobs):
        queue.put_nowait((priority, index, name, seconds))
    finished = []

    async def worker():
        while True:
            _, _, name, seconds = await queue.get()
            await asyncio.sleep(seconds)
            finished.append(name)
            queue.task_done()

    tasks = [asyncio.create_task(worker()) for _ in range(workers)]
    await queue.join()
    for task in tasks:
        task.cancel()
    return finished
''', message="а не когда оно кончилось"),
    Variant("run_by_priority", "workers_ignored", replace(
        "for _ in range(workers)]", "for _ in range(1)]")),
    Variant("run_by_priority", "forgets_task_done", replace(
        "            finally:\n                queue.task_done()\n",
        "            finally:\n                pass\n"),
        message="без task_done()"),
    Variant("run_by_priority", "sentinels_after_jobs", valid=True, source='''
async def run_by_priority(jobs, workers):
    queue = asyncio.PriorityQueue()
    order = []
    for position, job in enumerate(jobs):
        await queue.put((job[0], position, job))
    for position in range(workers):
        await queue.put((float("inf"), position, None))

    async def worker():
        while True:
            _, _, job = await queue.get()
            if job is None:
                return
            order.append(job[1])
            await asyncio.sleep(job[2])

    await asyncio.gather(*(worker() for _ in range(workers)))
    return order
'''),
    # ---------------------------------------------------------------- bounded_buffer
    Variant("bounded_buffer", "notify_one", replace(
        "self.cond.notify_all()", "self.cond.notify()", count=2), message="их не разбудили"),
    Variant("bounded_buffer", "if_instead_of_while", '''
class BoundedBuffer:
    def __init__(self, capacity):
        self.capacity = capacity
        self.items = collections.deque()
        self.cond = asyncio.Condition()

    async def put(self, item):
        async with self.cond:
            if len(self.items) >= self.capacity:
                await self.cond.wait()
            self.items.append(item)
            self.cond.notify_all()

    async def get(self):
        async with self.cond:
            if not self.items:
                await self.cond.wait()
            item = self.items.popleft()
            self.cond.notify_all()
            return item
''', message="заново"),
    Variant("bounded_buffer", "put_never_waits", replace(
        "            await self.cond.wait_for(lambda: len(self.items) < self.capacity)\n", ""),
        message="третий put должен ждать", picture="limit"),
    Variant("bounded_buffer", "lifo_get", replace("self.items.popleft()", "self.items.pop()")),
    Variant("bounded_buffer", "while_loops_and_notify_all", valid=True, source='''
class BoundedBuffer:
    def __init__(self, capacity):
        self.capacity = capacity
        self.items = collections.deque()
        self.cond = asyncio.Condition()

    async def put(self, item):
        async with self.cond:
            while len(self.items) == self.capacity:
                await self.cond.wait()
            self.items.append(item)
            self.cond.notify_all()

    async def get(self):
        async with self.cond:
            while len(self.items) == 0:
                await self.cond.wait()
            self.cond.notify_all()
            return self.items.popleft()
'''),
]
