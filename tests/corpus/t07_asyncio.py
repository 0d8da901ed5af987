# ruff: noqa: E501 — варианты — это код ячеек, строка правки должна совпасть с эталоном целиком
"""Тема 07: asyncio — задачи, gather/TaskGroup, тайм-ауты, async with/for, блокирующий код."""

from corpus.runner import Variant, replace

NOTEBOOK = "07-asyncio"

VARIANTS = [
    # --- fetch_weather_all
    Variant("fetch_weather_all", "blocking_fetch_in_gather", message="блокирует цикл событий", source=replace(
        "            return await asyncio.to_thread(fetch_json, f\"{base_url}/{city}\")",
        "            return fetch_json(f\"{base_url}/{city}\")"), picture="blocked"),
    Variant("fetch_weather_all", "no_semaphore", message="ограничение не", source='''
async def fetch_weather_all(base_url, cities, limit):
    """Погода для всех городов: одновременно, не больше limit запросов сразу, по порядку."""
    return list(await asyncio.gather(*(asyncio.to_thread(fetch_json, f"{base_url}/{c}") for c in cities)))
''', picture="limit"),
    Variant("fetch_weather_all", "one_by_one", message="по очереди", source='''
async def fetch_weather_all(base_url, cities, limit):
    """Погода для всех городов: одновременно, не больше limit запросов сразу, по порядку."""
    gate = asyncio.Semaphore(limit)
    results = []
    for city in cities:
        async with gate:
            results.append(await asyncio.to_thread(fetch_json, f"{base_url}/{city}"))
    return results
''', picture="sequential"),
    Variant("fetch_weather_all", "batches_of_limit", message="пачками", source='''
async def fetch_weather_all(base_url, cities, limit):
    """Погода для всех городов: одновременно, не больше limit запросов сразу, по порядку."""
    results = []
    for start in range(0, len(cities), limit):
        batch = cities[start:start + limit]
        results += await asyncio.gather(*(asyncio.to_thread(fetch_json, f"{base_url}/{c}") for c in batch))
    return results
'''),
    Variant("fetch_weather_all", "completion_order", message="по порядку", source='''
async def fetch_weather_all(base_url, cities, limit):
    """Погода для всех городов: одновременно, не больше limit запросов сразу, по порядку."""
    gate = asyncio.Semaphore(limit)

    async def one(city):
        async with gate:
            return await asyncio.to_thread(fetch_json, f"{base_url}/{city}")

    return [await next_done for next_done in asyncio.as_completed([one(c) for c in cities])]
'''),
    Variant("fetch_weather_all", "taskgroup_and_executor", valid=True, source='''
async def fetch_weather_all(base_url, cities, limit):
    """Погода для всех городов: одновременно, не больше limit запросов сразу, по порядку."""
    loop = asyncio.get_running_loop()
    slots = asyncio.BoundedSemaphore(limit)

    async def fetch_one(city):
        await slots.acquire()
        try:
            return await loop.run_in_executor(None, fetch_json, base_url + "/" + city)
        finally:
            slots.release()

    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(fetch_one(city)) for city in cities]
    return [task.result() for task in tasks]
'''),
    # --- retry_with_timeout
    Variant("retry_with_timeout", "no_cancel_wait", message="надо отменить", source='''
async def retry_with_timeout(make_call, attempts, timeout):
    """Повторять make_call() с тайм-аутом timeout на попытку; не больше attempts попыток."""
    for _ in range(attempts):
        task = asyncio.create_task(make_call())
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if done:
            return task.result()
    raise TimeoutError("все попытки кончились")
'''),
    Variant("retry_with_timeout", "retries_every_error", message="только при тайм-ауте", source=replace(
        "        except TimeoutError:\n            if attempt", "        except Exception:\n            if attempt")),
    Variant("retry_with_timeout", "returns_none_at_the_end", message="ожидался TimeoutError", source='''
async def retry_with_timeout(make_call, attempts, timeout):
    """Повторять make_call() с тайм-аутом timeout на попытку; не больше attempts попыток."""
    for _ in range(attempts):
        try:
            return await asyncio.wait_for(make_call(), timeout)
        except TimeoutError:
            continue
    return None
'''),
    Variant("retry_with_timeout", "reuses_coroutine", message="можно выполнить только однажды", source='''
async def retry_with_timeout(make_call, attempts, timeout):
    """Повторять make_call() с тайм-аутом timeout на попытку; не больше attempts попыток."""
    call = make_call()
    for attempt in range(attempts):
        try:
            return await asyncio.wait_for(call, timeout)
        except TimeoutError:
            if attempt == attempts - 1:
                raise
'''),
    Variant("retry_with_timeout", "one_attempt_too_many", source=replace(
        "    for attempt in range(attempts):\n        try:\n            async with asyncio.timeout(timeout):\n                return await make_call()\n        except TimeoutError:\n            if attempt == attempts - 1:",
        "    for attempt in range(attempts + 1):\n        try:\n            async with asyncio.timeout(timeout):\n                return await make_call()\n        except TimeoutError:\n            if attempt == attempts:")),
    Variant("retry_with_timeout", "wait_for_and_counter", valid=True, source='''
async def retry_with_timeout(make_call, attempts, timeout):
    """Повторять make_call() с тайм-аутом timeout на попытку; не больше attempts попыток."""
    left = attempts
    while True:
        left -= 1
        try:
            return await asyncio.wait_for(make_call(), timeout=timeout)
        except TimeoutError:
            if left <= 0:
                raise
'''),
    # --- run_jobs
    Variant("run_jobs", "gather_no_cancel", message="соседей не", source='''
async def run_jobs(jobs):
    """Запустить все задания в TaskGroup; (результаты, None) или (None, первое исключение)."""
    try:
        return list(await asyncio.gather(*(job() for job in jobs))), None
    except Exception as error:
        return None, error
'''),
    Variant("run_jobs", "gather_return_exceptions", message="Не ждите остальных", source='''
async def run_jobs(jobs):
    """Запустить все задания в TaskGroup; (результаты, None) или (None, первое исключение)."""
    results = await asyncio.gather(*(job() for job in jobs), return_exceptions=True)
    for item in results:
        if isinstance(item, Exception):
            return None, item
    return list(results), None
'''),
    Variant("run_jobs", "awaits_inside_group_in_turn", message="одна за другой", source='''
async def run_jobs(jobs):
    """Запустить все задания в TaskGroup; (результаты, None) или (None, первое исключение)."""
    results = []
    try:
        async with asyncio.TaskGroup() as tg:
            for job in jobs:
                results.append(await tg.create_task(job()))
    except* Exception as group:
        return_error = group.exceptions[0]
    else:
        return_error = None
    if return_error is not None:
        return None, return_error
    return results, None
'''),
    Variant("run_jobs", "returns_the_group", message="группу исключений", source=replace(
        "        error = group.exceptions[0]", "        error = group")),
    Variant("run_jobs", "plain_except_exceptiongroup", valid=True, source='''
async def run_jobs(jobs):
    """Запустить все задания в TaskGroup; (результаты, None) или (None, первое исключение)."""
    try:
        async with asyncio.TaskGroup() as group:
            running = [group.create_task(job()) for job in jobs]
    except ExceptionGroup as failures:
        return None, failures.exceptions[0]
    return [t.result() for t in running], None
'''),
    # --- connect
    Variant("connect", "no_finally", message="finally вокруг yield", source='''
@asynccontextmanager
async def connect(log, name):
    """Открыть «соединение» name (1 с), закрыть при любом выходе (1 с); вести журнал log."""
    await asyncio.sleep(1)
    log.append(f"открыто {name}")
    yield name
    await asyncio.sleep(1)
    log.append(f"закрыто {name}")
'''),
    Variant("connect", "swallows_errors", message="пропало", source='''
@asynccontextmanager
async def connect(log, name):
    """Открыть «соединение» name (1 с), закрыть при любом выходе (1 с); вести журнал log."""
    await asyncio.sleep(1)
    log.append(f"открыто {name}")
    try:
        yield name
    except Exception:
        pass
    finally:
        await asyncio.sleep(1)
        log.append(f"закрыто {name}")
'''),
    Variant("connect", "forgets_close_sleep", message="сколько секунд", source=replace(
        "    finally:\n        await asyncio.sleep(1)\n", "    finally:\n")),
    Variant("connect", "yields_before_open", source='''
@asynccontextmanager
async def connect(log, name):
    """Открыть «соединение» name (1 с), закрыть при любом выходе (1 с); вести журнал log."""
    try:
        yield name
    finally:
        await asyncio.sleep(1)
        log.append(f"открыто {name}")
        await asyncio.sleep(1)
        log.append(f"закрыто {name}")
'''),
    Variant("connect", "except_base_else", valid=True, source='''
@asynccontextmanager
async def connect(log, name):
    """Открыть «соединение» name (1 с), закрыть при любом выходе (1 с); вести журнал log."""
    async def close():
        await asyncio.sleep(1)
        log.append("закрыто " + name)

    await asyncio.sleep(1)
    log.append("открыто " + name)
    try:
        yield name
    except BaseException:
        await close()
        raise
    await close()
'''),
    # --- paginate
    Variant("paginate", "fetches_all_pages_first", message="только после того", source='''
async def paginate(fetch_page):
    """Отдавать элементы страниц 1, 2, … по одному; остановиться на пустой странице."""
    pages = []
    number = 1
    while page := await fetch_page(number):
        pages.append(page)
        number += 1
    for page in pages:
        for item in page:
            yield item
'''),
    Variant("paginate", "stops_on_falsy_item", message="пустая страница — конец", source='''
async def paginate(fetch_page):
    """Отдавать элементы страниц 1, 2, … по одному; остановиться на пустой странице."""
    number = 1
    while True:
        for item in await fetch_page(number):
            if not item:
                return
            yield item
        number += 1
'''),
    Variant("paginate", "starts_at_zero", source=replace("    number = 1\n", "    number = 0\n")),
    Variant("paginate", "returns_list", message="асинхронным генератором", source='''
async def paginate(fetch_page):
    """Отдавать элементы страниц 1, 2, … по одному; остановиться на пустой странице."""
    items, number = [], 1
    while page := await fetch_page(number):
        items.extend(page)
        number += 1
    return items
'''),
    Variant("paginate", "walrus_and_yield_from_loop", valid=True, source='''
import itertools


async def paginate(fetch_page):
    """Отдавать элементы страниц 1, 2, … по одному; остановиться на пустой странице."""
    for number in itertools.count(1):
        page = await fetch_page(number)
        if len(page) == 0:
            break
        for element in page:
            yield element
'''),
    # --- build_reports
    Variant("build_reports", "direct_call_in_gather", message="блокирует цикл событий", source='''
async def build_reports(builder, inputs):
    """Вызвать блокирующую builder(x) для всех x в потоках, не останавливая цикл; по порядку."""
    async def one(x):
        return builder(x)

    return list(await asyncio.gather(*(one(x) for x in inputs)))
''', picture="blocked"),
    Variant("build_reports", "to_thread_in_turn", message="Сборки шли по одной", source='''
async def build_reports(builder, inputs):
    """Вызвать блокирующую builder(x) для всех x в потоках, не останавливая цикл; по порядку."""
    return [await asyncio.to_thread(builder, x) for x in inputs]
''', picture="sequential"),
    Variant("build_reports", "single_worker_pool", message="одновременно шло не больше", source='''
from concurrent.futures import ThreadPoolExecutor


async def build_reports(builder, inputs):
    """Вызвать блокирующую builder(x) для всех x в потоках, не останавливая цикл; по порядку."""
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(await asyncio.gather(*(loop.run_in_executor(pool, builder, x) for x in inputs)))
''', picture="sequential"),
    Variant("build_reports", "to_thread_in_taskgroup", valid=True, source='''
async def build_reports(builder, inputs):
    """Вызвать блокирующую builder(x) для всех x в потоках, не останавливая цикл; по порядку."""
    loop = asyncio.get_running_loop()
    async with asyncio.TaskGroup() as tg:
        jobs = [tg.create_task(asyncio.to_thread(builder, x)) for x in inputs]
    return [job.result() for job in jobs]
'''),
]

