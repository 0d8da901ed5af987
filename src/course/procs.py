"""Процессы и пулы (тема 03): функции для дочерних процессов, счётчик сообщений пула, их уборка.

Почему всё это в модуле, а не в ячейках: пул процессов и `Process` передают дочернему
процессу функцию *по имени* (pickle сохраняет «модуль + имя», а не код). При запуске через
spawn/forkserver (macOS, Windows; Linux с Python 3.14) дочерний процесс импортирует модуль
заново и ищет функцию в нём; функцию из ячейки ноутбука он не найдёт — её «модуль» это
`__main__` ядра, которого у дочернего процесса нет. Функции отсюда работают при любом способе запуска.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Iterable, Sized
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import shared_memory
from typing import Any

STOP = None
"""Метка конца очереди («сигнальное значение», sentinel): получив её, потребитель выходит."""


def is_prime(number: int) -> bool:
    """Простое ли число — перебором нечётных делителей до корня, на чистом Python."""
    if number < 2:
        return False
    if number % 2 == 0:
        return number == 2
    return all(number % d for d in range(3, int(number**0.5) + 1, 2))


def count_primes_range(start: int, stop: int) -> tuple[int, int]:
    """Сколько простых в `[start, stop)` и кто считал: вернуть (количество, pid процесса).

    Кусок диапазона — единица работы для пула: по pid видно, что считал не процесс ядра.
    """
    return sum(1 for n in range(start, stop) if is_prime(n)), os.getpid()


def square(x: int) -> int:
    """Крошечная задача: вычислить x * x. Работы почти нет — почти всё время уйдёт на пересылку."""
    return x * x


def payload_size(data: Sized) -> int:
    """Принять большой аргумент (список, байты) и вернуть маленький ответ — его длину.

    Так платим за pickle и канал только в одну сторону; сравните с `echo`.
    """
    return len(data)


def echo(data: Any) -> Any:
    """Вернуть аргумент как есть: большие данные едут туда и обратно, платим дважды."""
    return data


def square_consumer(tasks: Any, results: Any) -> None:
    """Потребитель для `multiprocessing.Queue`: брать числа из `tasks` до метки `STOP`.

    На каждое число кладёт в `results` тройку (число, квадрат, pid). Метку `STOP` каждый
    потребитель забирает ровно одну — поэтому производитель кладёт их столько, сколько
    потребителей. Без метки потребитель ждёт вечно, и `join()` родителя не вернётся.
    """
    while True:
        item = tasks.get()
        if item is STOP:
            return
        results.put((item, item * item, os.getpid()))


def slow_square_consumer(tasks: Any, results: Any, first_delay: float = 1.5) -> None:
    """Как `square_consumer`, но первый результат каждый потребитель отдаёт через `first_delay` секунд.

    Для проверок: родитель, который не ждёт результаты `get()`, а спит и потом собирает то,
    что уже лежит в очереди (`while not results.empty()`), недосчитается результатов при
    каждом запуске, а не только на медленной машине.
    """
    first = True
    while True:
        item = tasks.get()
        if item is STOP:
            return
        if first:
            time.sleep(first_delay)
            first = False
        results.put((item, item * item, os.getpid()))


PAUSE = 1e-4
"""Пауза (с) между чтением и записью в `add_to_counter`: окно, в которое влезает другой процесс."""


def add_to_counter(counter: Any, times: int, lock: Any = None) -> None:
    """Прибавить 1 к `counter.value` `times` раз: прочитать, уступить процессор, записать.

    Пауза `PAUSE` между чтением и записью — нарочно вставленная точка переключения: без
    блокировки другой процесс успевает прочитать то же старое значение, и прибавки теряются
    каждый раз, а не «иногда». Пауза не нулевая, чтобы дочерние процессы, запущенные друг за другом,
    точно успели поработать одновременно. С `lock` (например, `counter.get_lock()`) чтение и запись
    идут под одной блокировкой, и ничего не теряется.
    """
    for _ in range(times):
        if lock is None:
            _read_pause_write(counter)
        else:
            with lock:
                _read_pause_write(counter)


def _read_pause_write(counter: Any) -> None:
    value = counter.value
    time.sleep(PAUSE)
    counter.value = value + 1


def fill_shared(name: str, size: int, value: int) -> int:
    """Подключиться к общей памяти `name`, записать `value` в первые `size` байт; вернуть pid.

    Ребёнок не получает копию данных: он открывает тот же сегмент памяти по имени, поэтому
    запись видна родителю без pickle. Закрыть (`close`) должен каждый, удалить (`unlink`) —
    один, создатель.
    """
    block = shared_memory.SharedMemory(name=name)
    try:
        block.buf[:size] = bytes([value]) * size
    finally:
        block.close()
    return os.getpid()


def reap_new_children(before: Iterable[Any] = ()) -> int:
    """Убить и дождаться дочерних процессов, которых не было в снимке `before`; вернуть их число.

    Для тестов упражнений: снимок `set(multiprocessing.active_children())` до вызова кода
    студента, после — проверка «новых дочерних процессов не осталось». Забытый потребитель (нет метки
    `STOP`) иначе висел бы до конца ядра и мешал проверкам следующих упражнений.
    """
    known = set(before)
    extra = [child for child in multiprocessing.active_children() if child not in known]
    for child in extra:
        child.kill()
    for child in extra:
        child.join(5)
    return len(extra)


class CountingProcessPool(ProcessPoolExecutor):
    """`ProcessPoolExecutor`, который считает отправленные задачи — «сообщения» дочерним процессам.

    Каждое `submit` — одна пачка аргументов, упакованная pickle и отправленная по каналу.
    `map(fn, items, chunksize=k)` внутри делает `submit` на каждый кусок из k элементов,
    поэтому `messages` показывает, сколько раз пул на самом деле обращался к дочерним процессам.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._count_lock = threading.Lock()
        self.messages = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future:
        with self._count_lock:
            self.messages += 1
        return super().submit(fn, *args, **kwargs)


