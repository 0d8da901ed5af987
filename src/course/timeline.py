"""Запись «кто работал и когда»: отрезки потоков, процессов, задач asyncio и гринлетов.

Зачем: чужая картинка про конкурентность убеждает меньше, чем картинка *своего* кода. Внутри
`with record() as rec:` собираются отрезки (кто, что, с какого по какое время, работал или
ждал), а `course.timeline_plot.plot_timeline(rec)` рисует их диаграммой Ганта.

Откуда берутся отрезки:
- явные: `with span("скачать"):` или декоратор `@span("скачать")` — в любом потоке;
- процессы: `pool.map(traced(func), items)` — обёртка пишет отрезки в дочернем процессе и
  передаёт их родителю через файлы во временной папке записи (работает при fork и spawn;
  `func` — функция из модуля, как всегда для пула процессов);
- задачи asyncio — сами: на время записи фабрика задач цикла отмечает, какие задачи наши, а
  `asyncio.events.Handle._run` засекает каждый шаг (от возобновления задачи до следующей
  приостановки) — он становится отрезком «работает», а промежутки между шагами — «ждёт».
  Код студента не меняется. С `asyncio.eager_task_factory` (3.12+) первый шаг задачи идёт
  прямо внутри `create_task` — и на рисунке он внутри шага создавшей её задачи, как и было;
- гринлеты (greenlet, gevent) — через `greenlet.settrace`: каждое переключение закрывает
  отрезок того, кто работал.

Часы — `time.perf_counter_ns()`: монотонные и на Linux, macOS и Windows общие для всех
процессов машины (CLOCK_MONOTONIC, mach_absolute_time, QueryPerformanceCounter), поэтому
отрезки из разных процессов ложатся на одну ось. Не путать с
`time.time()`: эти часы может перевести NTP, и отрезок «кончится раньше, чем начался».

Стоимость: отрезок — кортеж в списке (около 1–2 мкс и ~200 байт), шаг задачи asyncio — около
0.8 мкс и 24 байт; замер в `benchmarks/timeline_overhead.py`.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import marshal
import os
import shutil
import sys
import tempfile
import threading
from array import array
from asyncio import format_helpers
from collections.abc import Callable, Iterable
from time import perf_counter_ns, thread_time_ns
from typing import Any, NamedTuple

from course.measure import cpu_seconds

RUNNING = "running"
WAITING = "waiting"
_STEP = "step"  # шаг кооперативного исполнителя: промежутки между шагами станут «ждёт»
KINDS = (RUNNING, WAITING)


class TimelineError(ValueError):
    """Запись нельзя показать: пустая, ещё не закрыта или с отрезками «назад во времени»."""


class Span(NamedTuple):
    """Отрезок: исполнитель (дорожка), подпись, начало и конец (секунды от начала записи),
    вид (`"running"` — работает, `"waiting"` — ждёт) и процессорное время потока (или None)."""

    worker: str
    label: str
    start: float
    end: float
    kind: str
    cpu: float | None = None

    @property
    def duration(self) -> float:
        return self.end - self.start

    def __str__(self) -> str:
        """По-русски, для print: «задача Task-2, «шаг»: 0–50 мс, ждёт, процессор 0,1 мс»."""
        state = "работает" if self.kind == RUNNING else "ждёт"
        cpu = "" if self.cpu is None else f", процессор {self.cpu * 1000:.1f} мс".replace(".", ",")
        return (f"{self.worker}, «{self.label}»: {self.start * 1000:.0f}–{self.end * 1000:.0f} мс, "
                f"{state}{cpu}")


_ACTIVE: Any = None  # Recording (в записывающем процессе) или _ChildSink (в дочернем)
_get_running_loop = asyncio.events._get_running_loop  # None без исключения, если цикла нет
_current_task = asyncio.current_task
_Task = asyncio.Task
_NOT_WATCHED = (None, False)


def _discard(item: tuple) -> None:
    """Приёмник после закрытия записи: опоздавшие отрезки не нужны."""


class span:  # noqa: N801 — читается как `with span("скачать")`, как contextlib.suppress
    """Отрезок работы текущего потока: `with span("скачать"):` или декоратор `@span("скачать")`.

    Вне записи почти ничего не стоит. `kind=None` — вид определяется сам: «работает», если
    процессорное время потока составило не меньше трети времени по часам, иначе «ждёт»
    (сон, сеть, очередь к GIL). Внутри корутин не нужен: задачи asyncio записываются сами.
    """

    __slots__ = ("label", "kind", "_t0", "_c0")

    def __init__(self, label: str = "", kind: str | None = None) -> None:
        if kind is not None and kind not in KINDS:
            raise ValueError(f"kind={kind!r}: ожидался {RUNNING!r}, {WAITING!r} или None (сам)")
        self.label = label if type(label) is str else str(label)  # отрезок уходит через marshal
        self.kind = kind

    def __enter__(self) -> span:
        if _ACTIVE is None:  # записи нет — и часы не трогаем
            self._t0 = 0
            return self
        self._c0 = thread_time_ns()
        self._t0 = perf_counter_ns()
        return self

    def __exit__(self, *exc: object) -> None:
        t1 = perf_counter_ns()
        sink = _ACTIVE
        if sink is None or not self._t0:
            return
        cpu = thread_time_ns() - self._c0
        t0 = self._t0
        kind = self.kind or (RUNNING if 3 * cpu >= t1 - t0 else WAITING)
        sink.append((sink.pid, _lane(), self.label, t0, t1, kind, cpu))

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(func):
            raise TypeError(
                f"@span на корутине {func.__qualname__!r}: отрезок захватил бы и ожидания в "
                "await. Задачи asyncio записываются сами — просто запустите их внутри record()."
            )
        label, kind = self.label or func.__qualname__, self.kind

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with span(label, kind):
                return func(*args, **kwargs)

        return wrapper


def _lane() -> str:
    """Дорожка для явного отрезка: записываемая задача asyncio, иначе имя потока."""
    loop = _get_running_loop()
    if loop is not None:
        task = asyncio.current_task(loop)
        rec = _ACTIVE
        while task is not None and isinstance(rec, Recording):
            if id(task) in rec._tasks:
                return task.get_name()
            rec = rec._outer
    return threading.current_thread().name


class traced:  # noqa: N801 — обёртка-функция, как functools.partial
    """Обёртка для пулов потоков и процессов: каждый вызов — отрезок `label`.

    `pool.map(traced(count_primes), items)`. Объект переносится pickle, поэтому работает и в
    дочерних процессах при spawn: там он пишет отрезки в папку записи, и при выходе из
    `record()` родитель их забирает. `own_span=False` — не добавлять свой отрезок, а только
    доставить отрезки, которые пишет сама `func` (её `with span(...)`).
    """

    __slots__ = ("func", "label", "own_span", "inbox", "parent_pid")

    def __init__(self, func: Callable[..., Any], label: str | None = None, *, own_span: bool = True):
        if not callable(func):
            raise TypeError(f"traced(func): ожидалась функция, а получено {func!r}")
        self.func = func
        self.label = label if label is not None else getattr(func, "__qualname__", repr(func))
        self.own_span = own_span
        self.inbox: str | None = None
        self.parent_pid = os.getpid()

    def __getstate__(self) -> tuple:
        # Папку записи берём в момент отправки задачи в процесс, а не при создании обёртки:
        # `job = traced(f)` можно написать и до `with record()`.
        active = _ACTIVE
        if isinstance(active, Recording) and active.state == "open":
            return (self.func, self.label, self.own_span, active.inbox, active.pid)
        return (self.func, self.label, self.own_span, self.inbox, self.parent_pid)

    def __setstate__(self, state: tuple) -> None:
        self.func, self.label, self.own_span, self.inbox, self.parent_pid = state

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        global _ACTIVE
        sink = _ACTIVE
        if (
            self.inbox is not None
            and getattr(sink, "inbox", None) != self.inbox
            and os.getpid() != self.parent_pid
        ):
            sink = _ACTIVE = _ChildSink(self.inbox)  # дочерний процесс (spawn или старый пул)
        if sink is None or not self.own_span:
            return self.func(*args, **kwargs)
        with span(self.label):
            return self.func(*args, **kwargs)


class _ChildSink:
    """Приёмник в дочернем процессе: каждый отрезок сразу дописывается в файл папки записи.

    Запись без буфера — один системный вызов; к моменту, когда родитель получил результат
    задачи, её отрезки уже в файле.
    """

    def __init__(self, inbox: str) -> None:
        self.inbox = inbox
        self.pid = os.getpid()
        self._file: Any = None
        self._lock = threading.Lock()

    def append(self, item: tuple) -> None:
        data = marshal.dumps(item)
        with self._lock:
            try:
                if self._file is None:
                    name = os.path.join(self.inbox, f"{self.pid}.spans")
                    self._file = open(name, "ab", buffering=0)  # noqa: SIM115 — живёт с процессом
                self._file.write(data)
            except OSError:  # запись уже закрыта и папка удалена — отрезок опоздал
                self.append = _discard  # type: ignore[method-assign]


def _after_fork_in_child() -> None:
    """В дочернем процессе (fork) отрезки идут не в копию записи, а в файл её папки."""
    global _ACTIVE, _steps_users, _steps_lock
    inbox = getattr(_ACTIVE, "inbox", None)
    _ACTIVE = _ChildSink(inbox) if inbox else None
    if _steps_users:  # шаги задач asyncio в дочернем процессе никто не прочтёт: не засекать их
        _steps_users = 0
        _steps_lock = threading.Lock()
        asyncio.events.Handle._run = _plain_run
        del _STEPS[:]


# --- шаги задач asyncio ---------------------------------------------------------------
# Шаг задачи — это обратный вызов цикла: `Handle._run` вызывает `task.__step` (или
# `task.__wakeup`, когда дождалась future). Пока запись следит за asyncio, `Handle._run`
# заменён копией, которая засекает время: на шаг — два замера часов и кортеж в общем списке.
# Обёртка вокруг корутины стоила бы вдвое дороже (лишний вызов на Python на каждый шаг).
# Чей шаг — видно по `callback.__self__` (задача); разбираем это, только когда просят отрезки.
_STEPS = array("Q")  # id(callback.__self__), t0, t1, … — шаги всех циклов всех потоков
_steps_users = 0
_steps_lock = threading.Lock()
_plain_run = asyncio.events.Handle._run


def _timed_run(self: Any, _add: Callable[[tuple], None] = _STEPS.extend) -> None:
    """`asyncio.events.Handle._run` (3.11–3.14) и время шага."""
    t0 = perf_counter_ns()
    try:
        self._context.run(self._callback, *self._args)
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        cb = format_helpers._format_callback_source(self._callback, self._args)
        context = {"message": f"Exception in callback {cb}", "exception": exc, "handle": self}
        if self._source_traceback:
            context["source_traceback"] = self._source_traceback
        self._loop.call_exception_handler(context)
    finally:
        _add((id(getattr(self._callback, "__self__", None)), t0, perf_counter_ns()))
    self = None  # noqa: PLW0642 — как в оригинале: разорвать цикл ссылок после исключения


def _steps_on() -> int:
    """Начать засекать шаги; вернуть, с какого места `_STEPS` читать."""
    global _steps_users
    with _steps_lock:
        if _steps_users == 0:
            asyncio.events.Handle._run = _timed_run
        _steps_users += 1
        return len(_STEPS)


def _steps_off(since: int) -> array:
    """Перестать засекать (если больше никто не пишет); вернуть шаги с места `since`."""
    global _steps_users
    with _steps_lock:
        steps = _STEPS[since:]
        _steps_users -= 1
        if _steps_users == 0:
            asyncio.events.Handle._run = _plain_run
            del _STEPS[:]
        return steps


def _task_lanes(tasks: dict[int, Any], created_pairs: array, steps: array) -> list[tuple]:
    """Шаги записанных задач → (дорожка, подпись, создана, [t0, t1, …]) на задачу.

    Задачи живы до разбора (запись держит их), поэтому id шага после создания задачи — её id;
    шаг до создания с тем же id — чужой объект, живший по тому же адресу раньше.
    """
    it = iter(created_pairs)
    created = dict(zip(it, it, strict=True))
    times: dict[int, list[int]] = {key: [] for key in tasks}
    it = iter(steps)
    for key, t0, t1 in zip(it, it, it, strict=True):
        found = times.get(key)
        if found is not None and t0 >= created[key]:
            found += (t0, t1)
    lanes = []
    for key, task in tasks.items():
        coro = task.get_coro()
        label = getattr(coro, "__qualname__", type(coro).__name__)
        lanes.append((task.get_name(), label, created[key], times[key]))
    return lanes


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class Recording:
    """Одна запись: `with record("потоки") as rec:` … затем `rec.spans`, `rec.wall`, `rec.cpu`.

    Пока запись открыта, отрезки копятся сырыми кортежами (дёшево); при выходе из `with`
    забираются отрезки дочерних процессов, шаги задач и гринлетов дополняются отрезками
    ожидания, и получается список `Span` со временем в секундах от начала записи.
    Закрытую запись можно передать pickle (например, из дочернего процесса со своим циклом).
    """

    def __init__(self, title: str = "", *, greenlets: bool | None = None) -> None:
        self.title = title
        self._spans: list[Span] | None = None
        self.start_ns = self.end_ns = 0
        self.wall: float | None = None
        self.cpu: float | None = None
        self.pid = os.getpid()
        self.inbox: str | None = None
        self.state = "new"  # new → open → closed
        self._greenlets = greenlets
        self._raw: list[tuple] = []
        self.append: Callable[[tuple], None] = _discard
        self._outer: Any = None
        self._loops: dict[Any, tuple[Any, bool]] = {}
        self._owner: Any = None  # задача, которая вошла в запись
        self._tasks: dict[int, Any] = {}  # id(задачи) → задача
        self._created = array("Q")  # id(задачи), когда создана, … (кортежи стоили бы сборщику мусора)
        self._steps_from: int | None = None  # место в _STEPS, с которого шаги наши
        self._steps = array("Q")
        self._g_prev: Any = None
        self._g_state: Any = None

    # --- состояние -------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self.state == "closed"

    @property
    def spans(self) -> list[Span]:
        """Отрезки закрытой записи по времени начала (у открытой — пустой список)."""
        if self._spans is None:
            if self.state != "closed":
                return []
            raw = self._raw + _task_lanes(self._tasks, self._created, self._steps)
            self._spans = _finish(raw, self.start_ns, self.pid)
            self._raw, self._tasks, self._created, self._steps = [], {}, array("Q"), array("Q")
        return self._spans

    def __getstate__(self) -> dict:
        if not self.closed:
            raise TimelineError("Передавать можно только закрытую запись (после выхода из with).")
        keep = ("title", "wall", "cpu", "pid", "state")
        return {"_spans": self.spans, **{key: self.__dict__[key] for key in keep}}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["title"])  # type: ignore[misc]
        self.__dict__.update(state)

    def __repr__(self) -> str:
        wall = "" if self.wall is None else f", по часам {self.wall * 1000:.0f} мс"
        count = len(self._spans) if self._spans is not None else len(self._raw)  # не строим Span
        return f"<Recording {self.title!r}: {self.state}, записей {count}{wall}>"

    # --- вход и выход ------------------------------------------------------------------
    def __enter__(self) -> Recording:
        global _ACTIVE
        if self.state != "new":
            raise TimelineError("Запись уже использована: для нового замера вызовите record() заново.")
        self.state = "open"
        self.inbox = tempfile.mkdtemp(prefix="course-timeline-")
        self.append = self._raw.append
        loop = _get_running_loop()
        if loop is not None:  # без цикла задачи записываются, если войти в запись в корутине
            self._owner = asyncio.current_task(loop)
            self.watch(loop, all_tasks=False)
        self._start_greenlets()
        self._outer, _ACTIVE = _ACTIVE, self
        self._cpu0 = cpu_seconds()
        self.start_ns = perf_counter_ns()
        if self._g_state is not None:
            self._g_state[0] = self.start_ns
        return self

    async def __aenter__(self) -> Recording:
        return self.__enter__()

    def __exit__(self, *exc: object) -> None:
        global _ACTIVE
        end_ns = perf_counter_ns()
        self.cpu = cpu_seconds() - self._cpu0
        self.wall = (end_ns - self.start_ns) / 1e9
        self._stop_greenlets(end_ns)
        _ACTIVE = self._outer
        self._outer = None
        self.append = _discard
        for loop, (previous, _) in self._loops.items():
            if getattr(loop.get_task_factory(), "__self__", None) is self:
                loop.set_task_factory(previous)
        self._loops.clear()
        self._owner = None
        self.end_ns = end_ns
        raw = self._raw
        if self._steps_from is not None:  # разбор шагов — потом, когда попросят отрезки
            self._steps = _steps_off(self._steps_from)
            self._steps_from = None
        raw += _read_inbox(self.inbox)
        shutil.rmtree(self.inbox, ignore_errors=True)
        self.state = "closed"

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__(*exc)

    # --- asyncio -----------------------------------------------------------------------
    def watch(self, loop: asyncio.AbstractEventLoop, all_tasks: bool = True) -> None:
        """Записывать задачи цикла `loop` (например, личного цикла в другом потоке).

        Цикл, работавший при входе в запись, подключается сам, но только для задач, созданных
        кодом внутри `with` и их потомками (служебные задачи ядра Jupyter не попадут на
        рисунок). Не ContextVar: заданная переменная контекста замедлила бы сам asyncio
        (сборщик мусора обходит копии контекста у каждой задачи).
        """
        if loop not in self._loops:
            self._loops[loop] = (loop.get_task_factory(), all_tasks)
            loop.set_task_factory(self._task_factory)
            if self._steps_from is None:
                self._steps_from = _steps_on()

    def _task_factory(self, loop: Any, coro: Any, **kwargs: Any) -> asyncio.Future:
        previous, all_tasks = self._loops.get(loop, _NOT_WATCHED)
        if self.state == "open":
            creator = _current_task(loop)  # задачу создаёт код записи?
            if (
                creator is self._owner
                or all_tasks
                or (creator is not None and id(creator) in self._tasks)
            ):
                created = perf_counter_ns()
                if previous is None:
                    task = _Task(coro, loop=loop, **kwargs)
                else:
                    task = previous(loop, coro, **kwargs)
                self._tasks[id(task)] = task
                self._created.extend((id(task), created))
                return task
        if previous is None:
            return _Task(coro, loop=loop, **kwargs)
        return previous(loop, coro, **kwargs)

    # --- гринлеты ------------------------------------------------------------------------
    def _start_greenlets(self) -> None:
        wanted = self._greenlets if self._greenlets is not None else "greenlet" in sys.modules
        if not wanted:
            return
        import greenlet

        names: Any = __import__("weakref").WeakKeyDictionary()
        self._g_state = [perf_counter_ns(), names, 0]  # с какого момента, имена, счётчик
        self._g_prev = greenlet.settrace(self._on_switch)

    def _greenlet_name(self, g: Any) -> tuple[str, str]:
        names = self._g_state[1]
        known = names.get(g)
        if known is None:
            if g.parent is None:
                known = ("main greenlet", "main")
            elif type(g).__name__ == "Hub":
                known = ("gevent hub", "hub")
            else:  # у голого greenlet атрибут run уже удалён к первому переключению
                self._g_state[2] += 1
                name = getattr(g, "name", None) or f"greenlet-{self._g_state[2]}"
                run = getattr(g, "_run", None) or getattr(type(g), "run", None)
                label = getattr(run, "__qualname__", "")
                known = (name, label if label and not label.startswith("greenlet.") else name)
            names[g] = known
        return known

    def _on_switch(self, event: str, args: Any) -> None:
        if event in ("switch", "throw"):
            now = perf_counter_ns()
            lane, label = self._greenlet_name(args[0])
            self.append((self.pid, lane, label, self._g_state[0], now, _STEP, None))
            self._g_state[0] = now
            self._greenlet_name(args[1])
        if self._g_prev is not None:
            self._g_prev(event, args)

    def _stop_greenlets(self, end_ns: int) -> None:
        if self._g_state is None:
            return
        import greenlet

        if self._g_state[2] or len(self._g_state[1]) > 1:  # переключения были
            lane, label = self._greenlet_name(greenlet.getcurrent())
            self.append((self.pid, lane, label, self._g_state[0], end_ns, _STEP, None))
        greenlet.settrace(self._g_prev)
        self._g_prev = self._g_state = None

    # --- готовая запись ----------------------------------------------------------------
    @classmethod
    def from_spans(
        cls, spans: Iterable[Span | tuple], title: str = "", wall: float | None = None, cpu: float = 0.0
    ) -> Recording:
        """Закрытая запись из готовых отрезков (секунды) — для своих журналов и тестов."""
        rec = cls(title)
        rec._spans = [Span(*item) for item in spans]
        rec.wall = wall if wall is not None else max((s.end for s in rec.spans), default=0.0)
        rec.cpu = cpu
        rec.state = "closed"
        return rec

    @property
    def workers(self) -> list[str]:
        """Исполнители (дорожки) в порядке первого появления на оси времени."""
        first: dict[str, float] = {}
        for s in self.spans:
            if s.start < first.get(s.worker, float("inf")):
                first[s.worker] = s.start
        return sorted(first, key=lambda w: (first[w], w))

    def by_worker(self, kind: str | None = None) -> dict[str, list[Span]]:
        """Отрезки по исполнителям (по времени начала); `kind` — только такого вида."""
        lanes: dict[str, list[Span]] = {w: [] for w in self.workers}
        for s in sorted(self.spans, key=lambda s: s.start):
            if kind is None or s.kind == kind:
                lanes[s.worker].append(s)
        return lanes

    def peak(self, kind: str | None = RUNNING) -> int:
        """Сколько отрезков (вида `kind`, None — любых) шло в один и тот же момент, максимум.

        Касание (один кончился ровно тогда, когда начался другой) не считается наложением.
        """
        events = sorted(
            (t, step) for s in self.spans if kind is None or s.kind == kind
            for t, step in ((s.start, 1), (s.end, -1))
        )
        peak = now = 0
        for _, step in events:
            now += step
            peak = max(peak, now)
        return peak

    def check(self) -> None:
        """Убедиться, что запись можно рисовать; иначе TimelineError с объяснением по-русски."""
        if self.state != "closed":
            raise TimelineError(
                f"Запись {self.title!r} ещё не закрыта: рисуйте её после выхода из блока "
                "`with record() as rec:` (строкой без отступа), а не внутри него."
            )
        if not self.spans:
            raise TimelineError(
                f"В записи {self.title!r} нет ни одного отрезка. Внутри `with record()` оберните "
                "работу в `with span(\"…\")`, передайте пулу `traced(func)` или запустите задачи "
                "asyncio (create_task, gather, TaskGroup)."
            )
        for s in self.spans:
            if not s.end >= s.start:  # и NaN тоже
                raise TimelineError(
                    f"Отрезок {s.label!r} исполнителя {s.worker!r} кончается раньше, чем "
                    f"начинается ({s.start:.6f} → {s.end:.6f} с): часы пошли назад. Берите "
                    "монотонные часы time.perf_counter(), а не time.time()."
                )


def record(title: str = "", *, greenlets: bool | None = None) -> Recording:
    """Начать запись: `with record("потоки") as rec:` (или `async with` внутри корутины).

    Внутри записываются явные отрезки `span`, вызовы `traced(...)` (в том числе в дочерних
    процессах) и задачи asyncio цикла, который работал при входе: в Jupyter это цикл ядра,
    в скрипте входите в запись внутри корутины (`async with record()` в `main()`); чужой
    цикл — `rec.watch(loop)`. `greenlets=None` — следить за переключениями гринлетов в этом
    потоке, если модуль greenlet уже импортирован (True — всегда, False — никогда).
    """
    return Recording(title, greenlets=greenlets)


def _read_inbox(inbox: str | None) -> list[tuple]:
    """Отрезки, которые дочерние процессы дописали в файлы папки записи."""
    items: list[tuple] = []
    if not inbox or not os.path.isdir(inbox):
        return items
    for name in sorted(os.listdir(inbox)):
        with open(os.path.join(inbox, name), "rb") as file:
            while True:
                try:
                    items.append(marshal.load(file))
                except (EOFError, ValueError, TypeError):  # конец или оборванная запись
                    break
    return items


def _finish(raw: list[tuple], start_ns: int, pid: int) -> list[Span]:
    """Сырые кортежи → Span; между шагами задач и гринлетов вставить отрезки ожидания."""
    new = tuple.__new__  # Span без вызова его __new__ на Python: вдвое быстрее на 10⁵ отрезков
    names: dict[tuple[int, str], str] = {}
    steps: dict[tuple[str, str], list[tuple[int, int]]] = {}  # шаги гринлетов
    spans: list[Span] = []
    tasks = []
    for item in raw:
        if len(item) == 4:  # задача asyncio: (дорожка, подпись, создана, [t0, t1, …])
            if item[0] is not None and item[3]:  # задачи, которые так и не начались, не рисуем
                tasks.append(item)
            continue
        p, lane, label, t0, t1, kind, cpu = item
        name = names.get((p, lane))
        if name is None:
            if p == pid:
                name = lane
            else:
                name = f"процесс {p}" if lane == "MainThread" else f"процесс {p} · {lane}"
            names[(p, lane)] = name
        if kind == _STEP:  # шаг гринлета
            steps.setdefault((name, label), []).append((t0, t1))
        else:
            spans.append(new(Span, (name, label, (t0 - start_ns) / 1e9, (t1 - start_ns) / 1e9, kind,
                                    None if cpu is None else cpu / 1e9)))
    lanes = [(lane, label, created, list(zip(times[::2], times[1::2], strict=True)))
             for lane, label, created, times in tasks]  # задача ждёт с момента создания
    lanes += [(name, label, items[0][0], sorted(items)) for (name, label), items in steps.items()]
    for name, label, wait_from, items in lanes:
        for t0, t1 in items:
            if t0 > wait_from:
                start = (wait_from - start_ns) / 1e9
                spans.append(new(Span, (name, label, start, (t0 - start_ns) / 1e9, WAITING, None)))
            start = (t0 - start_ns) / 1e9
            spans.append(new(Span, (name, label, start, (t1 - start_ns) / 1e9, RUNNING, None)))
            wait_from = t1
    spans.sort(key=lambda s: (s.start, s.end))
    return spans


def wait_then_count(job: tuple[float, int]) -> int:
    """Образец задачи для рисунков: подождать `job[0]` секунд («сеть»), затем посчитать
    простые числа меньше `job[1]`; каждый этап — свой отрезок. Лежит в модуле, чтобы
    работать и в пуле процессов: `run_processes(traced(wait_then_count, own_span=False), …)`."""
    from course.workloads import count_primes, wait_io

    seconds, limit = job
    with span("ждёт", WAITING):
        wait_io(seconds)
    with span("считает", RUNNING):  # цвет — по тому, что делает код; долю процессора рисунок покажет отдельно
        return count_primes(limit)
