"""Замеры: одна и та же работа последовательно, в потоках и в процессах — и график.

Одна «обвязка» и сменные стратегии (как spinner_thread / spinner_proc у Fluent Python):
меняется только то, *как* запускаются задачи, поэтому разница во времени — это разница
стратегий. Время считаем двумя часами: по часам (`perf_counter`) и процессорное (`os.times`,
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
    """Результат замера: подпись, время по часам и процессорное время (секунды)."""

    label: str
    wall: float
    cpu: float

    @property
    def cpu_share(self) -> float:
        """Доля процессорного времени от времени по часам (больше 1 — считали на нескольких ядрах)."""
        return self.cpu / self.wall if self.wall > 0 else 0.0


def cpu_seconds() -> float:
    """Процессорное время этого процесса и его завершённых дочерних процессов (user + system)."""
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


def best_of(repeats: int, label: str, func: Callable[..., Any], *args: Any) -> tuple[Timing, Any]:
    """Выполнить `func(*args)` `repeats` раз; вернуть самый быстрый по часам замер и результат.

    Зачем: на занятой машине (Binder, соседние программы) отдельный замер может попасть на
    всплеск чужой нагрузки. Лучший из нескольких ближе всего к тому, сколько работа стоит
    сама по себе; процессорное время берём из того же прогона.
    """
    best: tuple[Timing, Any] | None = None
    for _ in range(max(1, repeats)):
        timing, result = timed(label, func, *args)
        if best is None or timing.wall < best[0].wall:
            best = (timing, result)
    assert best is not None
    return best


def compare(
    func: Callable[[Any], Any],
    items: Sequence[Any],
    workers: int,
    strategies: Iterable[str] = tuple(STRATEGIES),
    repeats: int = 1,
) -> list[Timing]:
    """Выполнить одну работу каждой стратегией (лучший из `repeats` прогонов); сверить результаты."""
    timings, results = [], []
    for name in strategies:
        timing, result = best_of(repeats, name, STRATEGIES[name], func, items, workers)
        timings.append(timing)
        results.append(result)
    if any(r != results[0] for r in results):
        raise RuntimeError("стратегии вернули разные результаты — замер недостоверен")
    return timings


BUSY_SHARE = 0.8  # меньше этой доли ядра у последовательного счёта — машина занята кем-то ещё


def busy_note(sequential: Timing) -> str:
    """«Машина занята: …», если последовательному счёту досталось заметно меньше одного ядра.

    Последовательный счёт на свободной машине занимает ядро целиком (процессор / часы ≈ 1).
    Если доля меньше, часть времени по часам он ждал своей очереди к ядру — и сравнивать
    способы по часам нечестно. Пустая строка, если машина свободна.
    """
    share = sequential.cpu_share
    if share >= BUSY_SHARE:
        return ""
    return (
        f"Машина занята: последовательному счёту досталось {share:.2f} ядра вместо 1 — время по "
        "часам сейчас больше говорит о чужой нагрузке, чем о способах. Сравнивайте процессорное "
        "время и долю «процессор / часы»."
    )


def describe_cpu_comparison(timings: Sequence[Timing], cores: int) -> str:
    """Вывод о счёте последовательно / в потоках / в процессах — по измеренным числам.

    Текст лекции не обещает цифр, которые занятая машина опровергнет: что потоки «не
    быстрее», проверяем по процессорному времени (работы у них не меньше) и по доле ядра
    (больше одного ядра с GIL они не занимают), а время по часам комментируем как есть.
    """
    by_label = {t.label: t for t in timings}
    seq, thr, proc = (by_label[name] for name in STRATEGIES)
    lines = [note] if (note := busy_note(seq)) else []
    thread_speed = seq.wall / thr.wall if thr.wall > 0 else 0.0
    lines.append(
        f"потоки: процессорного времени {thr.cpu:.2f} с против {seq.cpu:.2f} с у последовательного "
        f"счёта (×{thr.cpu / seq.cpu if seq.cpu else 0:.2f}) — работа та же; занято в среднем "
        f"{thr.cpu_share:.2f} ядра."
    )
    if thr.cpu_share > 1.3:
        lines.append("  Больше одного ядра: похоже, это сборка без GIL — потоки считали параллельно.")
    elif thread_speed > 1.1:
        lines.append(
            f"  По часам потоки вышли в {thread_speed:.1f} раза быстрее — это не параллельность: на "
            "занятой машине ОС делит ядра между потоками всех программ, и четыре наших потока "
            "получили больше долей, чем один. Больше одного ядра сразу они не заняли."
        )
    elif thread_speed < 0.9:
        lines.append(f"  По часам потоки даже медленнее (×{thread_speed:.2f}): GIL и переключения.")
    else:
        lines.append(f"  По часам — примерно столько же, сколько последовательно (×{thread_speed:.2f}): GIL.")
    proc_speed = seq.wall / proc.wall if proc.wall > 0 else 0.0
    lines.append(
        f"процессы: занято в среднем {proc.cpu_share:.2f} ядра из {cores} доступных, по часам "
        f"×{proc_speed:.2f} к последовательному счёту."
    )
    if proc.cpu_share < 1.3 and cores > 1:
        lines.append("  Больше одного ядра процессам не досталось — машина занята; повторите позже.")
    elif proc_speed > 1.1 * cores:
        lines.append(f"  Ускорение больше числа ядер ({cores}) — тоже след занятой машины: последовательному "
                     "счёту досталось меньше долей процессора, чем процессам.")
    return "\n".join(lines)


def plot_timings(
    groups: dict[str, list[Timing]], title: str = "", note: str = "", sharey: bool = False
) -> Any:
    """Столбики времени по часам (и процессорного — штриховкой) для групп замеров.

    groups: {"ожидание (sleep)": [Timing…], "вычисления": [Timing…]} — по рисунку на группу.
    sharey=True — общая шкала секунд у всех панелей: нужна, когда панели сравнивают между
    собой (потоки против процессов), иначе одинаковые на вид столбики означают разное время.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(groups), figsize=(5 * len(groups), 3.6), squeeze=False, sharey=sharey)
    for ax, (group, timings) in zip(axes[0], groups.items(), strict=True):
        labels = [t.label for t in timings]
        x = range(len(timings))
        ax.bar([i - 0.2 for i in x], [t.wall for t in timings], 0.4, label="по часам")
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
