"""Проверки для тестов упражнений: сообщения по-русски, дедлайн вместо зависания.

Зачем: ячейки-тесты nbgrader не переписывают `assert`, как pytest, и голый AssertionError
ничего не объясняет. Здесь каждое падение говорит, что ожидалось, что получилось и что
проверить. Код студента запускается в отдельном потоке с дедлайном: взаимоблокировка или
бесконечный цикл дают понятное сообщение через несколько секунд, а не зависшее ядро.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
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


def start_in_thread(func: Callable[..., Any], *args: Any) -> tuple[threading.Thread, dict[str, Any]]:
    """Запустить `func(*args)` в фоновом потоке; вернуть (поток, словарь с "value" или "error").

    Для проверок «этот вызов должен ждать»: поток ещё жив через 0,3 с — значит, ждёт; после
    нужного действия он должен закончиться. Исключение не печатается (nbgrader обнулил бы
    ячейку за stderr), а кладётся в словарь под ключом "error".
    """
    box: dict[str, Any] = {}

    def body() -> None:
        try:
            box["value"] = func(*args)
        except BaseException as exc:  # noqa: BLE001 — покажем в сообщении теста
            box["error"] = exc

    worker = threading.Thread(target=body, name=f"check:фон {getattr(func, '__name__', '')}", daemon=True)
    worker.start()
    return worker, box
