# ruff: noqa: E501 — варианты — это код ячеек, строка правки должна совпасть с эталоном целиком
"""Тема 06: свой цикл событий — Future, планировщик по кругу, таймеры, сокеты."""

from collections.abc import Callable

from corpus.runner import Variant, replace

NOTEBOOK = "06-event-loop"


def both(*mutations: Callable[[str], str]) -> Callable[[str], str]:
    """Несколько однострочных правок эталона подряд."""
    def mutate(reference: str) -> str:
        for change in mutations:
            reference = change(reference)
        return reference
    return mutate

_FUTURE_HEAD = '''
class SimpleFuture:
    """Обещанный результат: колбэки по порядку и по одному разу, исключение — из result()."""

    def __init__(self):
        self._done = False
        self._value = None
        self._error = None
        self._callbacks = []

    def done(self):
        return self._done

    def result(self):
        if not self._done:
            raise RuntimeError("рано")
        if self._error is not None:
            raise self._error
        return self._value
'''

VARIANTS = [
    # --- simple_future
    Variant("simple_future", "callbacks_rerun_on_late_add", message="ровно один", source=_FUTURE_HEAD + '''
    def _run(self):
        for fn in self._callbacks:
            fn(self)

    def add_done_callback(self, fn):
        self._callbacks.append(fn)
        if self._done:
            self._run()

    def set_result(self, value):
        if self._done:
            raise RuntimeError("уже")
        self._done, self._value = True, value
        self._run()

    def set_exception(self, exc):
        if self._done:
            raise RuntimeError("уже")
        self._done, self._error = True, exc
        self._run()
'''),
    Variant("simple_future", "second_set_overwrites", message="RuntimeError", source=replace(
        '        if self._done:\n            raise RuntimeError("результат уже положен")\n        self._done, self._value = True, value',
        "        self._done, self._value = True, value")),
    Variant("simple_future", "result_returns_error", message="поднять то же самое исключение", source=replace(
        "            raise self._error", "            return self._error")),
    Variant("simple_future", "callbacks_reversed", message="порядке добавления", source=replace(
        "        callbacks, self._callbacks = self._callbacks, []\n        for fn in callbacks:\n            fn(self)\n        ### END SOLUTION\n\n    def set_exception",
        "        while self._callbacks:\n            self._callbacks.pop()(self)\n        ### END SOLUTION\n\n    def set_exception")),
    Variant("simple_future", "callback_without_argument", message="ваш код поднял TypeError", source=_FUTURE_HEAD + '''
    def add_done_callback(self, fn):
        if self._done:
            fn()
        else:
            self._callbacks.append(fn)

    def set_result(self, value):
        if self._done:
            raise RuntimeError("уже")
        self._done, self._value = True, value
        for fn in self._callbacks:
            fn()
        self._callbacks = []

    def set_exception(self, exc):
        if self._done:
            raise RuntimeError("уже")
        self._done, self._error = True, exc
        for fn in self._callbacks:
            fn()
        self._callbacks = []
'''),
    Variant("simple_future", "late_callback_never_called", message="вызван сразу", source=replace(
        "        if self._done:\n            fn(self)\n        else:\n            self._callbacks.append(fn)",
        "        self._callbacks.append(fn)")),
    Variant("simple_future", "state_string_and_sentinel", valid=True, source='''
_NOTHING = object()


class SimpleFuture:
    """Обещанный результат: колбэки по порядку и по одному разу, исключение — из result()."""

    def __init__(self):
        self._state = "ждёт"
        self._outcome = _NOTHING
        self._failure = None
        self._waiting = []

    def done(self):
        return self._state != "ждёт"

    def add_done_callback(self, fn):
        if self.done():
            fn(self)
            return
        self._waiting.append(fn)

    def _finish(self, state, outcome=_NOTHING, failure=None):
        if self.done():
            raise RuntimeError(f"Future уже в состоянии {self._state}")
        self._state, self._outcome, self._failure = state, outcome, failure
        waiting, self._waiting = self._waiting, []
        for fn in waiting:
            fn(self)

    def set_result(self, value):
        self._finish("готов", outcome=value)

    def set_exception(self, exc):
        self._finish("ошибка", failure=exc)

    def result(self):
        if self._state == "ждёт":
            raise RuntimeError("результата ещё нет")
        if self._state == "ошибка":
            raise self._failure
        return self._outcome
'''),
    # --- run_tasks
    Variant("run_tasks", "results_in_finish_order", message="в порядке окончания", source='''
def run_tasks(tasks):
    """Выполнить генераторы по кругу; вернуть их результаты в порядке списка."""
    queue = deque(tasks)
    results = []
    while queue:
        task = queue.popleft()
        try:
            next(task)
        except StopIteration as stop:
            results.append(stop.value)
        else:
            queue.append(task)
    return results
'''),
    Variant("run_tasks", "each_to_completion", message="уходит в конец очереди", source='''
def run_tasks(tasks):
    """Выполнить генераторы по кругу; вернуть их результаты в порядке списка."""
    results = []
    for task in tasks:
        while True:
            try:
                next(task)
            except StopIteration as stop:
                results.append(stop.value)
                break
    return results
'''),
    Variant("run_tasks", "lifo_appendleft", replace("            queue.append((index, task))", "            queue.appendleft((index, task))")),
    Variant("run_tasks", "forgets_value", replace("results[index] = stop.value", "results[index] = None")),
    Variant("run_tasks", "passes_over_list", valid=True, source='''
def run_tasks(tasks):
    """Выполнить генераторы по кругу; вернуть их результаты в порядке списка."""
    results = {}
    alive = list(range(len(tasks)))
    while alive:
        still = []
        for i in alive:
            try:
                next(tasks[i])
                still.append(i)
            except StopIteration as stop:
                results[i] = stop.value
        alive = still
    return [results[i] for i in range(len(tasks))]
'''),
    # --- run_with_sleep
    Variant("run_with_sleep", "busy_wait", message="активное ожидание", source=replace(
        "            delay = sleeping[0][0] - clock()\n            if delay > 0:\n                sleep(delay)\n",
        "            pass\n")),
    Variant("run_with_sleep", "no_tie_breaker", message="уникальным номером", source=both(
        replace("heapq.heappush(sleeping, (clock() + (delay or 0), next(order), index, task))",
                "heapq.heappush(sleeping, (clock() + (delay or 0), task, index))"),
        replace("_, _, index, task = heapq.heappop(sleeping)", "_, task, index = heapq.heappop(sleeping)"))),
    Variant("run_with_sleep", "sleeps_in_turn", message="задачи спали по очереди", source='''
import itertools


def run_with_sleep(tasks, clock, sleep):
    """Выполнить задачи-генераторы; `yield d` — сон d секунд через кучу таймеров."""
    results = [None] * len(tasks)
    queue = deque(enumerate(tasks))
    while queue:
        index, task = queue.popleft()
        try:
            delay = next(task)
        except StopIteration as stop:
            results[index] = stop.value
        else:
            if delay:
                sleep(delay)
            queue.append((index, task))
    return results
'''),
    Variant("run_with_sleep", "bare_yield_none", message="голый yield", source=replace(
        "(clock() + (delay or 0), next(order), index, task)", "(clock() + delay, next(order), index, task)")),
    Variant("run_with_sleep", "tie_by_list_index", message="кто раньше уснул", source=both(
        replace("(clock() + (delay or 0), next(order), index, task)", "(clock() + (delay or 0), index, next(order), task)"),
        replace("_, _, index, task = heapq.heappop(sleeping)", "_, index, _, task = heapq.heappop(sleeping)"))),
    Variant("run_with_sleep", "everything_through_heap", valid=True, source='''
import itertools


def run_with_sleep(tasks, clock, sleep):
    """Выполнить задачи-генераторы; `yield d` — сон d секунд через кучу таймеров."""
    results = [None] * len(tasks)
    ticket = itertools.count()
    timers = []
    ready = deque(enumerate(tasks))
    while ready or timers:
        now = clock()
        while timers and timers[0][0] <= now:
            _, _, pair = heapq.heappop(timers)
            ready.append(pair)
        if not ready:
            sleep(timers[0][0] - now)
            continue
        number, gen = ready.popleft()
        try:
            pause = next(gen)
        except StopIteration as finished:
            results[number] = finished.value
            continue
        heapq.heappush(timers, (clock() + (pause or 0), next(ticket), (number, gen)))
    return results
'''),
    # --- run_echo_clients
    Variant("run_echo_clients", "never_closes", message="не закрыл ваш код", source=replace(
        "        finally:\n            sock.close()\n", "        finally:\n            pass\n")),
    Variant("run_echo_clients", "clients_in_turn", message="клиенты работали по очереди", source=replace(
        "        tasks = [loop.create_task(client(messages)) for messages in conversations]\n        return [await task for task in tasks]",
        "        return [await loop.create_task(client(messages)) for messages in conversations]"), picture="sequential"),
    Variant("run_echo_clients", "single_recv", message="в цикле", source=replace(
        "                while not reply.endswith(b\"\\n\"):\n", "                for _ in range(1):\n")),
    Variant("run_echo_clients", "reawaits_coroutines", message="ваш код поднял RuntimeError", source=replace(
        "        tasks = [loop.create_task(client(messages)) for messages in conversations]\n        return [await task for task in tasks]",
        "        coros = [client(messages) for messages in conversations]\n"
        "        for coro in coros:\n            loop.create_task(coro)\n"
        "        results = []\n        for coro in coros:\n            results.append(await coro)\n        return results")),
    Variant("run_echo_clients", "with_socket_and_done_callbacks", valid=True, source='''
def run_echo_clients(address, conversations):
    """Запустить по эхо-клиенту на разговор одновременно на Loop; вернуть ответы по разговорам."""
    async def talk(lines):
        loop = get_running_loop()
        with socket.socket() as conn:
            conn.setblocking(False)
            await loop.sock_connect(conn, address)
            answers = []
            for line in lines:
                await loop.sock_sendall(conn, line)
                buffer = bytearray()
                while b"\\n" not in buffer:
                    piece = await loop.sock_recv(conn, 1024)
                    if not piece:
                        break
                    buffer += piece
                answers.append(bytes(buffer))
        return answers

    async def everyone():
        loop = get_running_loop()
        running = [loop.create_task(talk(lines)) for lines in conversations]
        out = []
        for task in running:
            out.append(await task)
        return out

    loop = Loop()
    try:
        return loop.run_until_complete(everyone())
    finally:
        loop.close()
'''),
]

VARIANTS += [  # однострочные ошибки
    Variant("run_echo_clients", "blocking_socket", message="setblocking(False)", source=replace(
        "        sock.setblocking(False)\n", "")),
]
