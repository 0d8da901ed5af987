"""Самодельный цикл событий (тема 06): те же детали, из которых собран asyncio, в одном модуле.

Зачем: в ноутбуке цикл строится по шагам — очередь колбэков, Future, задачи-генераторы,
куча таймеров, `selectors`, Task и `__await__`. Здесь те же шаги собраны в одно целое,
чтобы упражнения и демонстрации могли его импортировать, а тесты — проверить.

    from course.miniloop import Loop, sleep

    async def hello(name):
        await sleep(0.1)
        return f"привет, {name}"

    loop = Loop()
    loop.run_until_complete(hello("мир"))   # 'привет, мир' примерно через 0.1 с

Что соответствует чему в asyncio:

| здесь | в asyncio |
|---|---|
| `Loop._ready` (deque колбэков) | `BaseEventLoop._ready` |
| `Loop._timers` (куча `heapq`) | `BaseEventLoop._scheduled` (куча TimerHandle) |
| `Loop._selector` | `BaseSelectorEventLoop._selector` (epoll / kqueue / select) |
| `Future.__await__` отдаёт себя (`yield self`) | `asyncio.Future.__await__` |
| `Task._step` / `Task._wakeup` | `Task.__step` / `Task.__wakeup` |

Упрощения (сознательные): нет отмены (`cancel`), нет потокобезопасного `call_soon_threadsafe`,
исключение в колбэке не логируется, а вылетает из `run_until_complete` — громко и сразу.
Часы (`clock`) и способ ждать без сокетов (`sleep`) можно подменить: с виртуальными часами
тесты проверяют время пробуждений точно и без настоящего сна.
"""

from __future__ import annotations

import heapq
import itertools
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any

_PENDING, _DONE = "ожидает", "готов"
_running = threading.local()


class InvalidStateError(RuntimeError):
    """Future уже готов (второй set_result) или ещё не готов (result() слишком рано)."""


def get_running_loop() -> Loop:
    """Цикл miniloop, работающий в этом потоке (как `asyncio.get_running_loop`)."""
    loop = getattr(_running, "loop", None)
    if loop is None:
        raise RuntimeError(
            "Нет работающего цикла miniloop в этом потоке: вызывайте sleep() и другие "
            "ожидания внутри корутины, запущенной через loop.run_until_complete(...)."
        )
    return loop


class Future:
    """Обещание результата: место, куда кто-то позже положит значение или исключение.

    Сам Future ничего не выполняет (не путать с задачей). Колбэки зовутся не сразу в
    set_result, а через `loop.call_soon` — как в asyncio: тот, кто кладёт результат, не
    выполняет чужой код у себя на стеке. `await fut` отдаёт сам Future циклу (`yield self`),
    и задача засыпает, пока он не будет готов.
    """

    def __init__(self, loop: Loop) -> None:
        self._loop = loop
        self._state = _PENDING
        self._result: Any = None
        self._exception: BaseException | None = None
        self._callbacks: list[Callable[[Future], Any]] = []

    def done(self) -> bool:
        """True, если результат или исключение уже положены."""
        return self._state == _DONE

    def result(self) -> Any:
        """Результат; исключение, если его положили; InvalidStateError, если ещё рано."""
        if not self.done():
            raise InvalidStateError("Результата ещё нет: дождитесь его (await) или колбэка.")
        if self._exception is not None:
            raise self._exception
        return self._result

    def exception(self) -> BaseException | None:
        """Положенное исключение или None."""
        if not self.done():
            raise InvalidStateError("Future ещё не готов.")
        return self._exception

    def add_done_callback(self, fn: Callable[[Future], Any]) -> None:
        """Позвать `fn(self)`, когда Future станет готов (если уже готов — на следующем шаге цикла)."""
        if self.done():
            self._loop.call_soon(fn, self)
        else:
            self._callbacks.append(fn)

    def set_result(self, value: Any) -> None:
        """Положить результат и запланировать колбэки по порядку добавления."""
        self._finish(value, None)

    def set_exception(self, exc: BaseException) -> None:
        """Положить исключение: result() поднимет его у того, кто ждёт."""
        self._finish(None, exc)

    def _finish(self, value: Any, exc: BaseException | None) -> None:
        if self.done():
            raise InvalidStateError(f"{self!r} уже готов: результат кладут один раз.")
        self._state, self._result, self._exception = _DONE, value, exc
        callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:
            self._loop.call_soon(fn, self)

    def __await__(self) -> Generator[Future, None, Any]:
        if not self.done():
            yield self  # «разбуди меня, когда я буду готов» — это видит Task._step
        if not self.done():
            raise RuntimeError("await Future работает только внутри Task этого цикла.")
        return self.result()

    __iter__ = __await__  # чтобы генераторные задачи могли писать `yield from fut`

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._state}>"


