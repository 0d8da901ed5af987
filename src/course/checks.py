"""Проверки для тестов упражнений: сообщения по-русски, дедлайн вместо зависания.

Зачем: ячейки-тесты nbgrader не переписывают `assert`, как pytest, и голый AssertionError
ничего не объясняет. Здесь каждое падение говорит, что ожидалось, что получилось и что
проверить. Код студента запускается в отдельном потоке с дедлайном: взаимоблокировка или
бесконечный цикл дают понятное сообщение через несколько секунд, а не зависшее ядро.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class ExerciseFailure(AssertionError):
    """Упражнение не прошло проверку; текст — объяснение для студента."""


class ExerciseNotSolved(ExerciseFailure):
    """Упражнение ещё не решено (заготовка на месте): не «неверный ответ», а «ответа пока нет»."""


NOT_SOLVED = "упражнение ещё не решено"


def unsolved_reason(error: BaseException) -> str | None:
    """Русское объяснение, если `error` — то, что поднимает нерешённое упражнение, иначе None.

    Зачем: заготовка падает по-разному — `NotImplementedError` из тела функции, `NameError`
    у ответа, который ещё не присвоен (тема 11), корутина вместо асинхронного генератора, когда
    из заготовки пропал `yield` (тема 07). Студент должен прочитать «ещё не решено», а не
    английскую ошибку, похожую на неверный ответ. Не путать с ExerciseFailure: тот — про
    написанный, но неверный код.
    """
    if isinstance(error, ExerciseNotSolved):
        return str(error)
    if isinstance(error, NotImplementedError):
        return f"{NOT_SOLVED}: замените строку raise NotImplementedError(...) своим кодом"
    if isinstance(error, NameError) and getattr(error, "name", None):
        return (
            f"имени {error.name} пока нет: {NOT_SOLVED} или ячейка, где оно задаётся, "
            "не выполнена (выполните ячейки выше по порядку; проверьте и опечатки)"
        )
    text = str(error)
    if isinstance(error, (TypeError, AttributeError)) and "coroutine" in text and (
        "__aiter__" in text or "async iterator" in text or "__anext__" in text
    ):
        return (
            "функция вернула корутину, а нужен асинхронный генератор (async def с yield внутри) — "
            f"похоже, {NOT_SOLVED}"
        )
    return None


def unsolved_message(ename: str, evalue: str) -> str | None:
    """То же по имени и тексту ошибки (как их видит выполненный ноутбук, без объекта исключения)."""
    errors: dict[str, type[BaseException]] = {
        "NotImplementedError": NotImplementedError, "TypeError": TypeError,
        "AttributeError": AttributeError, "ExerciseNotSolved": ExerciseNotSolved,
    }
    if ename == "NameError":
        match = re.search(r"name '([^']+)' is not defined", evalue)
        return unsolved_reason(NameError(evalue, name=match.group(1))) if match else None
    kind = errors.get(ename)
    return unsolved_reason(kind(evalue)) if kind else None


def show_unsolved_in_russian() -> None:
    """В ноутбуке: ошибки нерешённого упражнения показывать как «упражнение ещё не решено».

    Ячейка по-прежнему падает (вывод-ошибка остаётся, nbgrader ставит 0): меняется только
    текст — ExerciseNotSolved с объяснением вместо английской ошибки. Вне IPython ничего не
    делает. Вызывается из `course.notebook.check_python()` — первой ячейки каждого ноутбука.
    """
    if os.environ.get("NBGRADER_EXECUTION") == "autograde":
        # При оценке класса IPython не трогаем: проверка подмены (grading/integrity.py) сверяет
        # его с эталоном, а текст заготовки («упражнение ещё не решено») и так русский.
        return
    try:
        shell = get_ipython()  # type: ignore[name-defined]  # noqa: F821 — есть только в IPython
    except NameError:
        return

    def handler(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None) -> Any:
        reason = unsolved_reason(value)
        if reason is None or isinstance(value, ExerciseNotSolved):
            return shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        replacement = ExerciseNotSolved(reason)
        return shell.showtraceback((ExerciseNotSolved, replacement, tb), tb_offset=tb_offset)

    shell.set_custom_exc((NotImplementedError, NameError, TypeError, AttributeError), handler)


def explain(what: str, expected: object, got: object, hint: str = "") -> str:
    """Собрать сообщение: что проверяли, что ожидалось, что получено, подсказка."""
    text = f"{what}: ожидалось {expected!r}, получено {got!r}."
    return f"{text} {hint}".strip()


def expect_equal(got: object, expected: object, what: str, hint: str = "", picture: Any = None) -> None:
    """Упасть с понятным сообщением, если `got != expected`.

    picture — рисунок к провалу (`course.failure_pictures`), например `items_picture(expected, got)`
    для элементов, потерянных между потоками; для простого неверного значения его не нужно.
    """
    if got != expected:
        if picture is None:
            raise ExerciseFailure(explain(what, expected, got, hint))
        from course.failure_pictures import fail

        fail(explain(what, expected, got, hint), picture)


def expect(condition: bool, message: str, picture: Any = None) -> None:
    """Упасть с сообщением `message`, если условие ложно (в отличие от assert, не отключается -O).

    picture — `course.failure_pictures.FailurePicture` (например, `probe.picture(at_once=4)`):
    при провале он рисуется под ячейкой — что сделал код студента и как было нужно.
    """
    if not condition:
        if picture is not None:
            from course.failure_pictures import fail

            fail(message, picture)
        raise ExerciseFailure(message)


def call_with_deadline(
    func: Callable[..., T], *args: Any, timeout: float = 10.0, what: str = "", **kwargs: Any
) -> T:
    """Вызвать `func(*args, **kwargs)` в отдельном потоке и ждать не дольше `timeout` секунд.

    Зависший вызов не вешает ячейку: через `timeout` секунд — ExerciseFailure с объяснением
    (поток остаётся фоновым и не мешает завершить ядро). Исключение из функции пробрасывается
    как есть; ошибка заготовки (`NotImplementedError` и др., см. unsolved_reason) — в
    ExerciseNotSolved «упражнение ещё не решено».
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
    reason = unsolved_reason(error) if error is not None else None
    if reason is not None and not isinstance(error, ExerciseFailure):
        # Отпускаем исключение заготовки целиком: его кадры держат объекты вроде корутины,
        # которую никто не ждал, — пусть сборщик мусора найдёт её здесь (под catch_warnings
        # вызывающего), а не выдаст «never awaited» в stderr ячейки позже.
        traceback.clear_frames(error.__traceback__)
        outcome.clear()
        del error
        raise ExerciseNotSolved(f"{name}: {reason}.")
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


