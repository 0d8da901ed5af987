"""Проверки для тестов упражнений: сообщения по-русски, дедлайн вместо зависания.

Зачем: ячейки-тесты nbgrader не переписывают `assert`, как pytest, и голый AssertionError
ничего не объясняет. Здесь каждое падение говорит, что ожидалось, что получилось и что
проверить. Код студента запускается в отдельном потоке с дедлайном: взаимоблокировка или
бесконечный цикл дают понятное сообщение через несколько секунд, а не зависшее ядро.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class ExerciseFailure(AssertionError):
    """Упражнение не прошло проверку; текст — объяснение для студента."""


def explain(what: str, expected: object, got: object, hint: str = "") -> str:
    """Собрать сообщение: что проверяли, что ожидалось, что получено, подсказка."""
    text = f"{what}: ожидалось {expected!r}, получено {got!r}."
    return f"{text} {hint}".strip()


def expect_equal(got: object, expected: object, what: str, hint: str = "") -> None:
    """Упасть с понятным сообщением, если `got != expected`."""
    if got != expected:
        raise ExerciseFailure(explain(what, expected, got, hint))


def expect(condition: bool, message: str) -> None:
    """Упасть с сообщением `message`, если условие ложно (в отличие от assert, не отключается -O)."""
    if not condition:
        raise ExerciseFailure(message)


def call_with_deadline(
    func: Callable[..., T], *args: Any, timeout: float = 10.0, what: str = "", **kwargs: Any
) -> T:
    """Вызвать `func(*args, **kwargs)` в отдельном потоке и ждать не дольше `timeout` секунд.

    Зависший вызов не вешает ячейку: через `timeout` секунд — ExerciseFailure с объяснением
    (поток остаётся фоновым и не мешает завершить ядро). Исключение из функции пробрасывается
    как есть; `NotImplementedError` заготовки превращается в понятное сообщение.
    """
    name = what or f"{getattr(func, '__name__', 'функция')}()"
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = func(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 — передаём вызывающему потоку
            outcome["error"] = exc

    worker = threading.Thread(target=target, name=f"check:{name}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise ExerciseFailure(
            f"{name} не завершилась за {timeout:g} с: похоже на взаимоблокировку, "
            "бесконечный цикл или ожидание, которое никто не разбудит."
        )
    error = outcome.get("error")
    if isinstance(error, NotImplementedError):
        raise ExerciseFailure(f"{name}: решение ещё не написано (NotImplementedError).") from error
    if error is not None:
        raise error
    return outcome["value"]


@contextmanager
def process_meeting(parties: int, values: Iterable[object], timeout: float = 5.0) -> Iterator[list[tuple]]:
    """Билеты для `meet`: задачи пула процессов ждут друг друга, пока не соберутся `parties` процессов.

    Зачем: «работали ли процессы одновременно» нельзя честно проверить секундомером — ускорение
    зависит от числа ядер и загрузки. Встреча проверяет само событие: каждая задача отмечает свой
    pid в общей папке и ждёт, пока там не окажется `parties` разных pid. Если пул меньше, встреча
    не состоится ни на какой машине. Общий срок один на всех (`timeout` секунд с момента выдачи
    билетов), так что неудачная встреча стоит не больше `timeout`, сколько бы ни было задач.
    """
    folder = tempfile.mkdtemp(prefix="meeting-")
    deadline = time.time() + timeout
    try:
        yield [(folder, parties, deadline, value) for value in values]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def meet(ticket: tuple) -> tuple[object, int, bool]:
    """Задача для пула процессов (см. `process_meeting`) → `(value, pid, встреча состоялась)`."""
    folder, parties, deadline, value = ticket
    with contextlib.suppress(OSError):  # папку могли уже убрать: встреча кончилась
        Path(folder, str(os.getpid())).touch()

    def arrived() -> int:
        try:
            return len(os.listdir(folder))
        except OSError:
            return 0

    while arrived() < parties and time.time() < deadline:
        time.sleep(0.005)
    met = arrived() >= parties
    time.sleep(0.02)  # подержать задачу, чтобы пул раздавал следующие разным процессам
    return value, os.getpid(), met