class Task(Future):
    """Задача: Future, который сам двигает корутину (или генератор) шаг за шагом.

    Шаг — `coro.send(value)` до следующей приостановки. Корутина отдаёт наверх то, чего ждёт:
    Future — задача подписывается на него (`add_done_callback(self._wakeup)`) и засыпает;
    None (голый `yield`) — задача уступает ход и встаёт в конец очереди готовых.
    """

    _names = itertools.count(1)

    def __init__(
        self, coro: Coroutine[Any, Any, Any] | Generator[Any, Any, Any], loop: Loop, name: str = ""
    ) -> None:
        super().__init__(loop)
        self._coro = coro
        self.name = name or f"task-{next(Task._names)}"
        loop.call_soon(self._step)

    def _step(self, value: Any = None, exc: BaseException | None = None) -> None:
        start = time.perf_counter()
        try:
            if exc is None:
                waited = self._coro.send(value)
            else:
                waited = self._coro.throw(exc)
        except StopIteration as stop:
            self.set_result(stop.value)
        except Exception as error:  # noqa: BLE001 — ошибка задачи достаётся тому, кто её ждёт
            self.set_exception(error)
        else:
            if isinstance(waited, Future):
                waited.add_done_callback(self._wakeup)
            elif waited is None:
                self._loop.call_soon(self._step)
            else:
                problem = TypeError(
                    f"Задача {self.name} отдала циклу {waited!r}. Ждать можно Future (await fut) "
                    "или уступить ход голым yield / await sleep(0)."
                )
                self._loop.call_soon(self._step, None, problem)
        finally:
            self._loop.trace.append((self.name, start, time.perf_counter()))

    def _wakeup(self, fut: Future) -> None:
        try:
            value = fut.result()
        except Exception as error:  # noqa: BLE001 — бросаем ошибку внутрь корутины
            self._step(None, error)
        else:
            self._step(value)

    def __repr__(self) -> str:
        return f"<Task {self.name} {self._state}>"


class _PassTurn:
    """Ожидаемое, которое один раз уступает ход: `await _PassTurn()` == голый `yield`."""

    def __await__(self) -> Generator[None, None, None]:
        yield None


async def sleep(delay: float, result: Any = None) -> Any:
    """Заснуть на `delay` секунд часов цикла, не блокируя другие задачи (как asyncio.sleep)."""
    if delay <= 0:
        await _PassTurn()
        return result
    loop = get_running_loop()
    fut = loop.create_future()
    loop.call_later(delay, _resolve, fut, result)
    return await fut


