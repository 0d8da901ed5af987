"""Запуск кода отдельным скриптом в дочернем процессе: для gevent и всего, что опасно для ядра.

Зачем: `gevent.monkey.patch_all()` подменяет `socket`, `threading`, `time.sleep` и другие модули
во всём процессе. Ядро Jupyter само живёт на потоках и сокетах (ZeroMQ), и после такой подмены
ломается: ячейки перестают выполняться. Поэтому всё, что патчит, курс запускает *скриптом* в
новом процессе: код пишется во временный файл, выполняется тем же интерпретатором
(`sys.executable`), а его stdout и stderr возвращаются строками. Ядро остаётся нетронутым.

    result = run_script("print(2 + 2)", timeout=10)
    result.stdout                 # '4\\n'

Не путать с `subprocess.run` «как есть»: здесь зависший скрипт убивается через `timeout`
секунд с объяснением по-русски, а не вешает ячейку, и stderr дочернего процесса не попадает в stderr
ячейки (nbgrader обнулил бы такую ячейку-тест).

Для упражнений: `run_function(func, *args)` переносит функцию из ячейки в скрипт (по её
исходному тексту), вызывает её там и возвращает результат, переданный через JSON.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course.checks import ExerciseFailure

#: Первые строки скрипта, который работает под gevent: патчим ДО любых других импортов.
PATCH_ALL = "from gevent import monkey\nmonkey.patch_all()\n"

#: Метка строки stdout, в которой скрипт передаёт результат (JSON).
RESULT_MARK = "@@course-result "

#: Что доступно функции, перенесённой в скрипт `run_function`, кроме её собственных импортов.
PRELUDE = f"""\
import json
import sys
import time

import gevent
from gevent.pool import Pool

from course.slow_api import fetch_text
from course.workloads import count_primes


def emit(value):
    \"\"\"Передать результат родителю: одна строка JSON с меткой.\"\"\"
    print({RESULT_MARK!r} + json.dumps(value, ensure_ascii=False), flush=True)


ARGS = json.loads(sys.argv[1]) if len(sys.argv) > 1 else []
"""


class ScriptTimeout(ExerciseFailure):
    """Скрипт не уложился во время и был остановлен (kill)."""


class ScriptFailed(ExerciseFailure):
    """Скрипт завершился ошибкой или не передал результат."""


@dataclass(frozen=True)
class ScriptResult:
    """Итог запуска скрипта: код возврата, вывод и время по часам (секунды)."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def error_summary(self) -> str:
        """Последняя строка stderr дочернего процесса — обычно тип и текст исключения."""
        lines = [line for line in self.stderr.strip().splitlines() if line.strip()]
        return lines[-1].strip() if lines else f"код возврата {self.returncode}, stderr пуст"

    def result(self) -> Any:
        """Значение, которое скрипт передал через `emit(...)`; иначе ScriptFailed с причиной."""
        if "NotImplementedError" in self.stderr:
            raise ScriptFailed("Решение ещё не написано: скрипт упал с NotImplementedError.")
        if not self.ok:
            raise ScriptFailed(
                f"Скрипт завершился с ошибкой (код {self.returncode}): {self.error_summary()}\n"
                f"Конец stderr скрипта:\n{self.stderr[-1500:]}"
            )
        for line in reversed(self.stdout.splitlines()):
            if line.startswith(RESULT_MARK):
                return json.loads(line[len(RESULT_MARK) :])
        raise ScriptFailed(
            "Скрипт завершился, но не передал результат (нет строки от emit(...)). "
            f"Его stdout: {self.stdout[-500:]!r}"
        )


def run_script(
    code: str,
    timeout: float = 30.0,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> ScriptResult:
    """Записать `code` во временный файл и выполнить его тем же Python в новом процессе.

    args — аргументы командной строки скрипта (`sys.argv[1:]`); env — добавки к окружению.
    Через `timeout` секунд процесс убивается, и поднимается ScriptTimeout с объяснением.
    Ненулевой код возврата исключением не считается: смотрите `.ok`, `.stderr`, `.result()`.
    """
    source = textwrap.dedent(code)
    with tempfile.TemporaryDirectory(prefix="course-script-") as folder:
        path = Path(folder) / "script.py"
        path.write_text(source, encoding="utf-8")
        child_env = {**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})}
        start = time.perf_counter()
        try:
            done = subprocess.run(
                [sys.executable, str(path), *args],
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                timeout=timeout,
                cwd=folder,
                env=child_env,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            tail = exc.stdout.decode("utf-8", "replace") if isinstance(exc.stdout, bytes) else exc.stdout
            raise ScriptTimeout(
                f"Скрипт не завершился за {timeout:g} с и был остановлен. Похоже, что-то "
                "ждёт вечно: зависший запрос, join без конца или хаб gevent, которому не дают "
                f"переключиться. Последний вывод скрипта: {(tail or '')[-300:]!r}"
            ) from None
        return ScriptResult(done.returncode, done.stdout, done.stderr, time.perf_counter() - start)


def function_source(func: Callable[..., Any]) -> str:
    """Исходный текст функции (из модуля или из ячейки ноутбука) без общего отступа."""
    try:
        return textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError) as exc:
        raise ExerciseFailure(
            f"Не удалось прочитать исходный текст {getattr(func, '__name__', func)!r}: нужна "
            "обычная функция, определённая через def в ячейке или в модуле (не lambda)."
        ) from exc


