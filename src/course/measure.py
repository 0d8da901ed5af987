"""Замеры: одна и та же работа последовательно, в потоках и в процессах — и график.

Одна «обвязка» и сменные стратегии (как spinner_thread / spinner_proc у Fluent Python):
меняется только то, *как* запускаются задачи, поэтому разница во времени — это разница
стратегий. Время считаем двумя часами: по стене (`perf_counter`) и процессорное (`os.times`,
вместе с завершёнными дочерними процессами) — их отношение и отличает ожидание от счёта.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

Runner = Callable[[Callable[[Any], Any], Sequence[Any], int], list[Any]]


@dataclass(frozen=True)
class Timing:
    """Результат замера: подпись, время по стене и процессорное время (секунды)."""

    label: str
    wall: float
    cpu: float

    @property
    def cpu_share(self) -> float:
        """Доля процессорного времени от времени по стене (больше 1 — считали на нескольких ядрах)."""
        return self.cpu / self.wall if self.wall > 0 else 0.0


def cpu_seconds() -> float:
    """Процессорное время этого процесса и его завершённых детей (user + system)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(label: str, func: Callable[..., Any], *args: Any) -> tuple[Timing, Any]:
    """Выполнить `func(*args)`, вернуть (Timing, результат)."""
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    result = func(*args)
    wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
    return Timing(label, wall, cpu), result


def run_sequential(func: Callable[[Any], Any], items: Sequence[Any], workers: int = 1) -> list:
    """Одна задача за другой в текущем потоке (workers не используется)."""
    return [func(item) for item in items]


def run_threads(func: Callable[[Any], Any], items: Sequence[Any], workers: int) -> list:
    """Задачи в пуле из `workers` потоков; результаты в порядке входа."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(func, items))


def run_processes(func: Callable[[Any], Any], items: Sequence[Any], workers: int) -> list:
    """Задачи в пуле из `workers` процессов; `func` должна импортироваться из модуля."""
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(func, items))


STRATEGIES: dict[str, Runner] = {
    "последовательно": run_sequential,
    "потоки": run_threads,
    "процессы": run_processes,
}


def compare(
    func: Callable[[Any], Any],
    items: Sequence[Any],
    workers: int,
    strategies: Iterable[str] = tuple(STRATEGIES),
) -> list[Timing]:
    """Выполнить одну работу каждой стратегией; проверить, что результаты совпали."""
    timings, results = [], []
    for name in strategies:
        timing, result = timed(name, STRATEGIES[name], func, items, workers)
        timings.append(timing)
        results.append(result)
    if any(r != results[0] for r in results):
        raise RuntimeError("стратегии вернули разные результаты — замер недостоверен")
    return timings


def plot_timings(groups: dict[str, list[Timing]], title: str = "", note: str = "") -> Any:
    """Столбики времени по стене (и процессорного — штриховкой) для групп замеров.

    groups: {"ожидание (sleep)": [Timing…], "вычисления": [Timing…]} — по рисунку на группу.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(groups), figsize=(5 * len(groups), 3.6), squeeze=False)
    for ax, (group, timings) in zip(axes[0], groups.items(), strict=True):
        labels = [t.label for t in timings]
        x = range(len(timings))
        ax.bar([i - 0.2 for i in x], [t.wall for t in timings], 0.4, label="по стене")
        ax.bar(
            [i + 0.2 for i in x],
            [t.cpu for t in timings],
            0.4,
            label="процессор",
            hatch="//",
            alpha=0.6,
        )
        for i, t in enumerate(timings):
            ax.annotate(f"{t.wall:.2f} с", (i - 0.2, t.wall), ha="center", va="bottom", fontsize=8)
        ax.set_xticks(list(x), labels)
        ax.set_ylabel("секунды")
        ax.set_title(group)
        ax.legend(fontsize=8)
    if title or note:
        fig.suptitle(f"{title}\n{note}".strip(), fontsize=10)
    fig.tight_layout()
    return fig
