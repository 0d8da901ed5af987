"""Самодельный цикл событий (тема 06): колбэки, таймеры, задачи, сокеты."""

from __future__ import annotations

import socket

import pytest

from course.echo_server import EchoServer
from course.miniloop import Future, InvalidStateError, Loop, get_running_loop, run, sleep


class VirtualClock:
    """Часы, которые идут только тогда, когда цикл «спит»."""

    def __init__(self) -> None:
        self.now = 0.0
        self.naps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, delay: float) -> None:
        assert delay >= 0
        self.naps.append(delay)
        self.now += delay


def virtual_loop() -> tuple[Loop, VirtualClock]:
    clock = VirtualClock()
    return Loop(clock=clock.time, sleep=clock.sleep), clock


def test_call_soon_runs_in_order_and_later_ones_wait_a_turn() -> None:
    loop = Loop()
    seen: list[str] = []

    def first() -> None:
        seen.append("first")
        loop.call_soon(seen.append, "scheduled by first")

    loop.call_soon(first)
    loop.call_soon(seen.append, "second")
    loop.run_once()
    assert seen == ["first", "second"]
    loop.run_once()
    assert seen == ["first", "second", "scheduled by first"]
    loop.close()


def test_timers_fire_in_time_order_on_virtual_clock() -> None:
    loop, clock = virtual_loop()
    fired: list[tuple[str, float]] = []
    for name, delay in [("c", 3), ("a", 1), ("b", 2), ("a2", 1)]:
        loop.call_later(delay, lambda n=name: fired.append((n, clock.now)))
    done = loop.create_future()
    loop.call_later(5, done.set_result, "end")
    assert loop.run_until_complete(done) == "end"
    assert fired == [("a", 1), ("a2", 1), ("b", 2), ("c", 3)]
    assert clock.now == 5 and clock.naps == [1, 1, 1, 2]


def test_future_callbacks_go_through_the_loop() -> None:
    loop = Loop()
    fut = loop.create_future()
    seen: list[object] = []
    fut.add_done_callback(lambda f: seen.append(("one", f.result())))
    fut.add_done_callback(lambda f: seen.append(("two", f.result())))
    with pytest.raises(InvalidStateError):
        fut.result()
    fut.set_result(42)
    assert seen == []  # ещё не выполнены: только запланированы
    loop.run_once()
    assert seen == [("one", 42), ("two", 42)]
    with pytest.raises(InvalidStateError):
        fut.set_result(1)
    fut.add_done_callback(lambda f: seen.append("late"))
    loop.run_once()
    assert seen[-1] == "late"
    bad = Future(loop)
    bad.set_exception(KeyError("x"))
    assert isinstance(bad.exception(), KeyError)
    with pytest.raises(KeyError):
        bad.result()


def test_sleeping_tasks_overlap_on_virtual_clock() -> None:
    loop, clock = virtual_loop()
    record: list[tuple[str, float]] = []

    async def nap(name: str, delay: float) -> str:
        await sleep(delay)
        record.append((name, clock.now))
        return name

    async def main() -> list[str]:
        tasks = [loop.create_task(nap(n, d), n) for n, d in [("a", 3), ("b", 1), ("c", 2)]]
        return [await t for t in tasks]

    assert loop.run_until_complete(main()) == ["a", "b", "c"]
    assert record == [("b", 1), ("c", 2), ("a", 3)]
    assert clock.now == 3  # не 6: сон одновременный
    assert {name for name, _, _ in loop.trace} >= {"main", "a", "b", "c"}


def test_generator_tasks_round_robin_with_bare_yield() -> None:
    loop = Loop()
    order: list[str] = []

    def worker(name: str, steps: int):
        for i in range(steps):
            order.append(f"{name}{i}")
            yield

    loop.create_task(worker("A", 2))
    last = loop.create_task(worker("B", 3))
    loop.run_until_complete(last)
    assert order == ["A0", "B0", "A1", "B1", "B2"]


