"""Что нужно ячейкам ноутбука: проверка среды, доступные ядра и режим проверки.

Зачем: nbgrader выполняет ноутбук целиком при каждой проверке. Демонстрации лекции (замеры,
паузы, графики) студенту нужны, а проверяющему — нет; они спрашивают `is_graded_run()` и
сжимаются, так что проверка работы стоит примерно запуска ядра плюс сами упражнения.
"""

from __future__ import annotations

import os
import sys
from typing import TypeVar

T = TypeVar("T")

MIN_PYTHON = (3, 11)


def is_graded_run() -> bool:
    """True, если ноутбук выполняет nbgrader (autograde или validate), а не человек."""
    return os.environ.get("NBGRADER_EXECUTION", "") in {"autograde", "validate"}


def lecture_or_grading(lecture: T, grading: T) -> T:
    """Вернуть `lecture` для человека и `grading` под проверкой (меньший размер демонстрации)."""
    return grading if is_graded_run() else lecture


def available_cores() -> int:
    """Ядра, доступные этому процессу, а не все ядра машины.

    `os.cpu_count()` в контейнере (Binder) сообщает ядра хоста; нам важны те, на которых
    процессу разрешено работать (`sched_getaffinity`; в 3.13+ есть `os.process_cpu_count()`).
    """
    process_cpu_count = getattr(os, "process_cpu_count", None)
    if process_cpu_count is not None:
        return process_cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def describe_cores() -> str:
    """Строка для ноутбука: сколько ядер доступно и чего ждать от графиков ускорения."""
    cores = available_cores()
    text = f"Доступно ядер: {cores} (os.cpu_count() = {os.cpu_count()})."
    if cores < 2:
        text += (
            " Одно ядро: процессы не дадут ускорения на вычислениях, и графики будут «плоскими»."
            " Запустите ноутбук локально, чтобы увидеть параллелизм."
        )
    return text


def check_python() -> str:
    """Проверить версию интерпретатора; вернуть строку для вывода.

    Это первая ячейка каждого ноутбука, поэтому здесь же включаем русские сообщения для
    нерешённых упражнений (`course.checks.show_unsolved_in_russian`).
    """
    from course.checks import show_unsolved_in_russian

    show_unsolved_in_russian()
    if sys.version_info < MIN_PYTHON:
        raise RuntimeError(
            f"Курс рассчитан на Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]}+, а запущен "
            f"{sys.version.split()[0]}. Запустите `make lab` или откройте курс в Binder."
        )
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    build = "с GIL" if gil else "без GIL (free-threaded)"
    return f"Python {sys.version.split()[0]}, сборка {build}."
