"""Проверки для упражнений о потоках: провокация гонок и поиск взаимоблокировок.

Зачем: ошибка синхронизации проявляется «иногда», а тест должен давать один и тот же
вердикт при каждом запуске. Поэтому здесь гонку не ждут, а *провоцируют*, и зависание не
ждут до тайм-аута ячейки, а *распознают*:

- `provoke_race` запускает действие из многих потоков сразу (через барьер), повторяет прогоны
  в пределах бюджета времени и проверяет инвариант после каждого. Одного
  `sys.setswitchinterval` мало: в CPython 3.11 `x += 1` почти никогда не теряет обновлений.
  Надёжно ловит гонку точка уступки между чтением и записью: `add_yield_points` делает
  чтение атрибута объекта «медленным» (`time.sleep(0)` после чтения), и код без блокировки
  теряет обновления при каждом прогоне, а код с блокировкой — никогда.
- `LockMonitor` раздаёт блокировки-«шпионы» (`monitor.lock("счёт A")`, `monitor.rlock(...)`),
  которые помнят, какой поток держит блокировку и какой её ждёт. `run_watched` запускает
  потоки и, увидев цикл ожидания (T1 держит A и ждёт B, T2 держит B и ждёт A), сразу
  выдаёт отчёт по-русски и *освобождает* зависшие потоки: их ожидание завершается
  исключением `DeadlockError`, и ядро Jupyter не остаётся с вечными потоками. Если код
  создаёт блокировки сам, `with traced_threading(monitor):` на время блока подменяет
  `threading.Lock`/`threading.RLock` шпионами.

Не путать: гонка — неверный *результат* (потерянное обновление, нарушенный инвариант);
взаимоблокировка — *отсутствие* результата (все ждут друг друга).
"""

from __future__ import annotations

import _thread
import heapq
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from course.checks import ExerciseFailure, ExerciseNotSolved, unsolved_reason
from course.failure_pictures import deadlock_picture, fail, race_picture

# ---------------------------------------------------------------- провокация гонок


@contextmanager
def switch_interval(seconds: float) -> Iterator[None]:
    """Временно поменять `sys.setswitchinterval` (как часто GIL просят передать другому потоку).

    Сам по себе крошечный интервал гонку не гарантирует: переключение случается только в
    определённых точках байт-кода. Полезен вместе с точками уступки.
    """
    old = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def yield_point(pause: float = 0.0) -> None:
    """Точка уступки: отдать GIL другим потокам (`time.sleep(0)` или короткая пауза)."""
    time.sleep(pause)


def add_yield_points(obj: Any, *names: str, pause: float = 0.0) -> Any:
    """Сделать чтение атрибутов `names` у объекта `obj` точкой уступки; вернуть тот же объект.

    После чтения значения поток засыпает (`time.sleep(pause)`), и другие потоки успевают
    прочитать то же старое значение. Так «чтение — изменение — запись» без блокировки теряет
    обновления всегда, а под блокировкой ничего не ломается: остальные ждут у блокировки.
    Работает для обычных классов: класс объекта подменяется подклассом со свойствами.
    """
    cls = type(obj)
    if not hasattr(obj, "__dict__"):
        raise ExerciseFailure(
            f"Объект {cls.__name__} не хранит атрибуты в __dict__ (есть __slots__?): "
            f"храните {', '.join(names)} в обычных атрибутах self."
        )

    log: list[tuple[float, str, str, str, Any]] = []  # (время, поток, "read"|"write", атрибут, значение)

    def note(op: str, name: str, value: Any) -> None:
        if len(log) < RACE_LOG_LIMIT:
            log.append((time.perf_counter(), threading.current_thread().name, op, name, value))

    def make(name: str) -> property:
        def getter(self: Any) -> Any:
            try:
                value = self.__dict__[name]
            except KeyError:
                raise AttributeError(name) from None
            note("read", name, value)
            time.sleep(pause)
            return value

        def setter(self: Any, value: Any) -> None:
            note("write", name, value)
            self.__dict__[name] = value

        return property(getter, setter)

    for name in names:
        if isinstance(getattr(cls, name, None), property):
            raise ExerciseFailure(
                f"В классе {cls.__name__} {name} — свойство (property); по условию это должен "
                f"быть обычный атрибут self.{name}."
            )
    spied = type(cls.__name__, (cls,), {**{name: make(name) for name in names}, "_course_race_log": log})
    spied.__qualname__ = cls.__qualname__
    spied.__module__ = cls.__module__
    obj.__class__ = spied
    return obj


