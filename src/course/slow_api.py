"""Локальный медленный веб-сервис: сеть для демонстраций без интернета.

Зачем: примеры про ввод-вывод (скачать страницы, спросить погоду) должны работать офлайн,
за секунды и одинаково у всех. Сервис слушает только 127.0.0.1, отвечает с заданной
задержкой, по желанию — с ошибками (воспроизводимо, по seed), и считает, сколько запросов
обрабатывалось *одновременно*: пик одновременных запросов доказывает конкурентность клиента
надёжнее секундомера.

    with SlowAPI(delay=0.2) as api:
        fetch_text(api.url("/page/1"))       # 'page 1', примерно через 0.2 с
        fetch_json(api.url("/weather/Kazan"))
        api.stats.peak_in_flight             # сколько запросов было в обработке сразу

Маршруты: `/page/N`, `/weather/CITY`, `/echo/ЛЮБОЙ_ТЕКСТ`, `/stats`. Параметры запроса:
`delay=0.5` — своя задержка, `fail=1` — ответить ошибкой 500.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
import urllib.parse
import urllib.request
import zlib
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from course.failure_pictures import FailurePicture, requests_picture

CONDITIONS = ["ясно", "облачно", "дождь", "снег", "туман", "гроза"]


@dataclass
class Stats:
    """Счётчики сервиса. `peak_in_flight` — максимум одновременно обрабатываемых запросов."""

    requests: int = 0
    connections: int = 0  # принятые TCP-соединения: клиент с keep-alive шлёт много запросов в одном
    errors: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    paths: list[str] = field(default_factory=list)
    events: list[tuple[str, str]] = field(default_factory=list)  # ("начат" | "закончен", путь) по порядку
    times: list[list[float]] = field(default_factory=list)  # [начало, конец] запросов, perf_counter, с

    def started_during(self, path: str) -> int:
        """Сколько других запросов сервис *начал*, пока запрос `path` был в работе.

        Зачем: отличить ограничение «не больше N сразу» (семафор: освободилось место — сразу
        следующий запрос) от пачек по N с ожиданием всей пачки. Пик одновременных запросов у
        них одинаков, а пока идёт один медленный запрос, пачки не начинают ничего нового.
        """
        inside, count = False, 0
        for kind, where in self.events:
            if where == path:
                inside = kind == "начат"
            elif inside and kind == "начат":
                count += 1
        return count


def weather_for(city: str) -> dict[str, Any]:
    """Детерминированная «погода»: один и тот же город — один и тот же ответ."""
    seed = zlib.crc32(city.lower().encode("utf-8"))
    rng = random.Random(seed)
    return {
        "city": city,
        "temp_c": round(rng.uniform(-25, 35), 1),
        "humidity": rng.randint(20, 100),
        "conditions": rng.choice(CONDITIONS),
    }


class SlowAPI:
    """Медленный HTTP-сервис в фоновом потоке этого процесса.

    delay — задержка ответа в секундах; error_rate — доля ответов 503 (0…1), воспроизводимая
    по seed; port=0 — любой свободный порт. Останавливается `stop()` или выходом из `with`.
    """

    def __init__(
        self, delay: float = 0.1, error_rate: float = 0.0, seed: int = 0, port: int = 0
    ) -> None:
        if delay < 0:
            raise ValueError(f"delay должна быть ≥ 0, получено {delay!r}")
        if not 0.0 <= error_rate <= 1.0:
            raise ValueError(f"error_rate — доля от 0 до 1, получено {error_rate!r}")
        self.delay = delay
        self.error_rate = error_rate
        self.stats = Stats()
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._server = _Server(("127.0.0.1", port), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(  # частый опрос: stop() не ждёт полсекунды
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="slow-api", daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str = "/") -> str:
        """Полный адрес на этом сервисе: `api.url('/page/3')`."""
        return f"http://127.0.0.1:{self.port}{urllib.parse.quote(path, safe='/?=&')}"

    def picture(self, at_once: int) -> FailurePicture | None:
        """Рисунок к провалу проверки одновременности: запросы этого сервиса на оси времени.

        at_once — сколько запросов должно было идти сразу (предел пула или семафора). Пик выше —
        рисунок «предел превышен», ниже — «шли по очереди»; рядом — та же работа, разложенная
        по `at_once` местам. Строится дёшево; рисуется, только если проверка провалилась.
        """
        with self._lock:
            times = [(start, end) for start, end in self.stats.times]
        return requests_picture(times, at_once)

    def reset_stats(self) -> None:
        with self._lock:
            self.stats = Stats()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SlowAPI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Вызывается из потоков-обработчиков сервера.
    def _begin(self, path: str) -> tuple[bool, list[float]]:
        with self._lock:
            self.stats.requests += 1
            self.stats.in_flight += 1
            self.stats.peak_in_flight = max(self.stats.peak_in_flight, self.stats.in_flight)
            self.stats.paths.append(path)
            self.stats.events.append(("начат", path))
            when = [time.perf_counter(), float("nan")]
            self.stats.times.append(when)
            return self._rng.random() < self.error_rate, when

    def _end(self, failed: bool, path: str = "", when: list[float] | None = None) -> None:
        with self._lock:
            if when is not None:
                when[1] = time.perf_counter()
            self.stats.events.append(("закончен", path))
            self.stats.in_flight -= 1
            self.stats.errors += int(failed)


class _Server(ThreadingHTTPServer):
    # Очередь ещё не принятых соединений. По умолчанию в socketserver она 5: при 20–100
    # одновременных клиентах (тема 09) лишние SYN теряются, и клиент повторяет через 1 с.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Клиент ушёл, не дождавшись ответа (тайм-аут, отмена задачи): для сервиса это не
        # ошибка. Трассировку в stderr печатать нельзя — nbgrader обнуляет ячейку со stderr.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def _make_handler(api: SlowAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            with api._lock:
                api.stats.connections += 1

        def do_GET(self) -> None:  # noqa: N802 — имя задаёт http.server
            parsed = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(parsed.query)
            path = urllib.parse.unquote(parsed.path)
            if path == "/stats":
                with api._lock:
                    self._reply(200, {k: v for k, v in asdict(api.stats).items() if k != "times"})
                return
            unlucky, when = api._begin(path)
            status, body = 500, {"error": "внутренняя ошибка сервиса"}
            try:
                time.sleep(float(query.get("delay", [api.delay])[0]))
                if unlucky:
                    status, body = 503, {"error": "сервис перегружен, повторите позже"}
                elif query.get("fail", ["0"])[0] == "1":
                    status, body = 500, {"error": "запрошенная ошибка (fail=1)"}
                else:
                    status, body = route(path)
            finally:
                # Запрос перестаёт считаться «в работе» до отправки ответа: иначе клиент,
                # получив ответ, успевает прислать следующий, пока этот ещё числится, и пик
                # выходит на 1 больше настоящего.
                api._end(status >= 400, path, when)
            self._reply(status, body)

        def _reply(self, status: int, body: object) -> None:
            if isinstance(body, str):
                data, kind = body.encode("utf-8"), "text/plain; charset=utf-8"
            else:
                data = json.dumps(body, ensure_ascii=False).encode("utf-8")
                kind = "application/json; charset=utf-8"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            # Молчим: http.server пишет журнал в stderr, а nbgrader обнуляет ячейку со stderr.
            pass

    return Handler


def route(path: str) -> tuple[int, object]:
    """Ответ сервиса на путь: (код, тело)."""
    parts = [p for p in path.split("/") if p]
    if len(parts) == 2 and parts[0] == "page":
        return 200, f"page {parts[1]}"
    if len(parts) == 2 and parts[0] == "weather":
        return 200, weather_for(parts[1])
    if parts and parts[0] == "echo":
        return 200, "/".join(parts[1:])
    return 404, {"error": f"нет такого пути: {path}"}


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fetch_text(url: str, timeout: float = 10.0) -> str:
    """Скачать текст по адресу (без прокси: курс ходит только на 127.0.0.1)."""
    with _NO_PROXY.open(url, timeout=timeout) as response:
        return response.read().decode("utf-8")


def fetch_json(url: str, timeout: float = 10.0) -> Any:
    """Скачать и разобрать JSON по адресу."""
    return json.loads(fetch_text(url, timeout=timeout))