def build_function_script(func: Callable[..., Any], driver: str = "", patch: bool = True) -> str:
    """Собрать скрипт: [monkey.patch_all()] + PRELUDE + текст func + driver.

    driver — код, который вызывает функцию и передаёт результат через `emit(...)`; аргументы
    лежат в `ARGS`. По умолчанию: `emit(func(*ARGS))`.
    """
    name = func.__name__
    body = textwrap.dedent(driver) if driver else f"emit({name}(*ARGS))\n"
    head = PATCH_ALL if patch else ""
    return f"{head}{PRELUDE}\n\n{function_source(func)}\n\n{body}"


def run_function(
    func: Callable[..., Any],
    *args: Any,
    timeout: float = 30.0,
    patch: bool = True,
    driver: str = "",
) -> Any:
    """Выполнить `func(*args)` в отдельном скрипте (по умолчанию под gevent с patch_all).

    Функция переносится по исходному тексту: всё, что ей нужно сверх PRELUDE, она должна
    импортировать сама. Аргументы и результат проходят через JSON (списки, строки, числа).
    """
    code = build_function_script(func, driver=driver, patch=patch)
    outcome = run_script(code, timeout=timeout, args=[json.dumps(list(args), ensure_ascii=False)])
    return outcome.result()


def heartbeat_driver(func_name: str, period: float = 0.001) -> str:
    """Драйвер для `run_function`: проверить, что функция под gevent не останавливает хаб.

    Рядом с функцией работает гринлет-«пульс»: каждые `period` секунд пишет "tick" в журнал.
    Первый аргумент функции (список) передаётся как список, который отмечает в журнале первое
    обращение к каждому элементу (перебором или по индексу: `len` и `blocks[i]` работают, как у
    обычного списка). Если между соседними элементами нет ни одного "tick", значит, пока
    функция работала с элементом, хаб ни разу не получил управление — она его «заморозила».
    Вызовы `time.sleep` считаются шпионом; после работы функции видно, не подменила ли она
    этого шпиона (`time.sleep = …`, `monkey.patch_time()`): шпион живёт в скрипте, и функция
    может его заменить — но не незаметно.

    Результат (через emit): value, error, ticked_between (список bool по парам соседних
    элементов), ticks (всего), time_sleep_calls, sleep_replaced (time.sleep к концу — уже не
    шпион), patched (какие модули подменил monkey patching).
    """
    return f"""
import time as _time

_real_sleep = _time.sleep
_blocking = []


def _spy_sleep(seconds):
    _blocking.append(seconds)
    _real_sleep(seconds)


_time.sleep = _spy_sleep
_log = []


def _heartbeat():
    while True:
        _log.append("tick")
        gevent.sleep({period!r})


class _Watched(list):
    # обычный список (len, индексы, срезы работают), который отмечает первое обращение к элементу

    def _mark(self, index):
        if index not in _taken:
            _taken.add(index)
            _log.append(index)

    def __iter__(self):
        for index in range(len(self)):
            self._mark(index)
            yield list.__getitem__(self, index)

    def __getitem__(self, index):
        if isinstance(index, int):
            self._mark(index % len(self))
        return list.__getitem__(self, index)


_taken = set()
_items, *_rest = ARGS
_pulse = gevent.spawn(_heartbeat)
gevent.sleep(0)
_worker = gevent.spawn({func_name}, _Watched(_items), *_rest)
_worker.join()
_pulse.kill()
_positions = [i for i, entry in enumerate(_log) if entry != "tick"]
_between = ["tick" in _log[a:b] for a, b in zip(_positions, _positions[1:])]
from gevent import monkey as _monkey

emit({{
    "value": _worker.value,
    "error": None if _worker.successful() else repr(_worker.exception),
    "ticked_between": _between,
    "ticks": _log.count("tick"),
    "time_sleep_calls": len(_blocking),
    "sleep_replaced": _time.sleep is not _spy_sleep,
    "patched": sorted(name for name in ("time", "socket", "select", "thread", "os", "ssl")
                      if _monkey.is_module_patched(name)),
}})
"""


def concurrency_driver(func_name: str, spy: str = "fetch_text") -> str:
    """Драйвер для `run_function`: сколько вызовов `spy` шло одновременно — точно, на стороне клиента.

    Зачем: сервис видит запросы со своей стороны и отпускает счётчик чуть позже ответа, поэтому
    проверка по нему вынуждена допускать «limit + 1» — и пропускает пул на одного больше. Здесь
    глобальное имя `spy` из PRELUDE (по умолчанию `fetch_text`) перед вызовом функции заменяется
    обёрткой со счётчиком: функция, которая берёт его как глобальное имя, считается точно. Если
    функция импортировала своё `fetch_text`, обёртка не увидит вызовов (`calls == 0`) — тогда
    проверка вправе опереться на счётчик сервиса.

    Результат (через emit): value, peak (наибольшее число одновременных вызовов), calls.
    """
    return f"""
_real_{spy} = {spy}
_spy_state = {{"now": 0, "peak": 0, "calls": 0}}


def {spy}(*args, **kwargs):
    _spy_state["now"] += 1
    _spy_state["calls"] += 1
    _spy_state["peak"] = max(_spy_state["peak"], _spy_state["now"])
    try:
        return _real_{spy}(*args, **kwargs)
    finally:
        _spy_state["now"] -= 1


emit({{"value": {func_name}(*ARGS), "peak": _spy_state["peak"], "calls": _spy_state["calls"]}})
"""