VARIANTS += [
    # --- fetch_pages (httpx)
    Variant("fetch_pages", "no_pool_limit", message="ограничьте пул клиента", source=replace(
        "httpx.AsyncClient(limits=httpx.Limits(max_connections=limit))", "httpx.AsyncClient()")),
    Variant("fetch_pages", "one_after_another", message="по одному", source='''
async def fetch_pages(base_url, paths, limit, timeout):
    """Все пути одним клиентом httpx: не больше limit соединений, timeout на запрос → (тексты, опоздавшие)."""
    texts, late = {}, []
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=limit)) as client:
        for path in paths:
            try:
                response = await asyncio.wait_for(client.get(base_url + path), timeout)
            except TimeoutError:
                late.append(path)
            else:
                texts[path] = response.text
    return texts, late
'''),
    Variant("fetch_pages", "client_per_request", message="клиент создаётся заново", source='''
async def fetch_pages(base_url, paths, limit, timeout):
    """Все пути одним клиентом httpx: не больше limit соединений, timeout на запрос → (тексты, опоздавшие)."""
    gate = asyncio.Semaphore(limit)

    async def one(path):
        async with gate, httpx.AsyncClient() as client:
            try:
                async with asyncio.timeout(timeout):
                    return path, (await client.get(base_url + path)).text
            except TimeoutError:
                return path, None

    outcomes = await asyncio.gather(*(one(p) for p in paths))
    return {p: t for p, t in outcomes if t is not None}, [p for p, t in outcomes if t is None]
'''),
    Variant("fetch_pages", "no_timeout_at_all", message="asyncio.timeout", source=replace(
        "                async with asyncio.timeout(timeout):\n                    response = await client.get(base_url + path)",
        "                response = await client.get(base_url + path)")),
    Variant("fetch_pages", "timeout_on_the_whole_gather", message="ваш код поднял", source='''
async def fetch_pages(base_url, paths, limit, timeout):
    """Все пути одним клиентом httpx: не больше limit соединений, timeout на запрос → (тексты, опоздавшие)."""
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=limit)) as client:
        responses = await asyncio.wait_for(
            asyncio.gather(*(client.get(base_url + p) for p in paths)), timeout)
    return {p: r.text for p, r in zip(paths, responses)}, []
'''),
    Variant("fetch_pages", "httpx_timeout_and_semaphore", valid=True, source='''
async def fetch_pages(base_url, paths, limit, timeout):
    """Все пути одним клиентом httpx: не больше limit соединений, timeout на запрос → (тексты, опоздавшие)."""
    texts = {}
    late = set()
    pool = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)

    async def one(client, path):
        try:
            response = await asyncio.wait_for(client.get(f"{base_url}{path}"), timeout=timeout)
        except asyncio.TimeoutError:
            late.add(path)
        else:
            texts[path] = response.text

    async with httpx.AsyncClient(limits=pool) as client:
        async with asyncio.TaskGroup() as tg:
            for path in paths:
                tg.create_task(one(client, path))
    return texts, [p for p in paths if p in late]
'''),
    # --- serve (аккуратная остановка)
    Variant("run_service", "cancel_everyone", message="прервали на середине", source='''
async def run_service(queue, stop, handle, workers):
    """Обработчики над queue до события stop; начатое доделать → (готовые пары, оставшиеся задания)."""
    done = []

    async def worker():
        while True:
            item = await queue.get()
            done.append((item, await handle(item)))

    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(worker()) for _ in range(workers)]
        await stop.wait()
        for task in tasks:
            task.cancel()
    left = []
    while not queue.empty():
        left.append(queue.get_nowait())
    return done, left
'''),
    Variant("run_service", "ignores_stop_drains_queue", message="начал новое задание", source='''
async def run_service(queue, stop, handle, workers):
    """Обработчики над queue до события stop; начатое доделать → (готовые пары, оставшиеся задания)."""
    done = []

    async def worker():
        while not queue.empty():
            item = queue.get_nowait()
            done.append((item, await handle(item)))

    async with asyncio.TaskGroup() as tg:
        for _ in range(workers):
            tg.create_task(worker())
    await stop.wait()
    return done, []
'''),
    Variant("run_service", "idle_never_cancelled", message="простаивающих надо отменить", source='''
async def run_service(queue, stop, handle, workers):
    """Обработчики над queue до события stop; начатое доделать → (готовые пары, оставшиеся задания)."""
    done = []

    async def worker():
        while not stop.is_set():
            item = await queue.get()
            done.append((item, await handle(item)))

    async with asyncio.TaskGroup() as tg:
        for _ in range(workers):
            tg.create_task(worker())
    left = []
    while not queue.empty():
        left.append(queue.get_nowait())
    return done, left
'''),
    Variant("run_service", "forgets_the_rest", message="Выньте из очереди", source=replace(
        "    while not queue.empty():\n        left.append(queue.get_nowait())\n", "")),
    Variant("run_service", "shield_in_flight", valid=True, source='''
async def run_service(queue, stop, handle, workers):
    """Обработчики над queue до события stop; начатое доделать → (готовые пары, оставшиеся задания)."""
    finished = []

    async def worker():
        while True:
            item = await queue.get()
            job = asyncio.ensure_future(handle(item))
            try:
                result = await asyncio.shield(job)
            except asyncio.CancelledError:
                finished.append((item, await job))  # начатое доделываем и только потом уходим
                raise
            finished.append((item, result))
            if stop.is_set():
                return

    async with asyncio.TaskGroup() as tg:
        staff = [tg.create_task(worker()) for _ in range(workers)]
        await stop.wait()
        for task in staff:
            task.cancel()
    rest = []
    while True:
        try:
            rest.append(queue.get_nowait())
        except asyncio.QueueEmpty:
            return finished, rest
'''),
]

