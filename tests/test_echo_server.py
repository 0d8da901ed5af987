"""Эхо-сервер «в ногу»: отвечает построчно, ждёт отстающих, сдаётся по таймауту."""

from __future__ import annotations

import socket
import threading
import time

from course.echo_server import EchoServer


def talk(address: tuple[str, int], lines: list[bytes]) -> list[bytes]:
    """Блокирующий клиент: строка — ответ — следующая строка."""
    replies = []
    with socket.create_connection(address, timeout=5) as sock, sock.makefile("rb") as stream:
        for line in lines:
            sock.sendall(line)
            replies.append(stream.readline())
    return replies


def test_plain_echo_answers_line_by_line() -> None:
    with EchoServer() as server:
        assert server.address[0] == "127.0.0.1"
        assert talk(server.address, [b"one\n", b"two\n"]) == [b"one\n", b"two\n"]
        assert server.log == [(0, b"one\n"), (0, b"two\n")]
        assert not server.stalled and server.peak_connections == 1
        deadline = time.monotonic() + 5
        while server.open_connections and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.open_connections == 0


def test_three_threads_in_lockstep() -> None:
    results: dict[int, list[bytes]] = {}
    scripts = {i: [f"{i}-{k}\n".encode() for k in range(3 - i % 2)] for i in range(3)}
    with EchoServer(lockstep=3, patience=5) as server:
        threads = [
            threading.Thread(target=lambda i=i: results.__setitem__(i, talk(server.address, scripts[i])))
            for i in range(3)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert results == scripts
        assert not server.stalled and server.peak_connections == 3
        rounds = [line.split(b"-")[1][:1] for _, line in server.log]
        assert sorted(rounds[:3]) == [b"0"] * 3 and sorted(rounds[3:6]) == [b"1"] * 3


def test_lone_client_stalls_then_gets_answers() -> None:
    with EchoServer(lockstep=2, patience=0.1) as server:
        assert talk(server.address, [b"a\n", b"b\n"]) == [b"a\n", b"b\n"]
        assert server.stalled
