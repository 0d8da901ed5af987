"""Потоки и GIL (тема 02): задачи, которые держат или отпускают GIL, и приборы, чтобы это увидеть.

Зачем отдельный модуль: задачи для пула процессов должны импортироваться по имени (при spawn /
forkserver функцию из ячейки дочерний процесс не найдёт), а замеры, которые повторяются в
ноутбуке несколько раз, лучше держать в одном месте — меняется только то, *что* и *как* запускаем.

- `sha256_job` — хеширование на C, которое отпускает GIL (в отличие от `workloads.fib`);
- `random_bytes_job` — работа внутри системного вызова (ядро ОС считает, GIL отпущен);
- `run_copies` — одна и та же задача в 1, 2, N копиях одной стратегией (эксперимент с fib);
- `handoff_cost` — грубая цена передачи управления между двумя потоками;
- `heartbeat_gaps` — как надолго занятый поток не даёт другому получить GIL;
- `gil_report` — какая сборка Python сейчас работает (с GIL или free-threaded).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import sys
import sysconfig
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from course.measure import STRATEGIES, Timing, timed

MIB = 1 << 20


BLOCK_MIB = 8


@functools.lru_cache(maxsize=1)
def _block() -> bytes:
    """Блок нулей в BLOCK_MIB МиБ — один на процесс, чтобы замер не включал его создание."""
    return bytes(BLOCK_MIB * MIB)


def sha256_job(mib: int) -> str:
    """SHA-256 от `mib` МиБ нулей (кусками по BLOCK_MIB МиБ); вернуть hex-строку.

    hashlib отпускает GIL на время хеширования данных длиннее 2 КиБ: пока C-код считает,
    другие потоки этого процесса могут исполнять Python или хешировать сами — на других ядрах.
    Данные создаются внутри задачи, поэтому в пул процессов передаётся только число.
    """
    block = _block()
    digest = hashlib.sha256()
    for _ in range(max(1, mib // BLOCK_MIB)):
        digest.update(block)
    return digest.hexdigest()


def random_bytes_job(mib: int) -> int:
    """Взять у ядра ОС `mib` МиБ случайных байтов (`os.urandom` → системный вызов getrandom).

    Работу делает ядро ОС, а CPython на время вызова отпускает GIL: два потока в двух таких
    вызовах считают на двух ядрах сразу — это видно по системному процессорному времени
    (`os.times().system`). Возвращает число полученных байтов.
    """
    got = 0
    for _ in range(mib):
        got += len(os.urandom(MIB))
    return got


def copies_label(k: int) -> str:
    """«1 копия», «2 копии», «5 копий» — подпись столбика по-русски, с верным окончанием."""
    if k % 10 == 1 and k % 100 != 11:
        return f"{k} копия"
    if 2 <= k % 10 <= 4 and not 12 <= k % 100 <= 14:
        return f"{k} копии"
    return f"{k} копий"


def run_copies(func: Callable[[Any], Any], arg: Any, copies: Sequence[int], strategy: str) -> list[Timing]:
    """Для каждого k из `copies` выполнить k одинаковых задач `func(arg)` сразу в k исполнителях.

    strategy — имя из `course.measure.STRATEGIES` ("потоки", "процессы", "последовательно").
    Если исполнители работают параллельно, время по часам не растёт с k, а процессорное растёт;
    если по очереди (GIL), растут оба. Подпись замера — `"1 копия"`, `"2 копии"`, `"5 копий"`.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy — одно из {sorted(STRATEGIES)}, получено {strategy!r}")
    runner = STRATEGIES[strategy]
    timings = []
    for k in copies:
        timing, _ = timed(copies_label(k), runner, func, [arg] * k, k)
        timings.append(timing)
    return timings