RACE_LOG_LIMIT = 20_000  # чтений и записей в журнале точек уступки — для рисунка гонки хватает


def race_log(obj: Any) -> list[tuple[float, str, str, str, Any]]:
    """Журнал чтений и записей атрибутов, которые `add_yield_points` сделал точками уступки."""
    return list(getattr(type(obj), "_course_race_log", ()))


@dataclass
class Hammered:
    """Итог одного залпа `hammer`: исключения из потоков и зависшие потоки."""

    errors: list[BaseException] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    elapsed: float = 0.0


def hammer(
    action: Callable[[int], Any],
    threads: int = 4,
    calls: int = 100,
    timeout: float = 10.0,
) -> Hammered:
    """Вызвать `action(номер_потока)` `calls` раз в каждом из `threads` потоков, стартовав разом.

    Потоки фоновые (daemon) и ждут друг друга у барьера, чтобы работать одновременно.
    Исключения не печатаются в stderr (nbgrader обнулил бы ячейку), а возвращаются.
    Поток, не закончивший работу за `timeout` секунд, попадает в `stuck`.
    """
    start = threading.Barrier(threads)
    result = Hammered()
    lock = threading.Lock()

    def body(index: int) -> None:
        try:
            start.wait()
            for _ in range(calls):
                action(index)
        except BaseException as exc:  # noqa: BLE001 — отдаём вызывающему
            with lock:
                result.errors.append(exc)

    began = time.perf_counter()
    workers = [
        threading.Thread(target=body, args=(i,), name=f"гонщик-{i}", daemon=True) for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + timeout
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
    result.stuck = [w.name for w in workers if w.is_alive()]
    result.elapsed = time.perf_counter() - began
    return result


# Род поломки в прогоне provoke_race: поток завис, поток упал с исключением, нарушен инвариант.
STUCK, RAISED, INVARIANT = "stuck", "raised", "invariant"


@dataclass
class RaceReport:
    """Вердикт `provoke_race`: сколько прогонов, в скольких нарушен инвариант и как."""

    runs: int
    broken: int
    problems: list[str]
    elapsed: float
    log: list[tuple[float, str, str, str, Any]] = field(default_factory=list)  # журнал сломанного прогона
    kind: str = INVARIANT  # род первой поломки: STUCK, RAISED или INVARIANT — от него зависит объяснение

    @property
    def caught(self) -> bool:
        """True, если хотя бы один прогон нарушил инвариант."""
        return self.broken > 0

    def message(self) -> str:
        """Объяснение по-русски: что нарушено и в скольких прогонах."""
        if not self.caught:
            return f"Гонка не обнаружена: {self.runs} прогонов за {self.elapsed:.2f} с."
        return f"Нарушение в {self.broken} из {self.runs} прогонов: {self.problems[0]}"

    def expect_safe(self, hint: str = "", hang_hint: str = "") -> None:
        """Упасть с ExerciseFailure, если гонка поймана (для ячеек-тестов).

        Причину называем по её роду: зависший поток — это не «общие данные без синхронизации»,
        а ожидание, которое никто не завершит; для него есть своя подсказка `hang_hint`.
        """
        if not self.caught:
            return
        first = self.problems[0]
        if self.kind == STUCK:
            text = (f"{self.message()} Кто-то ждёт сигнала, который никто не подаст, или блокировку, "
                    "которую никто не отпустит.")
            hint = hang_hint or hint
        elif self.kind == RAISED:
            text = self.message()
        else:
            text = (
                f"{self.message()} Несколько потоков изменяли общие данные без синхронизации: "
                "между чтением и записью успевал вмешаться другой поток."
            )
        fail(f"{text} {hint}".strip(), race_picture(self.log, first) if self.log else None)


def provoke_race(
    setup: Callable[[], Any],
    action: Callable[[Any, int], Any],
    check: Callable[[Any, Hammered], str | None],
    *,
    threads: int = 4,
    calls: int = 100,
    runs: int = 10,
    budget: float = 5.0,
    interval: float | None = 1e-6,
    yield_attrs: Sequence[str] = (),
    stop_on_first: bool = True,
) -> RaceReport:
    """Провоцировать гонку: `runs` прогонов (но не дольше `budget` секунд, хотя бы один).

    Каждый прогон: `state = setup()`; если заданы `yield_attrs`, чтение этих атрибутов
    становится точкой уступки; затем `action(state, номер_потока)` вызывается `calls` раз из
    `threads` потоков одновременно; `check(state, hammered)` возвращает None, если инвариант
    цел, или строку по-русски, что нарушено (например, «ожидалось 400, получено 117»).
    Зависший поток и исключение из потока — тоже нарушение.
    """
    began = time.perf_counter()
    problems: list[str] = []
    log: list[tuple[float, str, str, str, Any]] = []
    done = broken = 0
    first_kind = INVARIANT
    with switch_interval(interval) if interval else _nothing():
        while done < runs:
            state = setup()
            if yield_attrs:
                add_yield_points(state, *yield_attrs)
            hammered = hammer(partial(action, state), threads=threads, calls=calls)
            done += 1
            kind, problem = _problem_of(hammered)
            if problem is None:
                kind, problem = INVARIANT, check(state, hammered)
            if problem:
                first_kind = first_kind if problems else kind
                broken += 1
                problems.append(problem)
                log = log or race_log(state)
                if stop_on_first:
                    break
            if time.perf_counter() - began > budget:
                break
    return RaceReport(done, broken, problems, time.perf_counter() - began, log, first_kind)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _problem_of(hammered: Hammered) -> tuple[str, str | None]:
    """Поломка, которую видно без проверки инварианта: (род, описание) или (INVARIANT, None)."""
    if hammered.stuck:
        return STUCK, f"потоки {', '.join(hammered.stuck)} не закончили работу (зависание?)"
    if hammered.errors:
        first = hammered.errors[0]
        return RAISED, f"в потоке возникло исключение {type(first).__name__}: {first}"
    return INVARIANT, None


# ---------------------------------------------------------------- взаимоблокировки


class DeadlockError(RuntimeError):
    """Ожидание блокировки прервано: найден цикл ожидания (взаимоблокировка)."""


class LockMonitor:
    """Раздаёт блокировки-шпионы и знает, кто какую держит и кто какую ждёт.

    Граф «ждёт»: поток T ждёт блокировку L, которую держит поток U, — ребро T → U. Цикл в
    этом графе — взаимоблокировка. Ожидания с тайм-аутом (`acquire(timeout=…)`) в граф не
    входят: такой поток сдастся сам, это лекарство, а не болезнь.
    """

    def __init__(self, hold_pause: float = 0.0, poll: float = 0.01) -> None:
        self.hold_pause = hold_pause
        self.poll = poll
        self._mutex = _thread.allocate_lock()
        self._owner: dict[TracedLock, int] = {}  # блокировка -> ident владельца
        self._waiting: dict[int, TracedLock] = {}  # ident -> блокировка (ожидание без тайм-аута)
        self._names: dict[int, str] = {}  # ident -> имя потока
        self._abort: set[int] = set()
        self.reports: list[str] = []
        self.cycles: list[list[tuple[str, str, str]]] = []  # найденные циклы — для рисунка графа

    def lock(self, name: str) -> TracedLock:
        """Новая «обычная» блокировка (как threading.Lock) с именем для отчётов."""
        return TracedLock(self, name, reentrant=False)

    def rlock(self, name: str) -> TracedLock:
        """Новая реентерабельная блокировка (как threading.RLock) с именем для отчётов."""
        return TracedLock(self, name, reentrant=True)

    # --- учёт (вызывается из TracedLock)
    def _wait(self, lock: TracedLock) -> None:
        me = threading.current_thread()
        with self._mutex:
            self._names[me.ident or 0] = me.name
            self._waiting[me.ident or 0] = lock

    def _got(self, lock: TracedLock) -> None:
        me = threading.current_thread()
        with self._mutex:
            self._names[me.ident or 0] = me.name
            self._waiting.pop(me.ident or 0, None)
            self._owner[lock] = me.ident or 0

    def _gave_up(self) -> None:
        with self._mutex:
            self._waiting.pop(threading.get_ident(), None)

    def _released(self, lock: TracedLock) -> None:
        with self._mutex:
            self._owner.pop(lock, None)

    def _should_abort(self) -> bool:
        with self._mutex:
            me = threading.get_ident()
            if me in self._abort:
                self._abort.discard(me)
                return True
            return False

    # --- анализ
    def find_cycle(self) -> list[tuple[str, str, str]] | None:
        """Цикл ожидания как список (поток, ждёт блокировку, которую держит поток) или None."""
        with self._mutex:
            return self._cycle_locked()

    def _cycle_locked(self) -> list[tuple[str, str, str]] | None:
        idents = self._cycle_idents()
        if idents is None:
            return None
        return [(self._names.get(t, str(t)), lk.name, self._names.get(h, str(h))) for t, lk, h in idents]

    def _cycle_idents(self) -> list[tuple[int, TracedLock, int]] | None:
        edges = {}
        for ident, lock in self._waiting.items():
            holder = self._owner.get(lock)
            if holder is not None:
                edges[ident] = (lock, holder)
        for start in edges:
            path, node = [], start
            seen: set[int] = set()
            while node in edges and node not in seen:
                seen.add(node)
                lock, holder = edges[node]
                path.append((node, lock, holder))
                node = holder
            if node == start:
                return path
        return None

    def break_cycle(self) -> str | None:
        """Если есть цикл: записать отчёт, прервать ожидания его потоков; вернуть отчёт."""
        with self._mutex:
            cycle = self._cycle_locked()
            idents = self._cycle_idents()
            if not cycle or not idents:
                return None
            report = describe_cycle(cycle, self._held_by_name())
            self._abort |= {t for t, _, _ in idents}
        self.reports.append(report)
        self.cycles.append(cycle)
        return report

    def _held_by_name(self) -> dict[str, list[str]]:
        held: dict[str, list[str]] = {}
        for lock, ident in sorted(self._owner.items(), key=lambda pair: pair[0].name):
            held.setdefault(self._names.get(ident, str(ident)), []).append(lock.name)
        return held

    def describe(self) -> str:
        """Состояние блокировок по-русски: кто что держит и кто чего ждёт."""
        with self._mutex:
            held = self._held_by_name()
            waits = {self._names.get(i, str(i)): lock.name for i, lock in self._waiting.items()}
        lines = []
        for thread in sorted(set(held) | set(waits)):
            parts = []
            if thread in held:
                parts.append("держит " + ", ".join(f"«{x}»" for x in held[thread]))
            if thread in waits:
                parts.append(f"ждёт «{waits[thread]}»")
            lines.append(f"поток «{thread}» " + " и ".join(parts))
        return "; ".join(lines) if lines else "ни одна блокировка не занята и никто их не ждёт"


def describe_cycle(cycle: list[tuple[str, str, str]], held: Mapping[str, list[str]]) -> str:
    """Текст отчёта о цикле ожидания: «поток T1 держит «A» и ждёт «B» (её держит T2); …»."""
    parts = []
    for thread, lock, holder in cycle:
        mine = ", ".join(f"«{x}»" for x in held.get(thread, [])) or "ничего"
        whom = "он сам" if holder == thread else f"поток «{holder}»"
        parts.append(f"поток «{thread}» держит {mine} и ждёт «{lock}» (её держит {whom})")
    loop = " → ".join([t for t, _, _ in cycle] + [cycle[0][0]])
    return "Взаимоблокировка: " + "; ".join(parts) + f". Цикл ожидания: {loop}."


class TracedLock:
    """Блокировка-шпион: ведёт себя как threading.Lock (или RLock) и докладывает монитору.

    `hold_pause` монитора — точка уступки сразу после захвата: поток, взявший первую
    блокировку, даёт другому взять вторую, и неверный порядок захвата приводит к
    взаимоблокировке при каждом запуске, а не «раз в неделю на проде».
    """

    def __init__(self, monitor: LockMonitor, name: str, reentrant: bool) -> None:
        self.monitor = monitor
        self.name = name
        self.reentrant = reentrant
        self._real = _thread.allocate_lock()  # не threading.Lock: его может подменять traced_threading
        self._owner: int | None = None
        self._count = 0

    def __repr__(self) -> str:
        kind = "RLock" if self.reentrant else "Lock"
        state = "занята" if self._real.locked() else "свободна"
        return f"<Traced{kind} «{self.name}» {state}>"

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Как Lock.acquire; бесконечное ожидание прерывается DeadlockError при цикле."""
        me = threading.get_ident()
        if self.reentrant and self._owner == me:
            self._count += 1
            return True
        if not blocking:
            got = self._real.acquire(False)
        elif timeout is not None and timeout >= 0:
            got = self._real.acquire(timeout=timeout)
        else:
            self.monitor._wait(self)
            try:
                while not self._real.acquire(timeout=self.monitor.poll):
                    if self.monitor._should_abort():
                        raise DeadlockError(
                            f"ожидание «{self.name}» прервано: взаимоблокировка "
                            f"({self.monitor.reports[-1] if self.monitor.reports else ''})"
                        )
            except BaseException:
                self.monitor._gave_up()
                raise
            got = True
        if got:
            self._owner, self._count = me, 1
            self.monitor._got(self)
            if self.monitor.hold_pause:
                time.sleep(self.monitor.hold_pause)
        return got

    def release(self) -> None:
        """Как Lock.release / RLock.release."""
        if self.reentrant:
            if self._owner != threading.get_ident():
                raise RuntimeError("cannot release un-acquired lock")
            self._count -= 1
            if self._count:
                return
        self._owner, self._count = None, 0
        self.monitor._released(self)
        self._real.release()

    def locked(self) -> bool:
        """Занята ли блокировка."""
        return self._real.locked()

    __enter__ = acquire

    def __exit__(self, *exc: object) -> None:
        self.release()

    # threading.Condition зовёт эти три метода, если они есть: без них Condition на RLock
    # не смог бы ни проверить владельца, ни отпустить блокировку целиком на время wait().
    def _is_owned(self) -> bool:
        if self.reentrant:
            return self._owner == threading.get_ident()
        return self._real.locked()

    def _release_save(self) -> int:
        count = self._count
        self._count = 1
        self.release()
        return count

    def _acquire_restore(self, count: int) -> None:
        self.acquire()
        self._count = count


@contextmanager
def traced_threading(monitor: LockMonitor) -> Iterator[LockMonitor]:
    """Внутри блока `threading.Lock()` и `threading.RLock()` создают блокировки-шпионы монитора.

    Когда нужно: проверяемый код сам создаёт свои блокировки (`self._lock = threading.Lock()`
    в `__init__`), и передать ему фабрику нельзя. Имя шпиона — порядковый номер и место
    создания («Lock №2 из __init__, строка 5»). Подменяются только имена в модуле `threading`
    и только на время блока; блокировки, созданные внутри, продолжают работать и после.
    Условия, события и очереди (`Condition`, `Event`, `queue.Queue`), созданные внутри
    блока, тоже получат шпионов — они работают как обычно.
    """
    original_lock, original_rlock = threading.Lock, threading.RLock
    numbers = iter(range(1, 1_000_000))

    def named(kind: str) -> str:
        frame = sys._getframe(2)
        return f"{kind} №{next(numbers)} из {frame.f_code.co_name}, строка {frame.f_lineno}"

    def make_lock() -> TracedLock:
        return monitor.lock(named("Lock"))

    def make_rlock() -> TracedLock:
        return monitor.rlock(named("RLock"))

    threading.Lock, threading.RLock = make_lock, make_rlock  # type: ignore[misc, assignment]
    try:
        yield monitor
    finally:
        threading.Lock, threading.RLock = original_lock, original_rlock  # type: ignore[misc]


@dataclass
class WatchResult:
    """Итог `run_watched`: успели ли потоки, отчёт о взаимоблокировке, исключения."""

    finished: bool
    deadlock: str | None
    errors: dict[str, BaseException]
    stuck: list[str]
    elapsed: float
    cycle: list[tuple[str, str, str]] | None = None  # цикл ожидания (поток, блокировка, владелец)

    def message(self) -> str:
        """Объяснение по-русски (пустая строка, если всё хорошо)."""
        if self.deadlock:
            return self.deadlock
        if self.stuck:
            return (
                f"Потоки {', '.join(self.stuck)} не закончили работу за {self.elapsed:.1f} с, "
                "хотя цикла ожидания среди блокировок нет: бесконечный цикл или ожидание "
                "события, которое никто не выставит."
            )
        if self.errors:
            name, exc = next(iter(self.errors.items()))
            return f"В потоке «{name}» исключение {type(exc).__name__}: {exc}"
        return ""

    def expect_ok(self, hint: str = "") -> None:
        """Упасть с ExerciseFailure, если была взаимоблокировка, зависание или исключение."""
        text = self.message()
        if text:
            picture = deadlock_picture(self.cycle) if self.deadlock and self.cycle else None
            fail(f"{text} {hint}".strip(), picture)


def run_watched(
    targets: Mapping[str, Callable[[], Any]],
    monitor: LockMonitor,
    timeout: float = 5.0,
) -> WatchResult:
    """Запустить каждую функцию в своём фоновом потоке с этим именем и следить за ними.

    Цикл ожидания среди блокировок монитора распознаётся сразу (за десятки миллисекунд):
    отчёт сохраняется, ожидающие потоки получают DeadlockError и выходят. Если потоки не
    закончили за `timeout` секунд без цикла — они перечислены в `stuck` (и остаются фоновыми,
    ядро можно закрыть). Исключения потоков не печатаются, а возвращаются в `errors`.
    """
    errors: dict[str, BaseException] = {}
    deadlock: str | None = None

    def wrap(name: str, func: Callable[[], Any]) -> Callable[[], None]:
        def body() -> None:
            try:
                func()
            except BaseException as exc:  # noqa: BLE001 — отдаём вызывающему
                errors[name] = exc

        return body

    began = time.perf_counter()
    workers = [
        threading.Thread(target=wrap(name, func), name=name, daemon=True) for name, func in targets.items()
    ]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + timeout
    while any(w.is_alive() for w in workers) and time.monotonic() < deadline:
        report = monitor.break_cycle()
        if report and deadlock is None:
            deadlock = report
        time.sleep(monitor.poll)
    for worker in workers:
        worker.join(max(0.0, min(1.0, deadline - time.monotonic())))
    stuck = [w.name for w in workers if w.is_alive()]
    if deadlock:
        errors = {k: v for k, v in errors.items() if not isinstance(v, DeadlockError)}
    cycle = monitor.cycles[0] if deadlock and monitor.cycles else None
    elapsed = time.perf_counter() - began
    return WatchResult(not stuck and deadlock is None, deadlock, errors, stuck, elapsed, cycle)


# ---------------------------------------------------------------- виртуальное время для потоков


class VirtualStop(BaseException):
    """Прогон в виртуальном времени остановлен (вышел срок): поток выходит из своего ожидания.

    Наследник BaseException, чтобы `except Exception` в коде студента его не проглотил.
    """


class VirtualThreads:
    """Потоки в виртуальном времени: в каждый момент работает ровно один, и порядок задан.

    Зачем: активная блокировка (livelock) — это *совпадение по времени* (оба вежливо уступили
    и оба снова столкнулись), и на настоящих часах она зависит от нагрузки машины. Здесь
    потоки настоящие, но время общее и виртуальное: `sleep(d)` не спит, а ставит поток в
    очередь на момент `now + d`; когда все ждут, часы прыгают к ближайшему моменту. Потоки,
    назначенные на один момент, работают по очереди, в порядке постановки — поэтому
    результат одинаков на любой машине и при любой загрузке (как `looptime` для asyncio).

    Блокировки для такого прогона — `lock(name, think=…)`: `think` — виртуальная пауза сразу
    после захвата («подумать, держа блокировку»), точка, в которой другой поток успевает
    взять свою. Ожидание с тайм-аутом, который истёк ровно в момент освобождения, считается
    неудачным: оба одинаково вежливых потока сдаются одновременно.
    """

    def __init__(self, until: float = 60.0) -> None:
        self.until = until
        self.now = 0.0
        self.stopped = False
        self.sleeps: dict[str, list[float]] = {}  # поток -> паузы, которые он просил у sleep
        self.held_while_sleeping: list[tuple[str, list[str]]] = []  # (поток, какие блокировки держал)
        self._locks: list[VirtualLock] = []
        self._cond = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, int, int]] = []  # (когда, номер записи, поток, поколение)
        self._alive = 0
        self.deadlock = False
        self._seq = 0
        self._running: int | None = None
        self._generation: dict[int, int] = {}
        self._names: dict[int, str] = {}
        self._local = threading.local()

    # --- для кода, который запускается в прогоне
    def sleep(self, seconds: float) -> None:
        """Виртуальная пауза: поток ждёт, пока часы не дойдут до now + seconds."""
        me = self._me()
        name = self._names[me]
        self.sleeps.setdefault(name, []).append(float(seconds))
        held = [lock.name for lock in self._locks if lock.owner == me]
        if held:
            self.held_while_sleeping.append((name, held))
        with self._cond:
            self._schedule(me, self.now + max(0.0, float(seconds)))
            self._switch(me)

    def lock(self, name: str, think: float = 0.0) -> VirtualLock:
        """Блокировка, которая живёт в этом виртуальном времени."""
        lock = VirtualLock(self, name, think)
        self._locks.append(lock)
        return lock

    # --- запуск
    def run(self, targets: Mapping[str, Callable[[], Any]], timeout: float = 10.0) -> dict[str, Any]:
        """Запустить функции потоками и дождаться; вернуть {имя: результат или исключение}.

        Если виртуальные часы дошли до `until`, а потоки ещё работают, прогон останавливается
        (`stopped = True`): ждущие потоки получают VirtualStop. `timeout` — предел реального
        времени (на случай кода, который не отдаёт управление вовсе).
        """
        outcome: dict[str, Any] = {}
        threads = []
        for index, (name, func) in enumerate(targets.items()):
            self._names[index] = name
            self._generation[index] = 0
            self._schedule(index, 0.0)
            self._alive += 1
            threads.append(threading.Thread(target=self._body, args=(index, func, outcome),
                                            name=f"виртуальный:{name}", daemon=True))
        for thread in threads:
            thread.start()
        with self._cond:
            self._pass_token()
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if any(thread.is_alive() for thread in threads):
            with self._cond:
                self.stopped = True
                self._cond.notify_all()
            for name in targets:
                late = VirtualStop(f"не отдал управление за {timeout:g} с реального времени")
                outcome.setdefault(name, late)
        return outcome

    # --- устройство
    def _me(self) -> int:
        me = getattr(self._local, "index", None)
        if me is None:
            raise RuntimeError("VirtualThreads.sleep вызвана не из потока прогона")
        return me

    def _body(self, index: int, func: Callable[[], Any], outcome: dict[str, Any]) -> None:
        self._local.index = index
        name = self._names[index]
        try:
            with self._cond:
                self._wait_turn(index)
            outcome[name] = func()
        except BaseException as exc:  # noqa: BLE001 — отдаём вызывающему
            outcome[name] = exc
        finally:
            with self._cond:
                self._alive -= 1
                if self._running == index:
                    self._pass_token()

    def _schedule(self, index: int, when: float) -> None:
        self._generation[index] += 1
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, index, self._generation[index]))

    def _pass_token(self) -> None:
        while self._heap:
            when, _, index, generation = heapq.heappop(self._heap)
            if generation != self._generation[index]:
                continue  # устаревшая запись: поток уже разбудили раньше
            if when > self.until:
                self.stopped = True
                break
            self.now = max(self.now, when)
            self._running = index
            self._cond.notify_all()
            return
        if self._alive and not self.stopped:
            self.deadlock = self.stopped = True  # все ждут блокировок без срока: будить некому
        self._running = None
        self._cond.notify_all()

    def _wait_turn(self, me: int) -> None:
        while self._running != me:
            if self.stopped:
                why = f"часы дошли до {self.until:g} с"
                if self.deadlock:
                    why = "все ждут блокировок, и будить некому"
                raise VirtualStop(f"прогон в виртуальном времени остановлен: {why}")
            self._cond.wait()

    def _switch(self, me: int) -> None:
        self._pass_token()
        self._wait_turn(me)

    def _block(self, me: int, deadline: float | None) -> None:
        """Ждать, пока не разбудят (`_wake`) или не придёт deadline (None — без срока)."""
        if deadline is not None:
            self._schedule(me, deadline)
        else:
            self._generation[me] += 1  # старые записи недействительны, ждём только _wake
        self._switch(me)

    def _wake(self, index: int) -> None:
        self._schedule(index, self.now)


class VirtualLock:
    """Блокировка в виртуальном времени `VirtualThreads` (как threading.Lock: acquire/release/with)."""

    def __init__(self, clock: VirtualThreads, name: str, think: float = 0.0) -> None:
        self.clock = clock
        self.name = name
        self.think = think
        self.owner: int | None = None
        self._waiters: list[int] = []

    def __repr__(self) -> str:
        return f"<VirtualLock «{self.name}» {'занята' if self.owner is not None else 'свободна'}>"

    def locked(self) -> bool:
        """Занята ли блокировка."""
        return self.owner is not None

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Как Lock.acquire, но ожидание и тайм-аут — в виртуальном времени."""
        clock = self.clock
        me = clock._me()
        with clock._cond:
            if self.owner is None:
                return self._take(me)
            if not blocking or timeout == 0:
                return False
            deadline = None if timeout is None or timeout < 0 else clock.now + timeout
            while True:
                self._waiters.append(me)
                try:
                    clock._block(me, deadline)
                finally:
                    if me in self._waiters:
                        self._waiters.remove(me)
                if deadline is not None and clock.now >= deadline:
                    return False  # срок вышел ровно сейчас — даже если блокировку только что отпустили
                if self.owner is None:
                    return self._take(me)

    def _take(self, me: int) -> bool:
        self.owner = me
        if self.think:
            self.clock._schedule(me, self.clock.now + self.think)
            self.clock._switch(me)
        return True

    def release(self) -> None:
        """Отпустить; ждущие проснутся в этот же виртуальный момент, после текущего потока."""
        clock = self.clock
        with clock._cond:
            if self.owner is None:
                raise RuntimeError("release unlocked lock")
            self.owner = None
            for index in self._waiters:
                clock._wake(index)

    __enter__ = acquire

    def __exit__(self, *exc: object) -> None:
        self.release()


@dataclass
class Politeness:
    """Итог `polite_rivals`: что вернул каждый поток, кто работал, паузы и виртуальное время."""

    clock: VirtualThreads
    outcome: dict[str, Any]
    worked: list[str]
    locks: list[VirtualLock]
    max_attempts: int

    def message(self, names: Sequence[str] | None = None) -> str:
        """Что пошло не так, по-русски (пустая строка — все потоки сделали работу ровно раз)."""
        names = list(names or self.outcome)
        clock = self.clock
        rude = [(who, held) for who, held in clock.held_while_sleeping if who in names]
        if rude:
            who, held = rude[0]
            return (f"Поток «{who}» делал паузу, держа {', '.join(f'«{x}»' for x in held)}: пока он спит, "
                    "соперник не может её взять. Отпустите first и только потом вызывайте sleep.")
        if clock.deadlock:
            return ("Потоки зависли: каждый держит свою блокировку и ждёт чужую без срока. Вторую блокировку "
                    "берите с тайм-аутом: second.acquire(timeout=0.05).")
        failed = {who: self.outcome.get(who) for who in names if not isinstance(self.outcome.get(who), int)}
        if failed:
            who, error = next(iter(failed.items()))
            if isinstance(error, VirtualStop):
                return (f"Поток «{who}» не закончил за {clock.until:g} с виртуального времени: после "
                        f"max_attempts неудачных попыток должен быть RuntimeError, а не новые попытки.")
            if isinstance(error, RuntimeError) and len(failed) == len(names) >= 2:
                pauses = {n: [round(p, 4) for p in clock.sleeps.get(n, [])[:4]] for n in names}
                same = len({tuple(p) for p in pauses.values()}) == 1
                why = ("паузы у всех одинаковы" if same else "паузы слишком похожи") + f" ({pauses})"
                return (f"Все потоки исчерпали {self.max_attempts} попыток, каждый раз сталкиваясь: активная "
                        f"блокировка (livelock), {why}. Делайте паузу случайной, из переданного rng, "
                        "и растущей с номером попытки.")
            return f"Поток «{who}» завершился исключением {type(error).__name__}: {error}"
        extra = [who for who in names if self.worked.count(who) != 1]
        if extra:
            return (f"work() вызвана не ровно один раз у {extra} (журнал работы: {self.worked}): "
                    "вызывайте её один раз, держа обе блокировки.")
        busy = [lock.name for lock in self.locks if lock.locked()]
        if busy:
            return f"После возврата остались занятыми {busy}: отпустите обе блокировки (with, try/finally)."
        return ""


def polite_rivals(
    worker: Callable[..., int],
    seeds: Sequence[int] = (1, 2),
    *,
    max_attempts: int = 30,
    think: float = 0.01,
    until: float = 60.0,
    hog: float = 0.0,
) -> Politeness:
    """Потоки «вежливого» захвата двух блокировок по кругу, в виртуальном времени.

    Поток i вызывает `worker(first, second, work, rng, sleep, max_attempts)` с блокировками
    i и i+1 (по кругу, так что у двух потоков порядок встречный) и `random.Random(seeds[i])`.
    `hog > 0` — ещё поток «жадный», который первым берёт вторую блокировку потока 0 и держит
    её `hog` виртуальных секунд. Один и тот же `worker` и те же `seeds` дают один и тот же
    итог при каждом запуске.
    """
    import random

    clock = VirtualThreads(until=until)
    count = max(2, len(seeds))
    locks = [clock.lock(f"блокировка {chr(ord('A') + i)}", think=think) for i in range(count)]
    worked: list[str] = []
    names = ["левый", "правый"] if len(seeds) == 2 else [f"поток {i}" for i in range(len(seeds))]
    targets: dict[str, Callable[[], Any]] = {}
    if hog:
        def hold() -> None:
            with locks[1]:
                clock.sleep(hog)

        targets["жадный"] = hold
    for i, (name, seed) in enumerate(zip(names, seeds, strict=True)):
        first, second = locks[i], locks[(i + 1) % count]
        rng = random.Random(seed)
        work = partial(worked.append, name)
        targets[name] = partial(worker, first, second, work, rng, clock.sleep, max_attempts)
    outcome = clock.run(targets, timeout=10)
    outcome.pop("жадный", None)
    for error in outcome.values():
        reason = unsolved_reason(error) if isinstance(error, BaseException) else None
        if reason is not None:
            raise ExerciseNotSolved(f"{getattr(worker, '__name__', 'функция')}: {reason}.")
    return Politeness(clock, outcome, worked, locks, max_attempts)
