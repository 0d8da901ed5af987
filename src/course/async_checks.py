"""Проверки для упражнений на asyncio: свой цикл событий, дедлайн, виртуальное время, блокировки.

Зачем: корутину студента нельзя просто `await`-нуть в ячейке-тесте. Зависший `await`
вешает ячейку, а в nbgrader — выбрасывает всю работу (GRADING-NOTES, п. 2). Секундомер на
нагруженной машине врёт, поэтому «конкурентно или по очереди» по нему не решить. Здесь:

- `run_async` запускает корутинную функцию на *собственном* цикле событий в отдельном потоке
  с дедлайном по настоящему времени. Цикл ядра Jupyter не трогаем вовсе.
- `virtual=True` — цикл с виртуальным временем (looptime): `asyncio.sleep(10)` проходит
  мгновенно, но часы цикла честно показывают 10.0. Сто `sleep(10)` под `gather` кончаются
  ровно в 10.0, по очереди — в 1000.0; нагрузка машины на это не влияет.
- Детектор блокировок: если один шаг цикла (синхронный кусок корутины между двумя `await`)
  идёт дольше порога, мы записываем, сколько он шёл и в какой корутине (по кадрам стека
  потока цикла). Так ловится `time.sleep`, синхронный HTTP-запрос или долгий счёт внутри
  `async def` — то, что останавливает всех остальных.

Сообщения — по-русски: что ожидалось, что получилось, что исправить.

Не путать: `call_with_deadline` из `course.checks` — для обычных функций; здесь — для
`async def`. Отладочный режим asyncio (`debug=True`) тоже пишет о медленных шагах, но меряет
часами цикла — с виртуальным временем он слеп; наш детектор меряет настоящим временем.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import concurrent.futures.thread  # noqa: F401 — заранее: ленивый импорт в первом to_thread блокировал бы цикл
import gc
import inspect
import linecache
import logging
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from course.checks import (
    ExerciseFailure,
    ExerciseNotSolved,
    call_with_deadline,
    explain_error,
    group_failure,
    unsolved_reason,
)
from course.failure_pictures import blocked_picture, fail

DEFAULT_THRESHOLD = 0.05  # секунды: дольше этого один шаг цикла — уже «блокировка»
STEP_SHOWN = 0.002  # шаги цикла от 2 мс запоминаются для рисунка (короче — штрих, не виден)
MAX_STEPS = 3000
_COROUTINE_FLAGS = inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR | inspect.CO_ITERABLE_COROUTINE
_OWN_FILES = (__file__, asyncio.__file__.rsplit("/", 1)[0])


@dataclass(frozen=True)
class Block:
    """Один долгий шаг цикла: сколько секунд он шёл и в какой корутине (если удалось увидеть)."""

    seconds: float
    coroutine: str = "неизвестная корутина"
    line: int | None = None
    call: str = ""  # текст строки, на которой корутина стояла (вызов, который блокирует), если виден
    start: float = 0.0  # когда шаг начался, с от начала прогона (для рисунка)

    @property
    def where(self) -> str:
        if not self.line:
            return self.coroutine
        code = f": `{self.call}`" if self.call else ""
        return f"{self.coroutine} (строка {self.line}{code})"


@dataclass
class AsyncRun:
    """Итог `run_async`: значение, время по часам цикла, долгие шаги и предупреждения.

    elapsed — сколько прошло по часам цикла: виртуальных секунд при `virtual=True`, настоящих
    иначе. warnings — предупреждения Python («coroutine … was never awaited»), записи журнала
    asyncio и ошибки задач, которые никто не забрал; в stderr они не попадают.
    """

    value: Any
    elapsed: float
    blocks: list[Block] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    steps: list[tuple[float, float]] = field(default_factory=list)  # шаги цикла от 2 мс: (начало, конец), с


class _LoopWatch:
    """Меряет шаги цикла настоящим временем и смотрит, какая корутина идёт слишком долго.

    Шаг цикла — всё, что цикл выполняет между двумя опросами селектора. Обёртка вокруг
    `select` отмечает начало и конец шага; сторожевой поток, заметив долгий шаг, читает стек
    потока цикла (`sys._current_frames`) и запоминает самую глубокую корутину студента.

    Длина шага — настоящее время *минус* время, которое поток цикла был готов работать, но
    ждал свободного ядра (Linux: второе поле `/proc/thread-self/schedstat`). На занятой
    машине (Binder, CI, два «жгущих» процесса на двух ядрах) честный шаг может растянуться
    за порог только из-за очереди к процессору — это не блокировка. А `time.sleep` или
    синхронный запрос в корутине в этой очереди не стоят: их время остаётся в шаге целиком.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, threshold: float) -> None:
        self.threshold = threshold
        self.blocks: list[Block] = []
        self.step = 0
        self.step_started: float | None = None  # None — цикл ждёт в select (простаивает)
        self.seen: dict[int, tuple[str, int | None, str]] = {}  # шаг → (корутина, строка, файл)
        self.thread_id = threading.get_ident()
        self._stop = threading.Event()
        self._schedstat = _open_schedstat()  # сведения планировщика о *этом* потоке (потоке цикла)
        self.step_queued = 0.0
        self.origin = time.perf_counter()
        self.steps: list[tuple[float, float]] = []  # заметные шаги (от 2 мс) — для рисунка
        selector = getattr(loop, "_selector", None)  # есть у SelectorEventLoop
        if selector is not None:
            inner = selector.select

            def select(timeout: float | None = None) -> Any:
                self.finish_step()
                try:
                    return inner(timeout)
                finally:
                    self.step += 1
                    self.step_queued = self.queued()
                    self.step_started = time.perf_counter()

            selector.select = select
        self._watchdog = threading.Thread(target=self._watch, name="async-checks-watchdog", daemon=True)
        self._watchdog.start()

    def finish_step(self) -> None:
        started, self.step_started = self.step_started, None
        if started is None:
            return
        now = time.perf_counter()
        took = now - started
        if took >= STEP_SHOWN and len(self.steps) < MAX_STEPS:
            self.steps.append((started - self.origin, now - self.origin))
        if took >= self.threshold:  # дорогой вопрос планировщику — только о долгих шагах
            took -= self.queued() - self.step_queued
        if took >= self.threshold:
            found = self.seen.get(self.step) or self.where_now()
            self.blocks.append(_block(round(took, 3), found, started - self.origin))

    def where_now(self) -> tuple[str, int | None, str] | None:
        """Самая глубокая корутина студента в стеке потока цикла прямо сейчас: (имя, строка, файл).

        Текст строки сторожевой поток не читает (это держало бы GIL посреди чужого шага): его
        достаёт `_block` уже после того, как шаг измерен.
        """
        frame = sys._current_frames().get(self.thread_id)
        while frame is not None:
            code = frame.f_code
            if code.co_flags & _COROUTINE_FLAGS and not code.co_filename.startswith(_OWN_FILES):
                return getattr(code, "co_qualname", code.co_name), frame.f_lineno, code.co_filename
            frame = frame.f_back
        return None

    def busy_for(self) -> float:
        started = self.step_started
        return 0.0 if started is None else time.perf_counter() - started

    def _watch(self) -> None:
        # Редко: каждое пробуждение сторожа просит GIL у потока цикла, а на занятой машине сторож
        # может ждать процессор, держа цикл (это время не видно в schedstat потока цикла).
        poll = self.threshold / 2
        while not self._stop.wait(poll):
            step = self.step
            if step not in self.seen and self.busy_for() >= self.threshold / 2:
                found = self.where_now()
                if found is not None and step == self.step:
                    self.seen[step] = found

    def queued(self) -> float:
        """Сколько секунд поток цикла провёл в очереди к процессору (0, если ОС не говорит)."""
        if self._schedstat is None:
            return 0.0
        try:
            return int(os.pread(self._schedstat, 128, 0).split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            return 0.0

    def stop(self) -> None:
        self._stop.set()
        if self._schedstat is not None:
            os.close(self._schedstat)
            self._schedstat = None


def _open_schedstat() -> int | None:
    """Файл `schedstat` вызывающего потока (Linux), открытый один раз на весь прогон."""
    try:
        return os.open("/proc/thread-self/schedstat", os.O_RDONLY)
    except OSError:
        return None


def _block(seconds: float, found: tuple[str, int | None, str] | None, start: float = 0.0) -> Block:
    """Block по находке `where_now`: текст строки (из linecache: IPython кладёт туда ячейки)
    называет сам блокирующий вызов — `time.sleep(0.2)`, `fetch_json(url)`, — а не только корутину."""
    if found is None:
        return Block(seconds, start=start)
    name, line, filename = found
    text = linecache.getline(filename, line).strip() if line else ""
    return Block(seconds, name, line, text[:80], start)


class _CaptureAsyncioLog(logging.Filter):
    """Забирает записи журнала asyncio из потока нашего цикла, чтобы они не ушли в stderr."""

    def __init__(self, thread_id: int, sink: list[str]) -> None:
        super().__init__()
        self.thread_id, self.sink = thread_id, sink

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread == self.thread_id:
            self.sink.append(record.getMessage())
            return False
        return True


def _new_loop(virtual: bool) -> asyncio.AbstractEventLoop:
    # Именно селекторный цикл (и на Windows, где по умолчанию Proactor): детектору блокировок
    # и looptime нужен его селектор.
    loop: asyncio.AbstractEventLoop = asyncio.SelectorEventLoop()
    if virtual:
        import looptime

        loop = looptime.patch_event_loop(loop, start=0)
    return loop


def run_async(
    func: Callable[..., Any],
    *args: Any,
    timeout: float = 10.0,
    virtual: bool = False,
    virtual_limit: float = 3600.0,
    threshold: float = DEFAULT_THRESHOLD,
    debug: bool = False,
    what: str = "",
    **kwargs: Any,
) -> AsyncRun:
    """Выполнить `await func(*args, **kwargs)` на своём цикле в отдельном потоке.

    timeout — дедлайн по настоящему времени: зависшая корутина даёт ExerciseFailure с
    объяснением (цикл простаивал — «await, который никто не разбудит»; цикл был занят —
    «синхронный код не отдаёт управление»), а не зависшую ячейку.
    virtual — виртуальное время (looptime): `elapsed` точно показывает, сколько корутина
    *ждала бы*; `virtual_limit` виртуальных секунд — предел для ожидания без конца. Сеть и
    потоки в виртуальном времени не ускоряются: для запросов к SlowAPI берите `virtual=False`.
    threshold — с какой длины шаг цикла считается блокировкой (`AsyncRun.blocks`).
    debug — отладочный режим asyncio; его сообщения попадают в `AsyncRun.warnings`.
    Исключение корутины пробрасывается как есть.

    Предупреждения Python перехватываются на время вызова во всём процессе (так устроен
    `warnings.catch_warnings`): для ячейки-теста это и нужно — в stderr ничего не уйдёт.
    """
    name = what or f"{getattr(func, '__name__', 'корутина')}()"
    if inspect.iscoroutine(func):
        func.close()
        raise ExerciseFailure(
            f"{name}: передан объект корутины, а нужна сама async-функция — без скобок "
            "(run_async(fetch, url), а не run_async(fetch(url)))."
        )
    state: dict[str, Any] = {}
    finished = threading.Event()

    def body() -> AsyncRun:
        notes: list[str] = []
        loop = _new_loop(virtual)
        loop.set_debug(debug)
        loop.slow_callback_duration = threshold
        loop.set_exception_handler(lambda _loop, context: notes.append(str(context.get("message"))))
        capture = _CaptureAsyncioLog(threading.get_ident(), notes)
        logging.getLogger("asyncio").addFilter(capture)
        loop.set_default_executor(_started_executor())
        watch = _LoopWatch(loop, threshold)
        state.update(loop=loop, watch=watch)
        try:
            with asyncio.Runner(debug=debug, loop_factory=lambda: loop) as runner:
                start = loop.time()
                value = runner.run(_main(func, args, kwargs, virtual, virtual_limit, state, name))
                elapsed = round(loop.time() - start, 6)
                watch.finish_step()
        finally:
            watch.stop()
            logging.getLogger("asyncio").removeFilter(capture)
            finished.set()
        return AsyncRun(value, elapsed, watch.blocks, notes, watch.steps)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Уже живущие объекты — вне сборки мусора на время прогона: полный обход большой кучи
        # (в ядре после многих ячеек, на занятой машине) длится десятки мс и попал бы в шаг цикла.
        gc.freeze()
        try:
            run = call_with_deadline(body, timeout=timeout, what=name)
        except BaseExceptionGroup as group:
            # Группу (TaskGroup в коде студента) IPython печатает в stderr, а не ошибкой ячейки:
            # тест сошёл бы за пройденный. Отдаём ExerciseFailure с объяснением (GroupFailure).
            raise group_failure(group, name)  # noqa: B904 — причина уже поставлена: первая ошибка группы
        except ExerciseFailure:
            if finished.is_set():
                raise
            raise ExerciseFailure(_explain_timeout(name, timeout, state, finished)) from None
        finally:
            gc.unfreeze()
            gc.collect()  # «never awaited» приходит, когда объект корутины собран
    run.warnings += [f"{w.category.__name__}: {w.message}" for w in caught]
    stub = _stub_error_in(run.value)
    if stub is not None:
        raise ExerciseNotSolved(f"{name}: {unsolved_reason(stub)}.")
    return run


def _stub_error_in(value: Any, depth: int = 2) -> NotImplementedError | None:
    """NotImplementedError заготовки среди результатов (`gather(..., return_exceptions=True)`
    складывает исключения задач в список): тогда тест сказал бы «неверный ответ», а ответа нет.
    """
    if isinstance(value, NotImplementedError):
        return value
    if depth and isinstance(value, (list, tuple)):
        for item in value:
            found = _stub_error_in(item, depth - 1)
            if found is not None:
                return found
    return None


def _started_executor() -> concurrent.futures.ThreadPoolExecutor:
    """Пул потоков цикла (для to_thread, run_in_executor) с уже запущенными потоками.

    Иначе первый to_thread запускает поток внутри шага цикла и ждёт, пока ОС его выполнит:
    на занятой машине это десятки мс — ложная «блокировка» в чужом честном коде.
    """
    executor = concurrent.futures.ThreadPoolExecutor(thread_name_prefix="asyncio")
    workers = executor._max_workers
    everyone_started = threading.Barrier(workers + 1)
    for _ in range(workers):
        executor.submit(everyone_started.wait, 10)
    try:
        everyone_started.wait(10)
    except threading.BrokenBarrierError:
        pass  # не дождались — потоки дозапустятся по ходу, как у обычного цикла
    return executor


async def _main(
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    virtual: bool,
    virtual_limit: float,
    state: dict[str, Any],
    name: str,
) -> Any:
    state["task"] = asyncio.current_task()
    awaitable = func(*args, **kwargs)
    if not inspect.isawaitable(awaitable):
        raise ExerciseFailure(
            f"{name} вернула {type(awaitable).__name__}, а не корутину: ожидалась функция "
            "`async def`, которую можно ждать через await."
        )
    if not virtual:
        return await awaitable
    limit = asyncio.timeout(virtual_limit)
    try:
        async with limit:
            return await awaitable
    except TimeoutError:
        if not limit.expired():
            raise
    raise ExerciseFailure(_never_ends(name, virtual_limit))


def _never_ends(name: str, virtual_limit: float) -> str:
    return (
        f"{name} не завершилась и за {virtual_limit:g} с виртуального времени: корутина ждёт "
        "то, что никогда не случится — взаимоблокировка (замок, который никто не отпустит), "
        "Event без set(), Future без результата, очередь без производителя или без task_done()."
    )


def _explain_timeout(name: str, timeout: float, state: dict[str, Any], finished: threading.Event) -> str:
    watch: _LoopWatch | None = state.get("watch")
    busy = watch.busy_for() if watch else 0.0
    where = watch.where_now() if watch else None
    text = f"{name} не завершилась за {timeout:g} с. "
    if watch is not None and busy >= min(1.0, timeout / 2):
        spot = f" в корутине {_block(0, where).where}" if where else ""
        text += (
            f"Цикл событий занят уже {busy:.1f} с{spot}: синхронный код не отдаёт управление "
            "(бесконечный цикл, time.sleep, блокирующий вызов). Между await-ами код должен быть "
            "коротким; долгое выносите в asyncio.to_thread(...)."
        )
    else:
        text += (
            "Цикл событий простаивал: корутина ждёт await, который никто не разбудит "
            "(Event без set(), Future без результата, очередь без производителя, взаимоблокировка)."
        )
    task, loop = state.get("task"), state.get("loop")
    if task is not None and loop is not None and not loop.is_closed():
        try:  # просим остановиться; если цикл занят, поток останется фоновым (daemon)
            loop.call_soon_threadsafe(task.cancel)
        except RuntimeError:
            pass
        finished.wait(0.5)
    if watch is not None and not finished.is_set():
        _interrupt(watch.thread_id)
        finished.wait(0.5)
    return text


class LoopStopped(BaseException):
    """Вбрасывается в поток цикла, который не отпустил управление к дедлайну.

    Наследник BaseException, чтобы `except Exception` в коде студента его не проглотил.
    """


def _interrupt(thread_id: int) -> None:
    """Остановить зависший поток цикла: вбросить в него LoopStopped.

    Так бесконечный цикл студента не жжёт процессор до конца проверки. Исключение приходит,
    когда поток исполняет байт-код Python; поток внутри долгого вызова C (time.sleep) получит
    его по возвращении, а до тех пор просто спит (он фоновый и не мешает завершить ядро).
    """
    import ctypes

    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(LoopStopped))


