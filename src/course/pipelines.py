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


def plot_control_flow() -> Any:
    """Схема к разделам 5–7 темы 05: кто кого двигает и в какую сторону идут значения.

    Три полосы: (1) `send` — значение входит в генератор через `x = yield`, наружу выходит
    выданное; (2) `yield from` — делегирующий генератор — прозрачная труба: `send`/`throw`
    проходят в подгенератор, выданное — наружу, `return` подгенератора — значение выражения;
    (3) pull против push: у генераторов поток управления (`next`) идёт от потребителя к
    источнику, а данные — обратно; у корутин и то и другое идёт от источника (`send`).
    Рисунок статичный — это схема, а не замер. Возвращает matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 1, figsize=(9, 6.4))
    box = {"boxstyle": "round,pad=0.4", "facecolor": "#dfe9f5", "edgecolor": "#4c72b0"}

    def node(ax: Any, x: float, y: float, text: str) -> None:
        ax.text(x, y, text, ha="center", va="center", fontsize=9, bbox=box)

    def arrow(ax: Any, x0: float, x1: float, y: float, text: str, colour: str, dashed: bool = False) -> None:
        ax.annotate("", xy=(x1, y), xytext=(x0, y),
                    arrowprops={"arrowstyle": "-|>", "color": colour, "lw": 1.4,
                                "linestyle": "--" if dashed else "-", "shrinkA": 4, "shrinkB": 4})
        ax.text((x0 + x1) / 2, y + 0.09, text, ha="center", va="bottom", fontsize=8, color=colour)

    send, data = "#c44e52", "#55a868"
    ax = axes[0]
    node(ax, 0.12, 0.5, "вызывающий код")
    node(ax, 0.78, 0.5, "генератор\nx = yield значение")
    arrow(ax, 0.27, 0.62, 0.62, "gen.send(x): x приходит в точку yield", send)
    arrow(ax, 0.62, 0.27, 0.30, "выданное значение — результат send", data)
    ax.set_title("5. send: данные идут внутрь, выданное — наружу (throw и close входят так же)",
                 fontsize=9, loc="left")

    ax = axes[1]
    node(ax, 0.10, 0.5, "вызывающий код")
    node(ax, 0.50, 0.5, "делегирующий\nr = yield from sub")
    node(ax, 0.88, 0.5, "подгенератор sub")
    arrow(ax, 0.22, 0.38, 0.62, "send / throw", send)
    arrow(ax, 0.62, 0.78, 0.62, "проходят насквозь", send)
    arrow(ax, 0.78, 0.62, 0.30, "выданное; в конце return → r", data, dashed=True)
    arrow(ax, 0.38, 0.22, 0.30, "выданное — наружу", data)
    ax.set_title("6. yield from: делегирующий генератор — прозрачная труба", fontsize=9, loc="left")

    ax = axes[2]
    for y, labels, pull in ((0.62, ("источник", "фильтр", "потребитель: for"), True),
                            (0.12, ("источник: send", "фильтр", "сток"), False)):
        xs = (0.12, 0.50, 0.88)
        for x, text in zip(xs, labels, strict=True):
            node(ax, x, y, text)
        for a, b in ((0, 1), (1, 2)):
            if pull:
                arrow(ax, xs[b] - 0.11, xs[a] + 0.11, y + 0.10, "next()", send)
                arrow(ax, xs[a] + 0.11, xs[b] - 0.11, y - 0.12, "значение", data)
            else:
                arrow(ax, xs[a] + 0.11, xs[b] - 0.11, y, "send(значение)", send)
    for y, text in ((1.0, "pull (генераторы): управляет потребитель"),
                    (0.40, "push (корутины): управляет источник")):
        ax.text(0.0, y, text, fontsize=8, transform=ax.transAxes, va="top", style="italic")
    ax.set_title("7. Конвейеры: куда идёт управление (красное) и данные (зелёное)", fontsize=9, loc="left")
    for ax in axes:
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.axis("off")
    fig.suptitle("Рисунок 2. Кто кого двигает: send, yield from, pull и push", fontsize=10)
    fig.tight_layout()
    return fig