def _resolve(fut: Future, value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


class Loop:
    """Цикл событий: очередь готовых колбэков, куча таймеров и селектор сокетов.

    clock — часы цикла (по умолчанию `time.monotonic`); sleep — чем ждать ближайший
    таймер, когда сокетов нет (по умолчанию `time.sleep`). Подставьте виртуальные часы
    и их `sleep`, и время в тестах пойдёт мгновенно и точно. `trace` копит
    (имя задачи, начало, конец) каждого шага задачи — по нему рисуют временную шкалу.
    """

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], Any] = time.sleep
    ) -> None:
        self.clock = clock
        self._sleep = sleep
        self._ready: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self._timers: list[tuple[float, int, Callable[..., Any], tuple[Any, ...]]] = []
        self._seq = itertools.count()
        self._selector = selectors.DefaultSelector()
        self.trace: list[tuple[str, float, float]] = []

    # --- колбэки и таймеры -------------------------------------------------------------
    def call_soon(self, callback: Callable[..., Any], *args: Any) -> None:
        """Выполнить `callback(*args)` на ближайшем шаге цикла (после уже стоящих в очереди)."""
        self._ready.append((callback, args))

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> None:
        """Выполнить `callback(*args)` через `delay` секунд часов цикла."""
        self.call_at(self.clock() + delay, callback, *args)

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any) -> None:
        """Выполнить в момент `when`; равные моменты — в порядке постановки (номер seq)."""
        heapq.heappush(self._timers, (when, next(self._seq), callback, args))

    def create_future(self) -> Future:
        """Новый Future этого цикла."""
        return Future(self)

    def create_task(self, coro: Coroutine[Any, Any, Any] | Generator[Any, Any, Any], name: str = "") -> Task:
        """Обернуть корутину (или генератор) в задачу; первый шаг — на ближайшем шаге цикла."""
        return Task(coro, self, name)

    # --- сокеты: готовность через selectors ----------------------------------------------
    def _watch(self, fd: int, event: int, callback: Callable[[], Any] | None) -> None:
        """Поставить (или снять, если None) колбэк чтения или записи для `fd` в селекторе."""
        key = self._selector.get_map().get(fd)
        reader, writer = key.data if key is not None else (None, None)
        if event == selectors.EVENT_READ:
            reader = callback
        else:
            writer = callback
        mask = (selectors.EVENT_READ if reader else 0) | (selectors.EVENT_WRITE if writer else 0)
        if key is None:
            if mask:
                self._selector.register(fd, mask, (reader, writer))
        elif mask:
            self._selector.modify(fd, mask, (reader, writer))
        else:
            self._selector.unregister(fd)

    def add_reader(self, fd: int, callback: Callable[[], Any]) -> None:
        """Звать `callback()`, пока в сокете есть что читать."""
        self._watch(fd, selectors.EVENT_READ, callback)

    def remove_reader(self, fd: int) -> None:
        """Перестать следить за чтением из `fd`."""
        self._watch(fd, selectors.EVENT_READ, None)

    def add_writer(self, fd: int, callback: Callable[[], Any]) -> None:
        """Звать `callback()`, пока в сокет можно писать."""
        self._watch(fd, selectors.EVENT_WRITE, callback)

    def remove_writer(self, fd: int) -> None:
        """Перестать следить за записью в `fd`."""
        self._watch(fd, selectors.EVENT_WRITE, None)

    def _when_ready(self, sock: socket.socket, event: int, attempt: Callable[[], Any]) -> Future:
        """Future, который получит `attempt()`, как только сокет будет готов и попытка удастся.

        `attempt` бросает BlockingIOError, если ещё рано, — тогда ждём следующей готовности.
        """
        fut = self.create_future()
        fd = sock.fileno()

        def on_ready() -> None:
            try:
                value = attempt()
            except (BlockingIOError, InterruptedError):
                return
            except Exception as error:  # noqa: BLE001 — ошибка сокета уходит ждущей задаче
                self._watch(fd, event, None)
                fut.set_exception(error)
            else:
                self._watch(fd, event, None)
                fut.set_result(value)

        self._watch(fd, event, on_ready)
        return fut

    @staticmethod
    def _check_nonblocking(sock: socket.socket) -> None:
        """Сокет цикла обязан быть неблокирующим (asyncio проверяет то же в отладочном режиме).

        Здесь recv зовётся только после сигнала готовности, и блокирующий сокет часто сходит с
        рук — пока не встретится send в полный буфер или connect к медленному адресу: тогда
        стоит весь цикл. Поэтому ошибка сразу, с подсказкой.
        """
        if sock.gettimeout() != 0:
            raise ValueError(
                "сокет в блокирующем режиме: вызовите sock.setblocking(False) до sock_connect / "
                "sock_sendall / sock_recv, иначе один send или connect без готовности остановит весь цикл"
            )

    def sock_recv(self, sock: socket.socket, nbytes: int) -> Future:
        """Дождаться данных и прочитать до `nbytes` байт (b"" — собеседник закрыл соединение)."""
        self._check_nonblocking(sock)
        return self._when_ready(sock, selectors.EVENT_READ, lambda: sock.recv(nbytes))

    def sock_accept(self, sock: socket.socket) -> Future:
        """Дождаться входящего соединения; результат — (неблокирующий сокет, адрес)."""

        def attempt() -> tuple[socket.socket, Any]:
            conn, address = sock.accept()
            conn.setblocking(False)
            return conn, address

        return self._when_ready(sock, selectors.EVENT_READ, attempt)

    async def sock_sendall(self, sock: socket.socket, data: bytes) -> None:
        """Отправить все байты, дожидаясь готовности к записи, когда буфер ядра полон."""
        self._check_nonblocking(sock)
        view = memoryview(data)
        while view:
            try:
                sent = sock.send(view)
            except (BlockingIOError, InterruptedError):
                sent = 0
            view = view[sent:]
            if view:
                await self._when_ready(sock, selectors.EVENT_WRITE, lambda: None)

    async def sock_connect(self, sock: socket.socket, address: Any) -> None:
        """Подключить неблокирующий сокет: начать connect и дождаться готовности к записи."""
        self._check_nonblocking(sock)
        try:
            sock.connect(address)
            return
        except (BlockingIOError, InterruptedError):
            pass
        await self._when_ready(sock, selectors.EVENT_WRITE, lambda: None)
        error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error:
            raise OSError(error, f"не удалось подключиться к {address}")

    # --- сам цикл ---------------------------------------------------------------------
    def run_once(self) -> None:
        """Один оборот: подождать (сокеты или таймер), перенести созревшие таймеры, выполнить готовое."""
        timeout: float | None = None
        if self._ready:
            timeout = 0.0
        elif self._timers:
            timeout = max(0.0, self._timers[0][0] - self.clock())
        if self._selector.get_map():
            for key, mask in self._selector.select(timeout):
                reader, writer = key.data
                if mask & selectors.EVENT_READ and reader:
                    self._ready.append((reader, ()))
                if mask & selectors.EVENT_WRITE and writer:
                    self._ready.append((writer, ()))
        elif timeout:
            self._sleep(timeout)
        now = self.clock()
        while self._timers and self._timers[0][0] <= now:
            _, _, callback, args = heapq.heappop(self._timers)
            self._ready.append((callback, args))
        for _ in range(len(self._ready)):  # только то, что готово сейчас, — как в asyncio
            callback, args = self._ready.popleft()
            callback(*args)

    def run_until_complete(self, main: Awaitable[Any] | Generator[Any, Any, Any]) -> Any:
        """Крутить цикл, пока `main` (корутина, генератор или Future) не будет готов; вернуть результат."""
        if getattr(_running, "loop", None) is not None:
            raise RuntimeError("В этом потоке уже работает цикл miniloop: циклы не вкладываются.")
        fut = main if isinstance(main, Future) else self.create_task(main, "main")  # type: ignore[arg-type]
        _running.loop = self
        try:
            while not fut.done():
                if not (self._ready or self._timers or self._selector.get_map()):
                    raise RuntimeError(
                        "Цикл встал: задача ждёт, но разбудить её нечему — нет готовых колбэков, "
                        "таймеров и сокетов. Возможно, ждут Future, в который никто не положит результат."
                    )
                self.run_once()
        finally:
            _running.loop = None
        return fut.result()

    def close(self) -> None:
        """Закрыть селектор (сокеты закрывает их владелец)."""
        self._selector.close()


def run(main: Coroutine[Any, Any, Any], **loop_options: Any) -> Any:
    """Новый цикл, выполнить `main` до конца, закрыть цикл (как `asyncio.run`)."""
    loop = Loop(**loop_options)
    try:
        return loop.run_until_complete(main)
    finally:
        loop.close()