def run_virtual(func: Callable[..., Any], *args: Any, timeout: float = 10.0, **kwargs: Any) -> AsyncRun:
    """`run_async(..., virtual=True)`: корутина в виртуальном времени, `elapsed` — точное."""
    return run_async(func, *args, timeout=timeout, virtual=True, **kwargs)


def run_virtual_watched(
    func: Callable[..., Any],
    *args: Any,
    what: str = "",
    virtual_limit: float = 600.0,
    timeout: float = 10.0,
    hints: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> AsyncRun:
    """`run_virtual`, который следит за задачами, созданными по ходу, и объясняет ошибки.

    Зачем: исполнитель, запущенный через `create_task` и упавший с исключением, умирает молча —
    его ошибку никто не забрал. `queue.join()` ждёт его `task_done()` вечно, и снаружи это
    неотличимо от взаимоблокировки. Здесь каждая задача прогона запоминается (фабрика задач
    цикла); если корутина зависла или упала, а какая-то задача умерла с исключением, —
    ExerciseFailure называет задачу, исключение и строку, где оно случилось. Исключение самой
    корутины тоже приходит с объяснением по-русски, откуда оно.

    hints — «подстрока текста исключения → подсказка»: например, для «'<' not supported» —
    совет про номер в кортеже приоритетной очереди.
    """
    name = what or f"{getattr(func, '__name__', 'корутина')}()"
    born: list[asyncio.Task[Any]] = []

    async def watched() -> Any:
        loop = asyncio.get_running_loop()
        me = asyncio.current_task()

        def factory(loop: asyncio.AbstractEventLoop, coro: Any, **options: Any) -> asyncio.Task[Any]:
            task = asyncio.Task(coro, loop=loop, **options)
            born.append(task)
            return task

        loop.set_task_factory(factory)
        try:
            async with asyncio.timeout(virtual_limit):
                return await func(*args, **kwargs)
        except TimeoutError as exc:
            if me is not None and me.cancelling():
                raise
            died = _died(born)
            if died:
                raise ExerciseFailure(
                    f"{name} не завершилась за {virtual_limit:g} с виртуального времени, а перед этим "
                    f"{_describe_death(died[0], hints)} Исключение в задаче из create_task не выходит "
                    "наружу, пока её не дождутся (await, gather), — задача просто исчезла, а те, кто "
                    "ждал её работы (queue.join() ждёт task_done()), ждут вечно."
                ) from exc
            raise ExerciseFailure(_never_ends(name, virtual_limit)) from None
        except ExerciseFailure:
            raise
        except Exception as exc:  # noqa: BLE001 — объясняем студенту, откуда ошибка
            died = [task for task in _died(born) if task.exception() is not exc]
            also = f" Кроме того, {_describe_death(died[0], hints)}" if died else ""
            raise ExerciseFailure(f"{explain_error(exc, name)}{_hint(exc, hints)}{also}") from exc
        finally:
            loop.set_task_factory(None)

    watched.__name__ = getattr(func, "__name__", "корутина")
    return run_async(watched, timeout=timeout, virtual=True, virtual_limit=virtual_limit + 1, what=name)


def _died(tasks: list[asyncio.Task[Any]]) -> list[asyncio.Task[Any]]:
    """Задачи, завершившиеся исключением (их ошибка тем самым считается забранной)."""
    return [task for task in tasks if task.done() and not task.cancelled() and task.exception() is not None]


def _hint(exc: BaseException, hints: Mapping[str, str] | None) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return "".join(f" {hint}" for key, hint in (hints or {}).items() if key in text)


def _describe_death(task: asyncio.Task[Any], hints: Mapping[str, str] | None) -> str:
    exc = task.exception()
    assert exc is not None
    where = getattr(task.get_coro(), "__qualname__", task.get_name())
    return f"задача {where} упала — {explain_error(exc)}{_hint(exc, hints)}"


def expect_virtual_time(
    run: AsyncRun, expected: float, sequential: float | None, what: str, hint: str = ""
) -> None:
    """Проверить, что по виртуальным часам прошло ровно `expected` секунд.

    sequential — сколько вышло бы, если ждать по очереди: тогда сообщение прямо говорит,
    что ожидания шли одно за другим.
    """
    if abs(run.elapsed - expected) < 1e-6:
        return
    text = f"{what}: по часам цикла ожидалось {expected:g} с, прошло {run.elapsed:g} с."
    if sequential is not None and run.elapsed >= sequential - 1e-6 > expected:
        text += (
            " Столько выходит, если ждать по очереди: задачи выполнялись одна за другой, "
            "а не одновременно."
        )
    elif run.elapsed > expected:
        text += " Это дольше, чем нужно: какие-то ожидания шли по очереди или лишние."
    else:
        text += " Это меньше, чем нужно: похоже, какие-то ожидания пропущены или не дождались."
    raise ExerciseFailure(f"{text} {hint}".strip())


def expect_not_blocked(run: AsyncRun, what: str, hint: str = "") -> None:
    """Проверить, что ни один шаг цикла не шёл дольше порога; иначе — назвать корутину."""
    if not run.blocks:
        return
    worst = max(run.blocks, key=lambda b: b.seconds)
    text = (
        f"{what}: синхронный вызов блокирует цикл событий — шаг цикла шёл {worst.seconds:.2f} с в "
        f"корутине {worst.where} (всего долгих шагов: {len(run.blocks)}). Пока корутина не дошла до "
        "await, остальные задачи стоят, и запустить их «вместе» через gather не выйдет: они всё "
        "равно идут по одной. Синхронный вызов (time.sleep, requests, fetch_json, долгий счёт) "
        "вынесите в await asyncio.to_thread(...) или loop.run_in_executor(...)."
    )
    fail(f"{text} {hint}".strip(), blocked_picture(run.blocks, run.steps))


def expect_no_warnings(run: AsyncRun, what: str, hint: str = "") -> None:
    """Проверить, что не было «never awaited», забытых ошибок задач и записей журнала asyncio."""
    if run.warnings:
        shown = "; ".join(run.warnings[:3])
        text = f"{what}: во время работы появились предупреждения: {shown}."
        if any("never awaited" in w for w in run.warnings):
            text += " Корутину вызвали, но не дождались: добавьте await (или create_task и await задачи)."
        raise ExerciseFailure(f"{text} {hint}".strip())
