"""Проверки для тестов упражнений: сообщения по-русски, дедлайн вместо зависания.

Зачем: ячейки-тесты nbgrader не переписывают `assert`, как pytest, и голый AssertionError
ничего не объясняет. Здесь каждое падение говорит, что ожидалось, что получилось и что
проверить. Код студента запускается в отдельном потоке с дедлайном: взаимоблокировка или
бесконечный цикл дают понятное сообщение через несколько секунд, а не зависшее ядро.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


#: Частые ошибки Python в коде студента: (тип, кусок текста ошибки, что это обычно значит).
#: Текст ошибки английский и говорит о симптоме; здесь — о причине, по-русски.
KNOWN_ERRORS: list[tuple[type[BaseException], str, str]] = [
    (TypeError, "'NoneType' object is not subscriptable",
     "где-то берут [индекс] у None: функция, от которой ждали список или кортеж, ничего не "
     "вернула (забыт return?), или переменная ещё не заполнена"),
    (TypeError, "'NoneType' object is not iterable",
     "перебирают None: функция, от которой ждали последовательность, ничего не вернула (забыт return?)"),
    (TypeError, "'<' not supported between instances of",
     "сравнивают объекты, у которых нет порядка (генераторы, задачи): в кучу или sorted кладите "
     "кортеж с уникальным номером перед ними — (время, номер, задача), номер из itertools.count()"),
    (TypeError, "unsupported operand type(s) for +: 'float' and 'NoneType'",
     "в сумме оказался None: голый yield (и функция без return) отдаёт None — считайте его нулём "
     "(delay or 0) или проверьте, что функция возвращает число"),
    (TypeError, "required positional argument",
     "функцию вызвали не с теми аргументами, что она ждёт: сверьтесь с условием — что и с чем "
     "вызывается (например, колбэку передают сам объект: fn(self))"),
    (TypeError, "object is not callable",
     "вызывают то, что не функция: скобки лишние или вместо функции передали её результат"),
    (TypeError, "can't be used in 'await' expression",
     "await применяют к корутине, задаче или Future; обычную функцию ждать нельзя"),
    (TypeError, "is not awaitable",
     "await применяют к корутине, задаче или Future; обычную функцию ждать нельзя"),
    (RuntimeError, "cannot reuse already awaited coroutine",
     "один и тот же объект корутины ждут второй раз: корутину можно выполнить только однажды. "
     "Для каждого ожидания вызывайте корутинную функцию заново (coro_fn(), а не сохранённый coro), "
     "а результат задачи берите у задачи, а не у её корутины"),
    (RuntimeError, "coroutine is being awaited already",
     "корутину уже ведёт задача, а её ждут ещё раз напрямую: ждите саму задачу (await task)"),
    (RuntimeError, "generator ignored GeneratorExit",
     "после close() (GeneratorExit) генератор снова дошёл до yield: после GeneratorExit "
     "завершайтесь (raise или return)"),
    (RuntimeError, "generator raised StopIteration",
     "StopIteration вылетел внутри генератора (например, next() у кончившегося итератора) — "
     "с PEP 479 это RuntimeError; ловите StopIteration или используйте next(it, по_умолчанию)"),
    (ValueError, "generator already executing",
     "генератор позвали изнутри него самого (send/next из его же тела или колбэка)"),
    (RuntimeError, "no running event loop",
     "asyncio позвали вне корутины: создавайте задачи и берите цикл внутри async def"),
    (RuntimeError, "Event loop is closed",
     "цикл событий уже закрыт: что-то запускают после его конца (задача, которую не дождались?)"),
    (AttributeError, "'NoneType' object has no attribute",
     "у None берут атрибут: функция, от которой ждали объект, ничего не вернула (забыт return?)"),
    (RecursionError, "maximum recursion depth",
     "функция бесконечно зовёт саму себя — нет условия выхода из рекурсии"),
]


def _student_frame(error: BaseException) -> tuple[str, int] | None:
    """Самый глубокий кадр из кода ячеек (не из библиотек и не из course): (функция, строка)."""
    own = os.path.dirname(__file__)
    found = None
    tb = error.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if not name.startswith(own) and ("ipykernel" in name or name.startswith("<")):
            found = (tb.tb_frame.f_code.co_name, tb.tb_lineno)
        tb = tb.tb_next
    return found


def explain_error(error: BaseException, what: str = "") -> str:
    """Русское объяснение исключения из кода студента: что вылетело, откуда и что это обычно значит.

    Зачем: голое «'NoneType' object is not subscriptable» из глубины решения студент читает как
    поломку теста. Здесь сказано, что ошибка — из его кода (функция и строка ячейки), и, для
    частых ошибок (`KNOWN_ERRORS`), что она обычно значит.
    """
    text = f"{what}: " if what else ""
    text += f"ваш код поднял {type(error).__name__}: {error}"
    spot = _student_frame(error)
    if spot is not None:
        text += f" (в {spot[0]}, строка {spot[1]} ячейки)"
    for kind, fragment, meaning in KNOWN_ERRORS:
        if isinstance(error, kind) and fragment in str(error):
            return f"{text}. Обычно это значит: {meaning}."
    return f"{text}. Это исключение вылетело из решения, а не из теста: найдите строку выше в трассировке."


@contextmanager
def explained(what: str, expected: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
    """Блок, в котором вызывают код студента: неожиданное исключение — ExerciseFailure с объяснением.

    expected — исключения, которые тест ждёт сам (их пропускаем как есть); ExerciseFailure
    (сообщения проверок) тоже проходит насквозь. Исходное исключение остаётся в цепочке
    (`from`), так что трассировка до строки студента видна выше русского текста.
    """
    try:
        yield
    except ExerciseFailure:
        raise
    except expected:
        raise
    except Exception as error:  # noqa: BLE001 — объясняем любое исключение решения
        raise ExerciseFailure(explain_error(error, what)) from error


def call_explained(
    func: Callable[..., T], *args: Any, timeout: float = 10.0, what: str = "",
    expected: tuple[type[BaseException], ...] = (), **kwargs: Any,
) -> T:
    """`call_with_deadline`, но неожиданное исключение из решения — с русским объяснением (`explained`)."""
    name = what or f"{getattr(func, '__name__', 'функция')}()"
    with explained(name, expected):
        return call_with_deadline(func, *args, timeout=timeout, what=name, **kwargs)
