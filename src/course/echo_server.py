"""Локальный эхо-сервер «в ногу»: доказывает, что клиенты работали одновременно, без секундомера.

Зачем: упражнение темы 06 просит запустить несколько эхо-клиентов на самодельном цикле
*конкурентно*. Секундомер на нагруженной машине врёт, поэтому сервер сам следит за порядком.
С `lockstep=N` он отвечает на k-ю строку клиента только тогда, когда каждый из N клиентов
прислал свою k-ю строку (или уже отключился) — как учитель, который не начинает следующий
вопрос, пока не ответили все. Клиенты, работающие по очереди, так не могут: первый ждёт
ответа, а второй ещё и не подключился. Сервер ждёт `patience` секунд, потом сдаётся,
ставит `stalled = True` и дальше отвечает сразу — тест получает понятный признак, а не
зависание.

    with EchoServer(lockstep=2) as server:
        ...  # два клиента подключаются к server.address и шлют строки b"...\\n"
        server.stalled          # False — клиенты шли в ногу
        server.peak_connections # 2
        server.log              # [(номер клиента, строка), ...] в порядке прихода

Слушает только 127.0.0.1, порт выбирает ОС (0). Протокол: строки, кончающиеся b"\\n";
каждая возвращается как есть. Сервер — обычные блокирующие потоки: он не зависит от цикла,
который проверяет.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

from course.failure_pictures import FailurePicture, requests_picture


class EchoServer:
    """Эхо-сервер в фоновых потоках; `lockstep` — сколько клиентов должны идти в ногу (1 — не ждать)."""

    def __init__(self, lockstep: int = 1, patience: float = 2.0) -> None:
        self.lockstep = lockstep
        self.patience = patience
        self.stalled = False
        self.log: list[tuple[int, bytes]] = []
        self.accepted = 0
        self.peak_connections = 0
        self.times: list[list[float]] = []  # [открыто, закрыто] каждого соединения, perf_counter
        self._active = 0
        self._lines: dict[int, int] = {}
        self._closed: set[int] = set()
        self._cond = threading.Condition()
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.address: tuple[str, int] = self._listener.getsockname()[:2]
        self._start(self._accept_loop, "echo-accept")

    def _start(self, target: Any, name: str, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            with self._cond:
                number = self.accepted
                self.accepted += 1
                self._active += 1
                self.peak_connections = max(self.peak_connections, self._active)
                self.times.append([time.perf_counter(), float("nan")])
                self._lines[number] = 0
                self._conns.append(conn)
                self._cond.notify_all()
            self._start(self._serve, f"echo-{number}", conn, number)

    def _serve(self, conn: socket.socket, number: int) -> None:
        buffer = b""
        try:
            with conn:
                while data := conn.recv(4096):
                    buffer += data
                    while b"\n" in buffer:
                        line, buffer = buffer.split(b"\n", 1)
                        self._wait_turn(number, line + b"\n")
                        conn.sendall(line + b"\n")
        except OSError:
            pass  # клиент оборвал соединение или сервер остановлен — тихо заканчиваем
        finally:
            with self._cond:
                self._closed.add(number)
                self.times[number][1] = time.perf_counter()
                self._active -= 1
                self._cond.notify_all()

    def picture(self, at_once: int) -> FailurePicture | None:
        """Рисунок к провалу: соединения клиентов на оси времени и как они шли бы `at_once` сразу."""
        with self._cond:
            times = [(start, end) for start, end in self.times]
        return requests_picture(times, at_once, ("соединение", "соединения", "соединений"))

    def _wait_turn(self, number: int, line: bytes) -> None:
        """Записать строку и, если нужно, подождать, пока остальные клиенты догонят."""
        with self._cond:
            index = self._lines[number]
            self._lines[number] += 1
            self.log.append((number, line))
            self._cond.notify_all()
            if self.lockstep <= 1:
                return

            def others_caught_up() -> bool:
                return self.stalled or (
                    self.accepted >= self.lockstep
                    and all(
                        count > index or other in self._closed
                        for other, count in self._lines.items()
                        if other != number
                    )
                )

            if not self._cond.wait_for(others_caught_up, timeout=self.patience):
                self.stalled = True
                self._cond.notify_all()

    @property
    def open_connections(self) -> int:
        """Сколько соединений сейчас открыто (сервер замечает закрытие чуть позже клиента)."""
        with self._cond:
            return self._active

    def stop(self) -> None:
        """Закрыть слушающий сокет и соединения, дождаться потоков."""
        self._stopping.set()
        self._listener.close()
        with self._cond:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self._threads:
            thread.join(timeout=2)

    def __enter__(self) -> EchoServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