def test_sleep_zero_passes_the_turn() -> None:
    order: list[str] = []

    async def chatter(name: str) -> None:
        for i in range(2):
            order.append(f"{name}{i}")
            await sleep(0)

    async def main() -> None:
        loop = get_running_loop()
        first, second = loop.create_task(chatter("x")), loop.create_task(chatter("y"))
        await first
        await second

    run(main())
    assert order == ["x0", "y0", "x1", "y1"]


def test_exceptions_reach_the_awaiting_task() -> None:
    async def boom() -> None:
        await sleep(0)
        raise ValueError("плохо")

    async def main() -> str:
        task = get_running_loop().create_task(boom())
        try:
            await task
        except ValueError as error:
            return f"поймали {error}"
        return "не поймали"

    assert run(main()) == "поймали плохо"


def test_yielding_garbage_is_a_type_error_inside_the_task() -> None:
    def weird():
        yield 42

    with pytest.raises(TypeError, match="отдала циклу 42"):
        run(weird())


def test_waiting_for_nothing_is_reported_not_hung() -> None:
    async def main() -> None:
        await get_running_loop().create_future()

    with pytest.raises(RuntimeError, match="Цикл встал"):
        run(main())


def test_get_running_loop_outside_and_no_nesting() -> None:
    with pytest.raises(RuntimeError, match="Нет работающего цикла"):
        get_running_loop()

    async def nested() -> None:
        inner = sleep(0)
        try:
            Loop().run_until_complete(inner)
        finally:
            inner.close()

    with pytest.raises(RuntimeError, match="не вкладываются"):
        run(nested())


async def echo_client(address: tuple[str, int], messages: list[bytes]) -> list[bytes]:
    loop = get_running_loop()
    sock = socket.socket()
    sock.setblocking(False)
    try:
        await loop.sock_connect(sock, address)
        replies = []
        for message in messages:
            await loop.sock_sendall(sock, message)
            reply = b""
            while not reply.endswith(b"\n"):
                chunk = await loop.sock_recv(sock, 1024)
                if not chunk:
                    break
                reply += chunk
            replies.append(reply)
        return replies
    finally:
        sock.close()


def test_two_clients_keep_lockstep_on_the_loop() -> None:
    conversations = [[b"a1\n", b"a2\n"], [b"b1\n", b"b2\n", b"b3\n"]]
    with EchoServer(lockstep=2, patience=5) as server:
        loop = Loop()

        async def main() -> list[list[bytes]]:
            tasks = [loop.create_task(echo_client(server.address, c)) for c in conversations]
            return [await t for t in tasks]

        assert loop.run_until_complete(main()) == conversations
        loop.close()
        assert not server.stalled and server.peak_connections == 2
        rounds = [line[1:2] for _, line in server.log]
        assert sorted(rounds[:2]) == [b"1", b"1"] and sorted(rounds[2:4]) == [b"2", b"2"]


def test_clients_one_after_another_stall_the_lockstep_server() -> None:
    with EchoServer(lockstep=2, patience=0.2) as server:
        for messages in ([b"a\n"], [b"b\n"]):
            assert run(echo_client(server.address, messages)) == messages
        assert server.stalled  # пик соединений тут не показателен: закрытие сервер замечает с опозданием


def test_large_payload_goes_through_sendall() -> None:
    payload = b"x" * 3_000_000 + b"\n"
    with EchoServer() as server:
        loop = Loop()
        got = loop.run_until_complete(echo_client(server.address, [payload]))
        loop.close()
    assert got == [payload]


def test_connect_error_reaches_the_task() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    address = probe.getsockname()
    probe.close()  # порт свободен, никто не слушает
    loop = Loop()
    with pytest.raises(OSError):
        loop.run_until_complete(echo_client(address, [b"x\n"]))
    loop.close()


def test_blocking_socket_is_refused_with_a_hint() -> None:
    """Блокирующий сокет — ValueError с подсказкой setblocking(False), как asyncio в отладочном режиме."""

    async def careless() -> None:
        with socket.socket() as sock:
            await get_running_loop().sock_connect(sock, ("127.0.0.1", 9))

    with pytest.raises(ValueError, match=r"setblocking\(False\)"):
        run(careless())
