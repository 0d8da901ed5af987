"""Нагрузки для демонстраций и упражнений: «ждущие» (I/O) и «считающие» (CPU).

Почему в модуле, а не в ячейке: пул процессов передаёт функцию дочернему процессу по имени
(pickle). При запуске через spawn/forkserver (macOS, Windows; Linux с 3.14) функцию,
определённую в ячейке, дочерний процесс найти не может — её ищут в `__main__` ноутбука.
Функции из импортируемого модуля работают при любом способе запуска.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def wait_io(seconds: float) -> float:
    """Имитировать ожидание ввода-вывода (сеть, диск): спать и вернуть, сколько спали.

    `time.sleep` отпускает GIL, поэтому такие задачи в потоках действительно ждут вместе.
    """
    time.sleep(seconds)
    return seconds


def fib(n: int) -> int:
    """Намеренно медленное рекурсивное число Фибоначчи: чистый Python, держит GIL."""
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def count_primes(limit: int) -> int:
    """Сколько простых чисел меньше `limit` — перебором делителей, чисто на Python."""
    count = 0
    for candidate in range(2, limit):
        divisor = 2
        while divisor * divisor <= candidate:
            if candidate % divisor == 0:
                break
            divisor += 1
        else:
            count += 1
    return count


def spin(seconds: float) -> int:
    """Крутить пустой цикл `seconds` секунд процессорного времени; вернуть число итераций."""
    deadline = time.thread_time() + seconds
    loops = 0
    while time.thread_time() < deadline:
        loops += 1
    return loops


def whoami(tag: object = None) -> tuple[object, int, str]:
    """Вернуть (tag, pid, имя потока): кто на самом деле выполнил задачу.

    Держит задачу 50 мс, чтобы пул успел раздать задачи разным исполнителям.
    """
    time.sleep(0.05)
    return tag, os.getpid(), threading.current_thread().name


def call_with_pid(func: Callable[[T], R], item: T) -> tuple[int, R]:
    """Вызвать `func(item)` и вернуть `(pid, результат)` — pid процесса, где вызов выполнялся.

    Зачем: дочерний процесс работает со своей копией памяти, и записать «кто что посчитал» в
    словарь родителя он не может. Узнать это можно, только вернув pid вместе с результатом.
    Функция живёт в модуле, чтобы пул процессов нашёл её при любом способе запуска.
    """
    return os.getpid(), func(item)
