"""Генераторы и конвейеры: большой «ленивый» вход, счётчик вытянутых элементов, пик памяти.

Зачем: тема 05 утверждает, что конвейер из генераторов работает в постоянной памяти и берёт
из источника ровно столько, сколько нужно потребителю. Утверждение надо доказать, а не
пересказать: `log_lines` даёт сколь угодно длинный (и даже бесконечный) поток строк, не
храня его; `CountingIterator` считает, сколько элементов из него вытянули; `peak_memory`
меряет пик выделенной памяти через `tracemalloc`. Те же инструменты используют тесты
упражнений — поэтому они в модуле, а не в ячейке.
"""

from __future__ import annotations

import itertools
import tracemalloc
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

LEVELS = ("INFO", "INFO", "INFO", "DEBUG", "INFO", "WARN", "INFO", "DEBUG", "ERROR", "INFO")


def log_line(number: int) -> str:
    """Строка журнала номер `number` — всегда одна и та же (без случайности).

    Уровень повторяется с периодом 10 (одна ERROR и одна WARN на десять строк),
    пользователь — с периодом 97; так легко посчитать ожидаемый ответ для проверки.
    """
    level = LEVELS[number % len(LEVELS)]
    return f"{number:08d} {level:5} user{number * 7 % 97:02d} request took {number % 1000} ms"


def log_lines(count: int | None = None, start: int = 0) -> Iterator[str]:
    """Ленивый поток строк журнала: `count` строк, начиная с номера `start` (None — бесконечно).

    Ничего не хранит: каждая строка создаётся, когда её попросили. Не путать со списком
    строк — `log_lines(10**9)` создаётся мгновенно и почти не занимает памяти.
    """
    numbers = itertools.count(start) if count is None else range(start, start + count)
    return map(log_line, numbers)


class CountingIterator(Iterator[T]):
    """Обёртка над итерируемым: считает, сколько элементов из неё вытянули (`pulled`).

    Так проверяют ленивость: если потребителю нужны два элемента, а из источника вытянули
    миллион, — кто-то по дороге собрал всё в список. `limit` — аварийный тормоз: вытянуть
    больше `limit` элементов нельзя (RuntimeError), чтобы жадный код над бесконечным входом
    падал с понятным сообщением, а не съедал память.
    """

    def __init__(self, iterable: Iterable[T], limit: int | None = None) -> None:
        self._it = iter(iterable)
        self.pulled = 0
        self.limit = limit

    def __iter__(self) -> CountingIterator[T]:
        return self

    def __next__(self) -> T:
        if self.limit is not None and self.pulled >= self.limit:
            raise RuntimeError(
                f"из источника вытянули больше {self.limit} элементов: похоже, код читает "
                "весь вход сразу (list(...), sorted(...), len(...)) вместо того, чтобы брать "
                "элементы по одному"
            )
        item = next(self._it)
        self.pulled += 1
        return item


def peak_memory(func: Callable[..., T], *args: Any) -> tuple[T, int]:
    """Вызвать `func(*args)`; вернуть (результат, пик памяти в байтах, выделенной за вызов).

    Меряет `tracemalloc` — только память объектов Python, зато точно и одинаково на любой
    машине. Если трассировка уже включена снаружи, её не выключаем. Пик считается от уровня
    до вызова, так что мусор, созданный раньше, не попадает в замер.
    """
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        result = func(*args)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return result, max(0, peak - before)


def exhaust(gen: Generator[T, Any, Any]) -> tuple[list[T], Any]:
    """Прогнать генератор до конца: вернуть (список выданных значений, значение его `return`).

    Цикл `for` значение `return` молча выбрасывает (оно едет в `StopIteration.value`);
    здесь оно сохраняется — как это делает `yield from`.
    """
    items: list[T] = []
    while True:
        try:
            items.append(next(gen))
        except StopIteration as stop:
            return items, stop.value


def format_bytes(size: float) -> str:
    """Размер по-человечески: 512 Б, 3.4 КБ, 12.0 МБ."""
    if size < 1024:
        return f"{size:.0f} Б"
    if size < 1024**2:
        return f"{size / 1024:.1f} КБ"
    return f"{size / 1024**2:.1f} МБ"
