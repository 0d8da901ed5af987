# ruff: noqa: E501 — варианты — это код ячеек, строка правки должна совпасть с эталоном целиком
"""Тема 05: генераторы, send/throw/close, yield from, конвейеры."""

from corpus.runner import Variant, replace

NOTEBOOK = "05-generators"

_BATCHER_HEAD = '''
class Reset(Exception):
    """Сигнал для batcher: выбросить накопленную пачку."""


def batcher(sink, size):
    """Копить элементы из send и отдавать в sink пачками по size; Reset — сброс, close — дописать."""
'''

_BORROWED_HEAD = '''
@contextlib.contextmanager
def borrowed(pool):
    """Взять предмет из pool на время блока with и вернуть его при любом выходе."""
    if not pool:
        raise LookupError("пусто")
    item = pool.pop()
'''

VARIANTS = [
    # --- chunked
    Variant("chunked", "reused_list", message="один и тот же список", source='''
def chunked(iterable, n):
    """Выдавать элементы iterable списками по n штук (последний — сколько осталось)."""
    if n <= 0:
        raise ValueError("n <= 0")
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) == n:
            yield chunk
            chunk.clear()
    if chunk:
        yield chunk
'''),
    Variant("chunked", "drops_tail", message="Последний кусок короче", source='''
def chunked(iterable, n):
    """Выдавать элементы iterable списками по n штук (последний — сколько осталось)."""
    if n <= 0:
        raise ValueError("n <= 0")
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) == n:
            yield chunk
            chunk = []
'''),
    Variant("chunked", "reads_everything", message="читает", source='''
def chunked(iterable, n):
    """Выдавать элементы iterable списками по n штук (последний — сколько осталось)."""
    if n <= 0:
        raise ValueError("n <= 0")
    items = list(iterable)
    for start in range(0, len(items), n):
        yield items[start:start + n]
'''),
    Variant("chunked", "slices_input", message="без len() и срезов", source='''
def chunked(iterable, n):
    """Выдавать элементы iterable списками по n штук (последний — сколько осталось)."""
    if n <= 0:
        raise ValueError("n <= 0")
    for start in range(0, len(iterable), n):
        yield list(iterable[start:start + n])
'''),
    Variant("chunked", "no_value_error", replace(
        '    if n <= 0:\n        raise ValueError(f"размер куска должен быть положительным, а не {n}")\n', "")),
    Variant("chunked", "tuples_via_zip", source='''
def chunked(iterable, n):
    """Выдавать элементы iterable списками по n штук (последний — сколько осталось)."""
    if n <= 0:
        raise ValueError("n <= 0")
    it = iter(iterable)
    yield from zip(*[it] * n)
'''),
    Variant("chunked", "append_and_yield_fresh", valid=True, source='''
def chunked(iterable, n):
    """Выдавать элементы iterable списками по n штук (последний — сколько осталось)."""
    if n < 1:
        raise ValueError("кусок должен быть хотя бы из одного элемента")
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) == n:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
'''),
    # --- grep / grep_count
    Variant("grep_pipeline", "startswith_never_matches", message="в начале", source='''
def grep(lines, pattern):
    """Выдавать строки из lines, содержащие pattern, по одной."""
    for line in lines:
        if line.startswith(pattern):
            yield line


def grep_count(lines, pattern):
    """Число строк из lines с подстрокой pattern — конвейером, без списков."""
    return sum(1 for _ in grep(lines, pattern))
'''),
    Variant("grep_pipeline", "grep_returns_list", message="сразу", source='''
def grep(lines, pattern):
    """Выдавать строки из lines, содержащие pattern, по одной."""
    return [line for line in lines if pattern in line]


def grep_count(lines, pattern):
    """Число строк из lines с подстрокой pattern — конвейером, без списков."""
    return len(grep(lines, pattern))
'''),
    Variant("grep_pipeline", "count_via_len_list", message="где-то собирается список", source='''
def grep(lines, pattern):
    """Выдавать строки из lines, содержащие pattern, по одной."""
    for line in lines:
        if pattern in line:
            yield line


def grep_count(lines, pattern):
    """Число строк из lines с подстрокой pattern — конвейером, без списков."""
    return len(list(grep(lines, pattern)))
'''),
    Variant("grep_pipeline", "count_reads_twice", source='''
def grep(lines, pattern):
    """Выдавать строки из lines, содержащие pattern, по одной."""
    for line in lines:
        if pattern in line:
            yield line


def grep_count(lines, pattern):
    """Число строк из lines с подстрокой pattern — конвейером, без списков."""
    lines = list(lines)
    return sum(1 for _ in grep(lines, pattern))
'''),
    Variant("grep_pipeline", "yield_from_genexp_and_loop", valid=True, source='''
def grep(lines, pattern):
    """Выдавать строки из lines, содержащие pattern, по одной."""
    yield from (line for line in lines if pattern in line)


def grep_count(lines, pattern):
    """Число строк из lines с подстрокой pattern — конвейером, без списков."""
    found = 0
    for _ in grep(lines, pattern):
        found += 1
    return found
'''),
    # --- running_average
    Variant("running_average", "globals", message="локальных переменных", source='''
total = 0
count = 0


def running_average():
    """Корутина: принимает числа через send, возвращает среднее всех полученных."""
    global total, count
    average = None
    while True:
        value = yield average
        total += value
        count += 1
        average = total / count
'''),
    Variant("running_average", "integer_division", replace("average = total / count", "average = total // count")),
    Variant("running_average", "first_yield_zero", message="Первый yield ничего не отдаёт",
            source=replace("    average = None\n", "    average = 0\n")),
    Variant("running_average", "lagging_average", source='''
def running_average():
    """Корутина: принимает числа через send, возвращает среднее всех полученных."""
    total = count = 0
    average = None
    while True:
        value = yield average
        if count:
            average = total / count
        total += value
        count += 1
'''),
    Variant("running_average", "returns_total", replace("value = yield average", "value = yield total")),
    Variant("running_average", "keeps_all_values", valid=True, source='''
def running_average():
    """Корутина: принимает числа через send, возвращает среднее всех полученных."""
    seen = []
    reply = None
    while True:
        seen.append((yield reply))
        reply = sum(seen) / len(seen)
'''),
    # --- batcher
    Variant("batcher", "reused_list_clear", message="меняет тот же список", source=replace(
        "                sink(batch)\n                batch = []", "                sink(batch)\n                batch.clear()")),
    Variant("batcher", "no_reset_handling", source=_BATCHER_HEAD + '''
    batch = []
    try:
        while True:
            batch.append((yield))
            if len(batch) == size:
                sink(batch)
                batch = []
    except GeneratorExit:
        if batch:
            sink(batch)
'''),
    Variant("batcher", "reset_flushes", message="без вызова sink", source=replace(
        "            except Reset:\n                batch = []",
        "            except Reset:\n                if batch:\n                    sink(batch)\n                batch = []")),
    Variant("batcher", "close_loses_tail", message="неполную пачку", source=_BATCHER_HEAD + '''
    batch = []
    while True:
        try:
            item = yield
        except Reset:
            batch = []
            continue
        batch.append(item)
        if len(batch) == size:
            sink(batch)
            batch = []
'''),
    Variant("batcher", "catches_everything", message="Ловите только Reset", source=replace(
        "            except Reset:", "            except Exception:")),
    Variant("batcher", "yield_after_generator_exit", message="снова дошла до", source=_BATCHER_HEAD + '''
    batch = []
    while True:
        try:
            item = yield
        except Reset:
            batch = []
            continue
        except GeneratorExit:
            if batch:
                sink(batch)
                batch = []
            continue
        batch.append(item)
        if len(batch) == size:
            sink(batch)
            batch = []
'''),
    Variant("batcher", "close_sends_empty", replace("        if batch:\n            sink(batch)\n        raise",
                                                     "        sink(batch)\n        raise")),
    Variant("batcher", "finally_and_return", valid=True, source=_BATCHER_HEAD + '''
    pending = []
    while True:
        try:
            pending.append((yield))
        except Reset:
            pending = []
        except GeneratorExit:
            if pending:
                sink(pending)
            return
        else:
            if len(pending) >= size:
                sink(pending[:size])
                pending = pending[size:]
'''),
    # --- run_all
    Variant("run_all", "for_loop_reyield", message="используйте yield from", source='''
def run_all(gens):
    """Делегировать каждому генератору по очереди; вернуть список их return-значений."""
    results = []
    for gen in gens:
        while True:
            try:
                value = next(gen)
            except StopIteration as stop:
                results.append(stop.value)
                break
            yield value
    return results
'''),
    Variant("run_all", "only_last_result", source='''
def run_all(gens):
    """Делегировать каждому генератору по очереди; вернуть список их return-значений."""
    result = None
    for gen in gens:
        result = yield from gen
    return [result]
'''),
    Variant("run_all", "yields_results", source='''
def run_all(gens):
    """Делегировать каждому генератору по очереди; вернуть список их return-значений."""
    results = []
    for gen in gens:
        results.append((yield from gen))
    yield results
'''),
    Variant("run_all", "swallows_errors", message="не глотаться", source='''
def run_all(gens):
    """Делегировать каждому генератору по очереди; вернуть список их return-значений."""
    results = []
    for gen in gens:
        try:
            results.append((yield from gen))
        except Exception:
            results.append(None)
    return results
'''),
    Variant("run_all", "plus_equals_list", valid=True, source='''
def run_all(gens):
    """Делегировать каждому генератору по очереди; вернуть список их return-значений."""
    outcomes = []
    for sub in list(gens):
        value = yield from sub
        outcomes += [value]
    return outcomes
'''),
]