def wait_until_waiting(threads: Iterable[threading.Thread], timeout: float = 1.0) -> bool:
    """Подождать (не дольше `timeout`), пока каждый поток не уснёт в ожидании из `threading`.

    Зачем: проверка «release будит всех ждущих» честна, только если все они уже ждут. На
    занятой машине поток может ещё не дойти до `wait()`, и тогда он войдёт сам, без
    пробуждения, — и ошибочный `notify()` пройдёт. Поток «ждёт», если его верхний кадр Python —
    в модуле threading (Condition.wait, Event.wait, Semaphore.acquire…). Решение, которое ждёт
    на голом Lock.acquire (это код на C), так не видно: для него просто истечёт `timeout`.
    Возвращает True, если дождались всех.
    """
    idents = {t.ident for t in threads}
    deadline = time.monotonic() + timeout
    while True:
        frames = sys._current_frames()
        if all(
            ident in frames and frames[ident].f_code.co_filename == threading.__file__ for ident in idents
        ):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)



@contextmanager
def thread_errors() -> Iterator[list[BaseException]]:
    """Собрать исключения потоков, упавших внутри блока, вместо печати в stderr.

    Зачем: поток, который запустил код студента, падает молча для теста (функция вернула
    [None, None], и непонятно почему), а трассировка уходит в stderr — и nbgrader обнуляет
    ячейку. Внутри блока `threading.excepthook` складывает исключения в список; тест может
    показать первое с объяснением (`explain_error`).
    """
    caught: list[BaseException] = []
    saved = threading.excepthook

    def keep(args: Any) -> None:
        if args.exc_value is not None:
            caught.append(args.exc_value)

    threading.excepthook = keep
    try:
        yield caught
    finally:
        threading.excepthook = saved


