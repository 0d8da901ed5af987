"""Большое сравнение (тема 09): одна работа — пять способов, каждый в своём процессе.

Работа: N запросов к локальному SlowAPI (ожидание), затем пачка подсчётов простых чисел
(вычисления). Способы: последовательно, потоки, процессы, asyncio, gevent. Меняется только
то, *как* запускаются задачи (одна обвязка — сменные стратегии), поэтому разница в цифрах —
это разница способов.

Почему каждый способ в отдельном процессе (через `course.scripts.run_script`):
- gevent требует `monkey.patch_all()` до всех импортов, а в ядре Jupyter патчить нельзя;
- пик памяти процесса (`ru_maxrss`) растёт и не падает — честно сравнить можно только
  свежие процессы;
- процессорное время считаем вместе с дочерними процессами (`os.times`).

Сервис запускает родитель (ноутбук), скрипты получают его адрес: его потоки не попадают
в замеры клиентов.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
import urllib.parse
from collections.abc import Sequence
from typing import Any

from course.measure import cpu_seconds, run_sequential, run_threads
from course.scripts import PATCH_ALL, run_script
from course.slow_api import fetch_text
from course.workloads import count_primes

STRATEGIES = ("последовательно", "потоки", "процессы", "asyncio", "gevent")

_SCRIPT = """\
import json, sys
from course.comparison import measure_here
print(json.dumps(measure_here(*json.loads(sys.argv[1]))))
"""


async def fetch_text_async(url: str, timeout: float = 10.0) -> str:
    """Минимальный асинхронный GET по HTTP/1.1 на чистом asyncio (без aiohttp — курс офлайн).

    Только для локального SlowAPI: без TLS, перенаправлений и chunked-ответов.
    """
    parts = urllib.parse.urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            request = f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n"
            writer.write(request.encode("ascii"))
            await writer.drain()
            raw = await reader.read()
        finally:
            writer.close()
            await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if status >= 400:
        raise RuntimeError(f"HTTP {status} от {url}")
    return body.decode("utf-8")


async def _fetch_all_async(urls: Sequence[str], workers: int) -> list[str]:
    limit = asyncio.Semaphore(workers)

    async def one(url: str) -> str:
        async with limit:
            return await fetch_text_async(url)

    return list(await asyncio.gather(*(one(url) for url in urls)))


async def _count_all_async(cpu_items: Sequence[int]) -> list[int]:
    # Вычисления прямо в цикле событий: пока считаем, цикл стоит (так и задумано — честно).
    return [count_primes(n) for n in cpu_items]


def _phases(strategy: str, workers: int) -> tuple[Any, Any, Any]:
    """(скачать всё, посчитать всё, закрыть) для стратегии; пул процессов общий на обе фазы."""
    if strategy == "asyncio":
        runner = asyncio.Runner()
        return (
            lambda urls: runner.run(_fetch_all_async(urls, workers)),
            lambda items: runner.run(_count_all_async(items)),
            runner.close,
        )
    if strategy == "gevent":
        from gevent.pool import Pool

        pool = Pool(workers)
        # гринлеты не вытесняют друг друга: вычисления пойдут строго по очереди
        return (lambda urls: pool.map(fetch_text, urls), lambda items: pool.map(count_primes, items),
                lambda: None)
    if strategy == "процессы":
        from concurrent.futures import ProcessPoolExecutor

        executor = ProcessPoolExecutor(max_workers=workers)
        return (lambda urls: list(executor.map(fetch_text, urls)),
                lambda items: list(executor.map(count_primes, items)), executor.shutdown)
    runner_func = {"последовательно": run_sequential, "потоки": run_threads}[strategy]
    return (lambda urls: runner_func(fetch_text, urls, workers),
            lambda items: runner_func(count_primes, items, workers), lambda: None)


def _children_uss_mib() -> float:
    """Уникальная память (USS) живых дочерних процессов: без страниц, общих с родителем."""
    import psutil

    total = 0
    for child in psutil.Process().children(recursive=True):
        try:
            total += child.memory_full_info().uss
        except psutil.Error:
            pass
    return total / 2**20


def peak_rss_mib() -> float:
    """Пик резидентной памяти ЭТОГО процесса в МиБ.

    На Linux — `VmHWM` из /proc/self/status: он начинается заново после exec. `ru_maxrss`
    там же наследуется от родителя через fork+exec (дочерний процесс большого ядра Jupyter сразу
    «весит» как ядро), поэтому он — только запасной вариант для других систем.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # macOS: байты, иначе КиБ


