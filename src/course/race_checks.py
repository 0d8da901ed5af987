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
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from course.checks import ExerciseFailure

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

    def make(name: str) -> property:
        def getter(self: Any) -> Any:
            try:
                value = self.__dict__[name]
            except KeyError:
                raise AttributeError(name) from None
            time.sleep(pause)
            return value

        def setter(self: Any, value: Any) -> None:
            self.__dict__[name] = value

        return property(getter, setter)

    for name in names:
        if isinstance(getattr(cls, name, None), property):
            raise ExerciseFailure(
                f"В классе {cls.__name__} {name} — свойство (property); по условию это должен "
                f"быть обычный атрибут self.{name}."
            )
    spied = type(cls.__name__, (cls,), {name: make(name) for name in names})
    spied.__qualname__ = cls.__qualname__
    spied.__module__ = cls.__module__
    obj.__class__ = spied
    return obj


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


@dataclass
class RaceReport:
    """Вердикт `provoke_race`: сколько прогонов, в скольких нарушен инвариант и как."""

    runs: int
    broken: int
    problems: list[str]
    elapsed: float

    @property
    def caught(self) -> bool:
        """True, если хотя бы один прогон нарушил инвариант."""
        return self.broken > 0

    def message(self) -> str:
        """Объяснение по-русски: что нарушено и в скольких прогонах."""
        if not self.caught:
            return f"Гонка не обнаружена: {self.runs} прогонов за {self.elapsed:.2f} с."
        return f"Нарушение в {self.broken} из {self.runs} прогонов: {self.problems[0]}"

    def expect_safe(self, hint: str = "") -> None:
        """Упасть с ExerciseFailure, если гонка поймана (для ячеек-тестов)."""
        if self.caught:
            text = (
                f"{self.message()} Несколько потоков изменяли общие данные без синхронизации: "
                "между чтением и записью успевал вмешаться другой поток."
            )
            raise ExerciseFailure(f"{text} {hint}".strip())


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
    done = broken = 0
    with switch_interval(interval) if interval else _nothing():
        while done < runs:
            state = setup()
            if yield_attrs:
                add_yield_points(state, *yield_attrs)
            hammered = hammer(partial(action, state), threads=threads, calls=calls)
            done += 1
            problem = _problem_of(hammered) or check(state, hammered)
            if problem:
                broken += 1
                problems.append(problem)
                if stop_on_first:
                    break
            if time.perf_counter() - began > budget:
                break
    return RaceReport(done, broken, problems, time.perf_counter() - began)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _problem_of(hammered: Hammered) -> str | None:
    if hammered.stuck:
        return f"потоки {', '.join(hammered.stuck)} не закончили работу (зависание?)"
    if hammered.errors:
        first = hammered.errors[0]
        return f"в потоке возникло исключение {type(first).__name__}: {first}"
    return None


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
            raise ExerciseFailure(f"{text} {hint}".strip())


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
    return WatchResult(not stuck and deadlock is None, deadlock, errors, stuck, time.perf_counter() - began)