VARIANTS += [  # однострочные ошибки и ещё одна верная запись
    Variant("fetch_weather_all", "imports_fetch_json_inside", valid=True, source='''
async def fetch_weather_all(base_url, cities, limit):
    """Погода для всех городов: одновременно, не больше limit запросов сразу, по порядку."""
    from course.slow_api import fetch_json as get_json

    gate = asyncio.Semaphore(limit)

    async def one(city):
        async with gate:
            return await asyncio.to_thread(get_json, f"{base_url}/{city}")

    return [*await asyncio.gather(*map(one, cities))]
'''),
    Variant("fetch_weather_all", "semaphore_off_by_one", message="ограничение не", source=replace(
        "asyncio.Semaphore(limit)", "asyncio.Semaphore(limit + 1)"), picture="limit"),
    Variant("run_jobs", "catches_only_value_error", message="except*", source=replace(
        "    except* Exception as group:", "    except* ValueError as group:")),
    Variant("paginate", "page_number_per_item", source=replace(
        "        for item in items:\n            yield item\n        number += 1",
        "        for item in items:\n            yield item\n            number += 1")),
    Variant("retry_with_timeout", "gives_up_after_first", message="две попытки по 3 с", source=replace(
        "            if attempt == attempts - 1:\n                raise", "            raise")),
]