def measure_here(
    strategy: str, base_url: str, requests: int, cpu_items: Sequence[int], workers: int
) -> dict[str, Any]:
    """Выполнить работу стратегией `strategy` в ЭТОМ процессе и вернуть замеры.

    Возвращает словарь: wall и cpu (секунды; cpu — с дочерними процессами), io_wall — сколько
    из wall ушло на запросы, rss_mib — пик
    памяти процесса, children_mib — USS рабочих процессов (только у «процессов»), pages и
    primes — сколько страниц пришло и сумма простых (для сверки результатов между способами).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy — одна из {STRATEGIES}, получено {strategy!r}")
    urls = [f"{base_url}/page/{i}" for i in range(requests)]
    fetch_all, count_all, close = _phases(strategy, workers)
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    pages = fetch_all(urls)
    io_wall = time.perf_counter() - wall0
    primes = count_all(cpu_items)
    wall = time.perf_counter() - wall0
    own = os.times()
    # Память рабочих меряем вне замера времени: чтение /proc/PID/smaps само по себе не бесплатно.
    children = _children_uss_mib() if strategy == "процессы" else 0.0
    close()  # пул процессов закрыт: их процессорное время теперь в children_user/system
    done = os.times()
    cpu = own.user + own.system + done.children_user + done.children_system - cpu0
    return {
        "strategy": strategy,
        "wall": wall,
        "io_wall": io_wall,
        "cpu": cpu,
        "rss_mib": peak_rss_mib(),
        "children_mib": children,
        "pages": sum(page == f"page {i}" for i, page in enumerate(pages)),
        "primes": sum(primes),
        "pid": os.getpid(),
    }


def run_strategy(
    strategy: str,
    base_url: str,
    requests: int,
    cpu_items: Sequence[int],
    workers: int,
    timeout: float = 120.0,
) -> dict[str, Any]:
    """Запустить одну стратегию в свежем процессе-скрипте; gevent — с patch_all первой строкой."""
    head = PATCH_ALL if strategy == "gevent" else ""
    args = json.dumps([strategy, base_url.rstrip("/"), requests, list(cpu_items), workers])
    outcome = run_script(head + _SCRIPT, timeout=timeout, args=[args])
    if not outcome.ok:
        raise RuntimeError(f"стратегия {strategy!r} упала: {outcome.error_summary()}")
    return json.loads(outcome.stdout.strip().splitlines()[-1])


def grand_comparison(
    base_url: str,
    requests: int,
    cpu_items: Sequence[int],
    workers: int,
    strategies: Sequence[str] = STRATEGIES,
) -> list[dict[str, Any]]:
    """Все стратегии по очереди; проверить, что результаты у всех одинаковые."""
    rows = [run_strategy(s, base_url, requests, cpu_items, workers) for s in strategies]
    expected = (requests, sum(count_primes(n) for n in cpu_items))
    for row in rows:
        if (row["pages"], row["primes"]) != expected:
            raise RuntimeError(f"{row['strategy']}: результат не совпал — замер недостоверен")
    return rows


def describe_comparison(rows: Sequence[dict[str, Any]], cores: int) -> str:
    """Вывод большого сравнения — по измеренным числам, а не по тому, что «должно» выйти.

    Запросы сравниваем по часам (ожидание нагрузке почти не подвластно); вычисления — по
    часам и по доле ядра: на занятой машине один прогон может поставить процессы последними,
    хотя работы у всех одинаково (процессорное время равно). Тогда текст так и говорит.
    """
    by_name = {row["strategy"]: row for row in rows}
    seq = by_name["последовательно"]
    lines = []
    calc = {name: max(row["wall"] - row["io_wall"], 1e-9) for name, row in by_name.items()}
    share = seq["cpu"] / calc["последовательно"]  # запросы почти не тратят процессор
    if share < 0.8:
        lines.append(
            f"Машина занята: последовательному счёту досталось {share:.2f} ядра вместо 1 — время "
            "по часам сейчас больше говорит о чужой нагрузке, чем о способах."
        )
    fast_io = [f"{name} ×{seq['io_wall'] / row['io_wall']:.0f}" for name, row in by_name.items()
               if name != "последовательно" and row["io_wall"] > 0]
    lines.append(f"запросы: последовательно {seq['io_wall']:.2f} с; быстрее в: " + ", ".join(fast_io))
    lines.append(
        "вычисления по часам, к последовательному счёту: "
        + ", ".join(f"{name} ×{calc['последовательно'] / value:.2f}" for name, value in calc.items()
                    if name != "последовательно")
    )
    if "процессы" in by_name:
        gain = calc["последовательно"] / calc["процессы"]
        cores_used = by_name["процессы"]["cpu"] / calc["процессы"]  # запросы процессора почти не тратят
        if cores_used >= 1.3:
            lines.append(f"  процессы считали на нескольких ядрах сразу: в среднем {cores_used:.1f} ядра, "
                         f"×{gain:.1f} по часам при {cores} доступных ядрах.")
        elif gain >= 1.3:
            lines.append(f"  процессы по часам ×{gain:.1f}, но заняли в среднем {cores_used:.2f} ядра: "
                         "выигрыш отвоёван у чужой нагрузки (больше исполнителей — больше долей "
                         "процессора), а не параллельностью.")
        else:
            lines.append(
                f"  процессы не выиграли (×{gain:.2f}): ядер доступно {cores}, и они заняты — запуск "
                "двадцати процессов стоит больше, чем дал параллельный счёт."
            )
    if share < 0.8:
        lines.append("  На занятой машине потоки и процессы могут выиграть по часам и без параллельности: "
                     "больше исполнителей — больше долей процессора у ОС.")
    cpu = [row["cpu"] for row in rows]
    lines.append(
        f"процессорное время: от {min(cpu):.2f} до {max(cpu):.2f} с — работы у всех одинаково, "
        "разница — цена запуска исполнителей и переключений."
    )
    return "\n".join(lines)


def plot_comparison(rows: Sequence[dict[str, Any]], title: str = "", note: str = "") -> Any:
    """Один рисунок из трёх панелей: время по часам (запросы + вычисления), процессор, память."""
    import matplotlib.pyplot as plt

    labels = [row["strategy"] for row in rows]
    x = range(len(rows))
    fig, (wall_ax, cpu_ax, mem_ax) = plt.subplots(1, 3, figsize=(14, 4))
    io = [row["io_wall"] for row in rows]
    calc = [row["wall"] - row["io_wall"] for row in rows]
    wall_ax.bar(x, io, color="#4c72b0", label="запросы")
    wall_ax.bar(x, calc, bottom=io, color="#dd8452", label="вычисления")
    wall_ax.legend(fontsize=8)
    memory = [row["rss_mib"] + row["children_mib"] for row in rows]
    panels = [
        (wall_ax, "время по часам, с", [row["wall"] for row in rows], "{:.2f}"),
        (cpu_ax, "процессорное время, с", [row["cpu"] for row in rows], "{:.2f}"),
        (mem_ax, "пик памяти, МиБ", memory, "{:.0f}"),
    ]
    cpu_ax.bar(x, panels[1][2], color="#55a868")
    mem_ax.bar(x, [row["rss_mib"] for row in rows], color="#8172b3", label="главный процесс")
    mem_ax.bar(x, [row["children_mib"] for row in rows], bottom=[row["rss_mib"] for row in rows],
               color="#c44e52", label="рабочие процессы (USS)")
    mem_ax.legend(fontsize=8, loc="upper right")
    for ax, name, values, fmt in panels:
        for i, value in enumerate(values):
            ax.annotate(fmt.format(value), (i, value), ha="center", va="bottom", fontsize=8)
        ax.set_xticks(list(x), labels, rotation=30, ha="right", rotation_mode="anchor")
        ax.set_title(name, fontsize=10)
        ax.margins(y=0.15)
    if title or note:
        fig.suptitle(f"{title}\n{note}".strip(), fontsize=10)
    fig.tight_layout()
    return fig
