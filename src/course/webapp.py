"""Живой веб-сервер для темы 10: приложение FastAPI, uvicorn в фоновом потоке и генератор нагрузки.

Зачем: разницу между `def` и `async def` в FastAPI лучше один раз увидеть под нагрузкой, чем
прочитать. Здесь:

- `make_app(delay)` — приложение с «близнецами», которые ждут одно и то же время:
  `/sync` (`def` + `time.sleep`: FastAPI выполнит в пуле потоков), `/async` (`async def` +
  `await asyncio.sleep`: на цикле событий), `/async_blocking` (`async def` + `time.sleep` —
  сломано нарочно: стоит весь цикл), `/ping` (мгновенный ответ), и пара для счёта:
  `/primes_inline` (считает прямо на цикле) и `/primes_pool` (отдаёт пулу процессов).
- `Server(app)` — uvicorn в фоновом потоке на 127.0.0.1 и свободном порту (порт 0); журнал
  uvicorn идёт в список `server.log`, а не в stderr ячейки. `stop()` останавливает сервер,
  с ним закрывается и пул процессов приложения.
- `load(url, n, concurrency)` — генератор нагрузки, как `ab -n N -c C`: всего N запросов, и
  в любой момент не больше C *в полёте*. C — не число потоков: клиент — один цикл событий.

Не путать: `Server` и `load` живут в том же процессе, что и ядро, но на своих циклах в своих
потоках; цикл ядра Jupyter они не трогают.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import socket
import statistics
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from course.checks import ExerciseFailure
from course.workloads import count_primes

UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


def make_app(delay: float = 0.05, cpu_workers: int = 2) -> Any:
    """Приложение FastAPI с вариантами одного и того же «медленного» эндпоинта.

    delay — сколько ждёт каждый ожидающий эндпоинт (секунды, можно переопределить `?delay=`).
    cpu_workers — процессов в пуле для `/primes_pool`; пул создаётся при старте приложения и
    закрывается при остановке (lifespan), а не при импорте модуля.
    """
    from fastapi import FastAPI

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202 — так FastAPI ждёт lifespan
        # spawn, а не fork: форк процесса с потоками (ядро Jupyter, uvicorn) ненадёжен, а 3.12+
        # прямо предупреждает об этом (DeprecationWarning)
        context = multiprocessing.get_context("spawn")
        app.state.pool = ProcessPoolExecutor(max_workers=cpu_workers, mp_context=context)
        try:
            yield
        finally:
            app.state.pool.shutdown(wait=True, cancel_futures=True)

    app = FastAPI(lifespan=lifespan)

    @app.get("/ping")
    async def ping() -> dict:
        return {"pong": time.time()}

    @app.get("/sync")
    def sync_wait(wait: float = delay) -> dict:
        time.sleep(wait)  # блокирует только свой поток из пула
        return {"variant": "def", "thread": threading.current_thread().name}

    @app.get("/async")
    async def async_wait(wait: float = delay) -> dict:
        await asyncio.sleep(wait)  # отдаёт управление циклу
        return {"variant": "async def"}

    @app.get("/async_blocking")
    async def async_blocking(wait: float = delay) -> dict:
        time.sleep(wait)  # нарочно плохо: цикл стоит, все остальные запросы ждут
        return {"variant": "async def + time.sleep"}

    @app.get("/primes_inline")
    async def primes_inline(n: int = 60_000) -> dict:
        return {"primes": count_primes(n)}  # счёт прямо на цикле: все ждут

    @app.get("/primes_pool")
    async def primes_pool(n: int = 60_000) -> dict:
        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(app.state.pool, count_primes, n)
        return {"primes": found}

    return app


class _ListHandler(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f" — {type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        self.sink.append(text)


class Server:
    """uvicorn с приложением `app` в фоновом потоке на 127.0.0.1 (порт выбирает система).

        with Server(app) as server:
            fetch_json(server.url("/ping"))

    Журнал uvicorn (включая трассировки упавших эндпоинтов) собирается в `server.log`.
    """

    def __init__(self, app: Any, start_timeout: float = 10.0) -> None:
        import uvicorn

        self.log: list[str] = []
        self._handler = _ListHandler(self.log)
        for name in UVICORN_LOGGERS:
            logger = logging.getLogger(name)
            logger.addHandler(self._handler)
            logger.propagate = False  # иначе ошибки ушли бы в корневой журнал — в stderr
            logger.setLevel(logging.INFO)
        # proto=IPPROTO_TCP явно: иначе asyncio не включит TCP_NODELAY на принятых соединениях,
        # и каждый ответ ждёт ~40 мс (алгоритм Нейгла + отложенное подтверждение)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=2,
            backlog=2048,
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name="uvicorn", daemon=True
        )
        self._thread.start()
        deadline = time.perf_counter() + start_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.perf_counter() > deadline:
                self.stop()
                raise ExerciseFailure("Сервер uvicorn не запустился. Журнал:\n" + "\n".join(self.log[-20:]))
            time.sleep(0.01)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self, timeout: float = 10.0) -> None:
        """Остановить сервер (и пул процессов приложения) и дождаться его потока."""
        self._server.should_exit = True
        self._thread.join(timeout)
        self._sock.close()
        for name in UVICORN_LOGGERS:
            logging.getLogger(name).removeHandler(self._handler)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class LoadResult:
    """Итог нагрузки: сколько запросов, сколько в полёте, за сколько, задержки каждого."""

    label: str
    n: int
    concurrency: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def rps(self) -> float:
        """Пропускная способность: ответов в секунду."""
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """Задержка p-го перцентиля (секунды): p % запросов ответили не дольше этого."""
        if not self.latencies:
            return float("nan")
        if len(self.latencies) == 1:
            return self.latencies[0]
        cuts = statistics.quantiles(self.latencies, n=100, method="inclusive")
        return self.latencies[0] if p <= 0 else cuts[min(int(p), 99) - 1]

    def summary(self) -> str:
        return (
            f"{self.label:<24} {self.n:>4} запросов, в полёте ≤ {self.concurrency:>3}: "
            f"{self.seconds:6.2f} с, {self.rps:7.1f} отв/с, p50 {self.percentile(50) * 1000:6.0f} мс, "
            f"p99 {self.percentile(99) * 1000:6.0f} мс" + (f", ошибок {self.errors}" if self.errors else "")
        )


def describe_wait_runs(runs: Sequence[LoadResult], wait: float) -> str:
    """Вывод о трёх вариантах ожидания — по измеренным числам, а не по обещанным.

    Потолок для `concurrency` запросов в полёте и ожидания `wait` — `concurrency / wait`
    ответов в секунду. Клиент и сервер делят одни ядра с остальными программами, поэтому
    доля потолка честнее абсолютных чисел: на занятой машине она падает, и текст так и говорит.
    """
    lines = []
    for run in runs:
        ceiling = run.concurrency / wait
        lines.append(
            f"{run.label:<24} {run.rps:6.1f} отв/с из потолка {ceiling:.0f} ({run.rps / ceiling:.0%}), "
            f"p50 {run.percentile(50) * 1000:.0f} мс"
        )
    blocking = [run for run in runs if run.label.startswith("async def + time.sleep")]
    good = [run for run in runs if run not in blocking]
    if good and min(run.rps / (run.concurrency / wait) for run in good) < 0.6:
        lines.append("Машина занята: даже неблокирующие варианты далеко от потолка — клиенту и серверу "
                     "не хватает процессора. Сравнивайте варианты между собой, а не с потолком.")
    if blocking:
        run = blocking[0]
        lines.append(f"async def + time.sleep: {run.rps:.1f} отв/с — не больше 1 / {wait:g} = "
                     f"{1 / wait:.0f}: цикл спит, запросы идут строго по одному, при любом числе в полёте.")
    return "\n".join(lines)


def describe_ping_runs(runs: Sequence[LoadResult]) -> str:
    """Сравнить задержку /ping рядом со счётом на цикле и в пуле процессов (по измеренному)."""
    pings = {run.label: run for run in runs if run.label.startswith("/ping")}
    inline = next((run for label, run in pings.items() if "inline" in label), None)
    pooled = next((run for label, run in pings.items() if "pool" in label), None)
    if inline is None or pooled is None:
        return ""
    p99_inline, p99_pool = inline.percentile(99) * 1000, pooled.percentile(99) * 1000
    verdict = (f"в пуле процессов /ping отвечал в {p99_inline / p99_pool:.0f} раз быстрее (по p99)"
               if p99_pool > 0 and p99_inline > 1.5 * p99_pool else
               "разницы почти нет — машина занята настолько, что и свободному циклу ядро достаётся урывками")
    return f"/ping, p99: счёт на цикле {p99_inline:.0f} мс, счёт в пуле {p99_pool:.0f} мс — {verdict}."


async def _load(url: str, n: int, concurrency: int, label: str, timeout: float) -> LoadResult:
    import httpx

    latencies: list[float] = []
    errors = 0
    todo = iter(range(n))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(limits=limits, timeout=timeout, trust_env=False) as client:

        async def user() -> None:  # один «пользователь»: запрос за запросом, пока есть работа
            nonlocal errors
            for _ in todo:
                t0 = time.perf_counter()
                try:
                    response = await client.get(url)
                    response.raise_for_status()
                    latencies.append(time.perf_counter() - t0)
                except httpx.HTTPError:
                    errors += 1

        start = time.perf_counter()
        await asyncio.gather(*(user() for _ in range(concurrency)))
        seconds = time.perf_counter() - start
    return LoadResult(label or url, n, concurrency, seconds, latencies, errors)


def load(url: str, n: int = 100, concurrency: int = 10, label: str = "", timeout: float = 30.0) -> LoadResult:
    """Как `ab -n n -c concurrency url`: n GET-запросов, не больше concurrency одновременно.

    Запускается на собственном цикле событий в отдельном потоке — из ячейки Jupyter (где свой
    цикл уже идёт) вызывается как обычная функция.
    """
    result: dict[str, Any] = {}

    def body() -> None:
        try:
            result["value"] = asyncio.run(_load(url, n, concurrency, label, timeout))
        except BaseException as exc:  # noqa: BLE001 — передаём в вызывающий поток
            result["error"] = exc

    thread = threading.Thread(target=body, name="load-generator", daemon=True)
    thread.start()
    thread.join(timeout + 30)
    if "error" in result:
        raise result["error"]
    if "value" not in result:
        raise ExerciseFailure(f"Нагрузка на {url} не закончилась за {timeout + 30:g} с.")
    return result["value"]


def plot_load(results: Sequence[LoadResult], title: str = "") -> Any:
    """Два графика рядом: пропускная способность (отв/с) и задержки p50/p99 (мс) по вариантам."""
    import matplotlib.pyplot as plt

    labels = [r.label for r in results]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6))
    ys = range(len(results))
    left.barh(ys, [r.rps for r in results], color="tab:blue")
    left.set_yticks(list(ys), labels)
    left.invert_yaxis()
    left.set_xlabel("ответов в секунду (больше — лучше)")
    for y, r in zip(ys, results, strict=True):
        left.text(r.rps, y, f" {r.rps:.0f}", va="center")
    left.set_xlim(0, max([r.rps for r in results] + [1.0]) * 1.15)  # место для подписей
    p50 = [r.percentile(50) * 1000 for r in results]
    p99 = [r.percentile(99) * 1000 for r in results]
    right.barh([y - 0.2 for y in ys], p50, height=0.4, label="p50", color="tab:green")
    right.barh([y + 0.2 for y in ys], p99, height=0.4, label="p99", color="tab:red")
    right.set_yticks(list(ys), [""] * len(results))
    right.invert_yaxis()
    right.set_xscale("log")
    right.set_xlabel("задержка, мс (логарифмическая шкала; меньше — лучше)")
    right.legend(ncol=2, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


@dataclass
class Probe:
    """Итог `probe_blocking`: порядок событий на сервере и ответы медленного запроса и пингов."""

    events: list[str]
    slow_status: int
    slow_json: Any
    ping_statuses: list[int]
    log: list[str]

    def pings_before_slow(self) -> bool:
        """Все пинги закончились раньше медленного запроса (цикл не стоял)?"""
        end_slow = self.events.index("конец slow") if "конец slow" in self.events else len(self.events)
        ends = [i for i, e in enumerate(self.events) if e == "конец ping"]
        return bool(ends) and len(ends) == len(self.ping_statuses) and max(ends) < end_slow


def probe_blocking(
    endpoint: Any, params: dict[str, Any] | None = None, pings: int = 1, timeout: float = 10.0
) -> Probe:
    """Проверить, не останавливает ли эндпоинт `endpoint` (функцию для FastAPI) цикл сервера.

    Эндпоинт монтируется на `/slow` рядом с мгновенным `/ping`, сервер запускается в фоне.
    Сначала уходит медленный запрос; как только сервер *начал* его обрабатывать, уходят
    `pings` пингов, по одному. Сервер записывает начало и конец каждого запроса. Если
    эндпоинт блокирует цикл, пинг не может даже начаться, пока медленный запрос не кончится:
    в `events` «конец ping» окажется после «конец slow» — без всякого секундомера.
    """
    import httpx
    from fastapi import FastAPI

    events: list[str] = []
    started = threading.Event()
    app = FastAPI()

    @app.middleware("http")
    async def record(request: Any, call_next: Any) -> Any:
        name = request.url.path.strip("/")
        events.append(f"начало {name}")
        if name == "slow":
            started.set()
        try:
            return await call_next(request)
        finally:
            events.append(f"конец {name}")

    @app.get("/ping")
    async def ping() -> dict:
        return {"pong": True}

    app.add_api_route("/slow", endpoint, methods=["GET"])
    slow: dict[str, Any] = {}
    # Без keep-alive: каждый запрос — своё соединение. Иначе пинг может взять соединение, которое
    # сервер как раз закрывает после ответа 500 медленному запросу, и получить «connection reset».
    no_reuse = httpx.Limits(max_keepalive_connections=0)
    with Server(app) as server, httpx.Client(timeout=timeout, trust_env=False, limits=no_reuse) as client:

        def send_slow() -> None:
            try:
                slow["response"] = client.get(server.url("/slow"), params=params or {})
            except httpx.HTTPError as exc:
                slow["error"] = exc

        sender = threading.Thread(target=send_slow, name="slow-request", daemon=True)
        sender.start()
        if not started.wait(timeout):
            raise ExerciseFailure("Медленный запрос так и не дошёл до сервера.")
        statuses = [client.get(server.url("/ping")).status_code for _ in range(pings)]
        sender.join(timeout)
        if "response" not in slow:
            raise ExerciseFailure(f"Медленный запрос не завершился за {timeout:g} с: {slow.get('error')!r}")
        response = slow["response"]
        try:
            body = response.json()
        except ValueError:
            body = response.text
        return Probe(list(events), response.status_code, body, statuses, list(server.log))