def shout(conn: Any) -> None:
    """Конец канала `Pipe` в дочернем процессе: отвечать на каждую строку ею же ЗАГЛАВНЫМИ.

    Работает, пока не придёт `STOP`; потом закрывает свой конец канала.
    """
    for message in iter(conn.recv, STOP):
        conn.send(message.upper())
    conn.close()


def increment_plain(counter: Any, times: int, go: Any = None) -> None:
    """`counter.value += 1` `times` раз — без общей блокировки на чтение и запись вместе.

    Даже у синхронизированного `Value` (lock=True по умолчанию) блокировка берётся отдельно
    на чтение и отдельно на запись, поэтому `+=` из нескольких процессов теряет прибавки.
    `go` (например, `multiprocessing.Event`) — стартовый сигнал: дочерние процессы ждут его и начинают
    вместе, иначе первый может закончить раньше, чем запустится второй.
    """
    if go is not None:
        go.wait()
    for _ in range(times):
        counter.value += 1


def ticket_terminal(counter: Any, ready: Any, stop: Any, out: Any, pause: float = 2e-4) -> None:
    """Терминал кассы в дочернем процессе: брать номера билетов из общего `counter`, пока не `stop`.

    Номер берётся под блокировкой самого Value (`counter.get_lock()`): прочитать, прибавить 1,
    записать — и это и есть номер билета. После первого билета терминал кладёт в `ready`
    метку, что работает; в конце кладёт в `out` список своих номеров. Пауза `pause` — *вне*
    блокировки, чтобы терминалы не захватывали её подряд и родитель тоже мог взять номер.
    """
    taken = []
    while not stop.is_set() or not taken:
        with counter.get_lock():
            number = counter.value + 1
            counter.value = number
        taken.append(number)
        if len(taken) == 1:
            ready.put(os.getpid())
        time.sleep(pause)
    out.put(taken)


class SlowValue:
    """Обёртка над `multiprocessing.Value` для проверок: чтение `.value` — с окнами уступки.

    Перед чтением и после него поток засыпает на `pause` секунд, так что «прочитать —
    прибавить — записать» без общей блокировки пропускает чужие прибавки (детей и других
    потоков) при каждом запуске, а чтение номера *после* выхода из блокировки видит чужой
    номер. `get_lock()`, `with`, `get_obj()` ведут к настоящему Value.
    """

    def __init__(self, real: Any, pause: float = 5e-4) -> None:
        self._real = real
        self._pause = pause

    @property
    def value(self) -> Any:
        time.sleep(self._pause)
        seen = self._real.value
        time.sleep(self._pause)
        return seen

    @value.setter
    def value(self, new: Any) -> None:
        self._real.value = new

    def get_lock(self) -> Any:
        return self._real.get_lock()

    def get_obj(self) -> Any:
        return self._real.get_obj()

    def __enter__(self) -> Any:
        return self._real.__enter__()

    def __exit__(self, *exc: object) -> Any:
        return self._real.__exit__(*exc)


def ticket_rush(
    next_ticket: Any, terminals: int = 2, threads: int = 3, calls: int = 60, timeout: float = 15.0
) -> tuple[list[int], list[int], int]:
    """Номера билетов берут `terminals` дочерних процессов и `threads` потоков этого процесса сразу.

    Потоки вызывают `next_ticket(counter)` по `calls` раз (counter — `SlowValue` над общим
    `Value("i", 0)`), пока терминалы (`ticket_terminal`) берут номера под `counter.get_lock()`.
    Вернуть (номера, полученные потоками; номера терминалов; итог счётчика). Все номера
    вместе должны быть ровно 1…итог без повторов. Исключение из `next_ticket` пробрасывается.
    """
    ctx = multiprocessing.get_context()
    real = ctx.Value("i", 0)
    ready, out, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    children = [ctx.Process(target=ticket_terminal, args=(real, ready, stop, out)) for _ in range(terminals)]
    for child in children:
        child.start()
    got: list[int] = []
    errors: list[BaseException] = []
    guard = threading.Lock()
    try:
        for _ in children:
            ready.get(timeout=timeout)  # все терминалы уже работают
        slow = SlowValue(real)

        def cashier() -> None:
            try:
                mine = [next_ticket(slow) for _ in range(calls)]
            except BaseException as exc:  # noqa: BLE001 — отдаём вызывающему
                with guard:
                    errors.append(exc)
                return
            with guard:
                got.extend(mine)

        workers = [threading.Thread(target=cashier, name=f"касса {i}", daemon=True) for i in range(threads)]
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + timeout
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        if any(worker.is_alive() for worker in workers):
            raise TimeoutError(
                f"next_ticket не вернулась за {timeout:g} с: ждёт блокировку, которую не отпустили?"
            )
        stop.set()
        terminal_numbers: list[int] = []
        for _ in children:
            terminal_numbers.extend(out.get(timeout=timeout))
    finally:
        stop.set()
        for child in children:
            child.join(1.0)
            if child.is_alive():  # терминал ждёт блокировку, которую так и не отпустили
                child.kill()
                child.join(5)
    if errors:
        raise errors[0]
    return got, terminal_numbers, real.value