def handoff_cost(rounds: int = 2000) -> float:
    """Грубая цена одной передачи управления между двумя потоками, в секундах.

    Два потока перекидывают «мяч» через пару `threading.Event`: каждый ждёт своего события,
    будит другого и засыпает. Каждая передача — пробуждение потока ядром ОС, переключение
    контекста и передача GIL. Это верхняя оценка (вместе с накладными расходами Event),
    а не чистая цена переключения в ядре ОС.
    """
    ping, pong = threading.Event(), threading.Event()

    def partner() -> None:
        for _ in range(rounds):
            ping.wait()
            ping.clear()
            pong.set()

    other = threading.Thread(target=partner, name="handoff-partner", daemon=True)
    other.start()
    start = time.perf_counter()
    for _ in range(rounds):
        ping.set()
        pong.wait()
        pong.clear()
    elapsed = time.perf_counter() - start
    other.join()
    return elapsed / (2 * rounds)


def heartbeat_gaps(busy: Callable[[], Any], period: float = 0.001) -> list[float]:
    """Промежутки (секунды) между «ударами сердца» фонового потока, пока текущий поток занят `busy()`.

    Возвращает только промежутки, пересекающиеся со временем работы `busy()`.

    Фоновый поток просыпается каждые `period` секунд и записывает время. Чтобы записать, ему
    нужен GIL. Если `busy` исполняет байт-код Python, держатель GIL по просьбе отдаёт его через
    `sys.getswitchinterval()` (5 мс) — промежутки около 5 мс. Если `busy` — один долгий вызов C,
    который GIL не отпускает, просьбу некому выполнить — промежуток равен всему вызову.
    Если `busy` ждёт (sleep, I/O) и GIL отпустил — промежутки около `period`.
    """
    beats: list[float] = []
    stop = threading.Event()

    def heart() -> None:
        while not stop.is_set():
            beats.append(time.perf_counter())
            time.sleep(period)

    ticker = threading.Thread(target=heart, name="heartbeat", daemon=True)
    ticker.start()
    time.sleep(10 * period)  # дать сердцу забиться до начала работы
    began = time.perf_counter()
    try:
        busy()
    finally:
        ended = time.perf_counter()
        time.sleep(10 * period)  # и после: первый удар после работы закрывает долгий промежуток
        stop.set()
        ticker.join()
    # Только промежутки, которые пересекаются с работой busy(), — без разминки до и после.
    return [b - a for a, b in zip(beats, beats[1:], strict=False) if b > began and a < ended]


def gil_report() -> dict[str, Any]:
    """Что известно о GIL в этом интерпретаторе.

    - `free_threaded_build` — собран ли Python без GIL (3.13t, 3.14t: `Py_GIL_DISABLED`);
    - `gil_enabled` — включён ли GIL *сейчас* (в free-threaded сборке его может включить
      расширение, не готовое работать без GIL, или `PYTHON_GIL=1`);
    - `switch_interval` — через сколько секунд ждущий поток просит держателя отдать GIL;
    - `interpreters_module` — есть ли `concurrent.interpreters` (3.14, PEP 734): субинтерпретаторы
      со своим GIL каждый (сама возможность — с 3.12, PEP 684, тогда только из C API).
    """
    check = getattr(sys, "_is_gil_enabled", None)
    return {
        "version": sys.version.split()[0],
        "free_threaded_build": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "gil_enabled": True if check is None else bool(check()),
        "switch_interval": sys.getswitchinterval(),
        "interpreters_module": _has_module("concurrent.interpreters"),
    }


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def describe_gil(report: dict[str, Any] | None = None) -> str:
    """Человеческое описание `gil_report()` для ноутбука: какая сборка и что из этого следует."""
    info = gil_report() if report is None else report
    lines = [f"Python {info['version']}"]
    if info["free_threaded_build"]:
        state = "включён (его включило расширение или PYTHON_GIL=1)" if info["gil_enabled"] else "выключен"
        lines.append(f"сборка free-threaded (без GIL); GIL сейчас {state}")
    else:
        lines.append("обычная сборка с GIL: байт-код Python исполняет один поток за раз")
    lines.append(f"интервал переключения: {info['switch_interval'] * 1000:g} мс")
    if info["interpreters_module"]:
        lines.append("есть concurrent.interpreters: субинтерпретаторы со своим GIL")
    else:
        lines.append("concurrent.interpreters нет (появится в 3.14)")
    return "; ".join(lines) + "."
