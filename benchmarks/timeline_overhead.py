"""Сколько стоит запись course.timeline: отрезок, шаг задачи asyncio, память на отрезок.

Запуск: `.venv/bin/python benchmarks/timeline_overhead.py` (около 10 с). Это замер, а не тест.
Время — процессорное время процесса (`time.process_time`): вся работа идёт в одном потоке, а
часы по стене на общей нагруженной машине врут вдвое. Каждое число — лучшее из нескольких
повторов.
Цели (issue 4): ≤ 5 мкс на отрезок на 10⁵ отрезков; 10⁴ задач asyncio под записью — не
медленнее 1.5× без записи.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import time
import tracemalloc

from course.timeline import record, span

SPANS = 100_000
TASKS = 10_000
STEPS = 3  # await на задачу; шагов у задачи на один больше
REPEATS = 5


def best(func, repeats: int = REPEATS) -> float:
    """Лучшее процессорное время из нескольких повторов (секунды)."""
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.process_time()
        func()
        times.append(time.process_time() - start)
    return min(times)


def empty_loop() -> None:
    for _ in range(SPANS):
        pass


def spans_without_recording() -> None:
    for _ in range(SPANS):
        with span("x"):
            pass


def spans_recorded() -> None:
    with record():
        for _ in range(SPANS):
            with span("x"):
                pass


async def one_task() -> None:
    for _ in range(STEPS):
        await asyncio.sleep(0)


async def one_timed_task() -> None:
    for _ in range(STEPS):
        await asyncio.sleep(0.001)  # настоящее ожидание: таймер цикла, как у сети


async def tasks_plain(task=one_task) -> None:
    await asyncio.gather(*(task() for _ in range(TASKS)))


async def tasks_recorded(task=one_task) -> None:
    async with record():
        await asyncio.gather(*(task() for _ in range(TASKS)))


async def tasks_recorded_and_built() -> None:
    async with record() as rec:
        await asyncio.gather(*(one_task() for _ in range(TASKS)))
    assert len(rec.workers) == TASKS  # отрезки построены (как перед рисунком)


def spans_built() -> None:
    with record() as rec:
        for _ in range(SPANS):
            with span("x"):
                pass
    assert len(rec.spans) == SPANS


def memory_per_span() -> tuple[float, float]:
    """Байт на отрезок: пока запись открыта (сырые кортежи) и готовыми Span для рисунка."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    with record() as rec:
        for _ in range(SPANS):
            with span("x"):
                pass
        raw = tracemalloc.get_traced_memory()[0] - base
    assert len(rec.spans) == SPANS
    closed = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    return raw / SPANS, closed / SPANS


def memory_per_step() -> float:
    """Байт на шаг задачи asyncio, пока запись открыта (без памяти самих задач)."""

    async def measured() -> float:
        tasks = [asyncio.ensure_future(one_task()) for _ in range(TASKS)]  # задачи вне записи
        async with record():
            gc.collect()
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
            for _ in range(STEPS + 1):
                await asyncio.sleep(0)  # каждая задача делает шаг
            grown = tracemalloc.get_traced_memory()[0] - base
            tracemalloc.stop()
        await asyncio.gather(*tasks)
        return grown

    return asyncio.run(measured()) / (TASKS * (STEPS + 1))


def main() -> None:
    print(f"Python {sys.version.split()[0]}, ядер {os.cpu_count()}, нагрузка {os.getloadavg()[0]:.1f}")
    loop_s = best(empty_loop)
    off_s = best(spans_without_recording)
    on_s = best(spans_recorded)
    print(f"\n{SPANS} отрезков `with span(...)` (лучшее из {REPEATS}):")
    print(f"  пустой цикл            {loop_s / SPANS * 1e6:6.2f} мкс на итерацию")
    print(f"  span вне записи        {(off_s - loop_s) / SPANS * 1e6:6.2f} мкс на отрезок")
    built_s = best(spans_built)
    print(f"  span в записи          {(on_s - loop_s) / SPANS * 1e6:6.2f} мкс на отрезок "
          f"(с закрытием записи; цель ≤ 5)")
    print(f"  то же и построить Span {(built_s - loop_s) / SPANS * 1e6:6.2f} мкс на отрезок "
          f"(так платит рисунок)")

    plain = best(lambda: asyncio.run(tasks_plain()))
    recorded = best(lambda: asyncio.run(tasks_recorded()))
    built = best(lambda: asyncio.run(tasks_recorded_and_built()))
    steps = TASKS * (STEPS + 1)
    print(f"\n{TASKS} задач asyncio по {STEPS + 1} шага, sleep(0) — худший случай: "
          f"шаг без работы (лучшее из {REPEATS}):")
    print(f"  без записи  {plain * 1000:7.1f} мс")
    print(f"  с записью   {recorded * 1000:7.1f} мс  — в {recorded / plain:.2f} раза (цель ≤ 1.5)")
    print(f"  накладные   {(recorded - plain) / steps * 1e6:7.2f} мкс на шаг задачи")
    print(f"  и построить отрезки ожидания для рисунка: {built * 1000:7.1f} мс "
          f"(в {built / plain:.2f} раза)")
    plain = best(lambda: asyncio.run(tasks_plain(one_timed_task)))
    recorded = best(lambda: asyncio.run(tasks_recorded(one_timed_task)))
    print(f"{TASKS} задач по {STEPS} × sleep(0.001): без записи {plain * 1000:.1f} мс, "
          f"с записью {recorded * 1000:.1f} мс — в {recorded / plain:.2f} раза")

    raw, closed = memory_per_span()
    print(f"\nПамять (tracemalloc, {SPANS} отрезков): {raw:.0f} байт на отрезок, пока запись "
          f"открыта; {closed:.0f} байт готовым Span")
    print(f"Шаг задачи asyncio, пока запись открыта: {memory_per_step():.0f} байт")


if __name__ == "__main__":
    main()