VARIANTS += [
    # --- borrowed (contextmanager с уборкой)
    Variant("borrowed", "no_finally", message="finally вокруг yield", source=_BORROWED_HEAD + '''    yield item
    pool.append(item)
'''),
    Variant("borrowed", "except_exception_swallows", message="проглотил", source=_BORROWED_HEAD + '''    try:
        yield item
    except Exception:
        pass
    pool.append(item)
'''),
    Variant("borrowed", "except_exception_reraise", message="except Exception не ловит", source=_BORROWED_HEAD + '''    try:
        yield item
    except Exception:
        pool.append(item)
        raise
    else:
        pool.append(item)
'''),
    Variant("borrowed", "return_in_finally", message="проглотил", source=replace(
        "        pool.append(item)\n", "        pool.append(item)\n        return\n")),
    Variant("borrowed", "pop_inside_try", message="Пустой pool", source='''
@contextlib.contextmanager
def borrowed(pool):
    """Взять предмет из pool на время блока with и вернуть его при любом выходе."""
    item = None
    try:
        item = pool.pop()
        yield item
    except IndexError:
        raise LookupError("пусто") from None
    finally:
        pool.append(item)
'''),
    Variant("borrowed", "takes_first", source=replace("item = pool.pop()", "item = pool.pop(0)")),
    Variant("borrowed", "else_and_except_base", valid=True, source='''
@contextlib.contextmanager
def borrowed(pool):
    """Взять предмет из pool на время блока with и вернуть его при любом выходе."""
    try:
        thing = pool.pop()
    except IndexError:
        raise LookupError("в пуле ничего нет") from None
    try:
        yield thing
    except BaseException:
        pool.append(thing)
        raise
    else:
        pool.append(thing)
'''),
]

VARIANTS += [  # однострочные ошибки
    Variant("chunked", "islice_one_more", replace("itertools.islice(it, n)", "itertools.islice(it, n + 1)")),
    Variant("run_all", "yields_the_generator", replace("results.append((yield from gen))", "results.append((yield gen))")),
]