def expect_no_thread_errors(caught: list[BaseException], what: str) -> None:
    """Упасть с русским объяснением первого исключения из потоков (см. `thread_errors`)."""
    if caught:
        where = f"{what} (исключение в потоке, который запустило решение)"
        raise ExerciseFailure(explain_error(caught[0], where))


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
    (BaseExceptionGroup, "unhandled errors in a TaskGroup",
     "задание группы упало, и его исключение вылетело из async with TaskGroup наружу: ловите группу "
     "через except* (или except ExceptionGroup) — и проверьте, что except* ловит нужные типы"),
    (ValueError, "chunksize must be >= 1",
     "пулу передали chunksize меньше 1: целочисленное деление (len(items) // max_messages) даёт 0, "
     "когда элементов меньше, чем сообщений; округляйте вверх — math.ceil(len(items) / max_messages)"),
    (RecursionError, "maximum recursion depth",
     "функция бесконечно зовёт саму себя — нет условия выхода из рекурсии"),
    (Exception, "Can't pickle",
     "пул процессов передаёт функцию и аргументы дочернему процессу через pickle, а lambda и функцию, "
     "определённую внутри другой функции, так не передать: отдайте пулу функцию из модуля, "
     "functools.partial(функция, аргумент) или несколько списков аргументов в pool.map"),
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


class GroupFailure(ExerciseFailure):
    """ExerciseFailure вместо группы исключений: причина — первая ошибка группы, а группы в цепочке нет.

    IPython 9 не умеет показать ошибку, в цепочке которой (`__cause__` или даже подавленный
    `__context__`) есть ExceptionGroup: печатает всё в stderr, и ячейка-тест сходит за пройденную.
    `raise` внутри `except` (и внутри `with`) всегда записывает группу в `__context__`, поэтому
    здесь `__context__` для чтения всегда None.
    """

    @property  # type: ignore[override]
    def __context__(self) -> None:
        return None

    @__context__.setter
    def __context__(self, value: BaseException | None) -> None:
        pass


def group_failure(group: BaseExceptionGroup, what: str = "") -> ExerciseFailure:
    """Во что превратить группу исключений из кода студента (см. GroupFailure)."""
    leaf = first_in_group(group)
    if isinstance(leaf, ExerciseFailure):  # её подняла сама проверка внутри группы
        failure = GroupFailure(str(leaf))
        failure.__cause__ = leaf.__cause__ if not isinstance(leaf.__cause__, BaseExceptionGroup) else None
    else:
        failure = GroupFailure(explain_error(group, what))
        failure.__cause__ = leaf
    return failure


def first_in_group(error: BaseException) -> BaseException:
    """Первое «листовое» исключение группы (ExceptionGroup из TaskGroup), иначе само исключение.

    Зачем: IPython 9 не показывает группу исключений как ошибку ячейки — печатает её в stderr
    (проверено: ни одного вывода типа error), и при оценке курса (StderrNotFatal) такая ячейка
    сошла бы за пройденную. Поэтому группу в ячейку не пропускаем: причина — её первая ошибка.
    """
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


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
        # Группу исключений (TaskGroup) IPython не умеет показать в цепочке другой ошибки: он
        # печатает всё в stderr, и ячейка выглядит пройденной (см. GroupFailure).
        if isinstance(error, BaseExceptionGroup):
            raise group_failure(error, what)  # noqa: B904 — причина уже поставлена: первая ошибка группы
        raise ExerciseFailure(explain_error(error, what)) from error


def call_explained(
    func: Callable[..., T], *args: Any, timeout: float = 10.0, what: str = "",
    expected: tuple[type[BaseException], ...] = (), **kwargs: Any,
) -> T:
    """`call_with_deadline`, но неожиданное исключение из решения — с русским объяснением (`explained`)."""
    name = what or f"{getattr(func, '__name__', 'функция')}()"
    with explained(name, expected):
        return call_with_deadline(func, *args, timeout=timeout, what=name, **kwargs)
