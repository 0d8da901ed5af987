"""Вспомогательный пакет: медленный сервис, проверки упражнений, замеры."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from course.checks import ExerciseFailure, call_with_deadline, expect, expect_equal
from course.measure import compare
from course.notebook import available_cores, is_graded_run, lecture_or_grading
from course.slow_api import SlowAPI, fetch_json, fetch_text, weather_for
from course.workloads import count_primes, wait_io, whoami


def test_slow_api_routes_and_stats() -> None:
    with SlowAPI(delay=0.01) as api:
        assert api.url("/").startswith("http://127.0.0.1:")
        assert fetch_text(api.url("/page/7")) == "page 7"
        assert fetch_text(api.url("/echo/привет")) == "привет"
        assert fetch_json(api.url("/weather/Kazan")) == weather_for("Kazan")
        assert weather_for("Kazan") == weather_for("kazan") | {"city": "Kazan"}
        assert fetch_json(api.url("/stats"))["requests"] == 3
        with pytest.raises(Exception, match="404"):
            fetch_text(api.url("/nope"))
        with pytest.raises(Exception, match="500"):
            fetch_text(api.url("/page/1?fail=1"))


def test_slow_api_counts_concurrent_requests() -> None:
    with SlowAPI(delay=1.0) as api:  # секунда на запрос: все четыре заведомо застанут друг друга
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(fetch_text, [api.url(f"/page/{i}") for i in range(4)]))
        assert api.stats.peak_in_flight == 4
        api.reset_stats()
        for i in range(2):
            fetch_text(api.url(f"/page/{i}?delay=0"))
        assert api.stats.peak_in_flight == 1 and api.stats.requests == 2



def test_slow_api_counts_connections_and_ignores_clients_that_left(capfd) -> None:
    """keep-alive: запросы одного клиента идут по одному соединению; ушедший клиент — не ошибка в stderr."""
    import http.client
    import socket

    with SlowAPI(delay=0.01) as api:
        conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=5)
        for i in range(3):
            conn.request("GET", f"/page/{i}")
            assert conn.getresponse().read() == f"page {i}".encode()
        conn.close()
        assert api.stats.requests == 3 and api.stats.connections == 1
        quitter = socket.create_connection(("127.0.0.1", api.port))
        quitter.sendall(b"GET /page/1?delay=0.3 HTTP/1.1\r\nHost: x\r\n\r\n")
        quitter.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        quitter.close()  # RST: сервис ответит в пустоту
        time.sleep(0.6)
    assert "Traceback" not in capfd.readouterr().err

def test_slow_api_errors_are_seeded() -> None:
    def outcomes(seed: int) -> list[bool]:
        with SlowAPI(delay=0, error_rate=0.5, seed=seed) as api:
            result = []
            for i in range(20):
                try:
                    fetch_text(api.url(f"/page/{i}"))
                    result.append(True)
                except Exception:
                    result.append(False)
            assert api.stats.errors == result.count(False)
            return result

    first = outcomes(1)
    assert first == outcomes(1) and 0 < first.count(False) < 20


def test_slow_api_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="error_rate"):
        SlowAPI(error_rate=2)
    with pytest.raises(ValueError, match="delay"):
        SlowAPI(delay=-1)


def test_call_with_deadline_reports_hang_in_russian() -> None:
    never = threading.Event()
    start = time.monotonic()
    with pytest.raises(ExerciseFailure, match="не завершилась за 0.3 с"):
        call_with_deadline(never.wait, timeout=0.3, what="stuck()")
    assert time.monotonic() - start < 2


def test_call_with_deadline_passes_values_and_errors() -> None:
    assert call_with_deadline(sum, [1, 2, 3]) == 6
    with pytest.raises(ZeroDivisionError):
        call_with_deadline(lambda: 1 / 0)

    def stub():
        raise NotImplementedError()

    with pytest.raises(ExerciseFailure, match="ещё не решено"):
        call_with_deadline(stub)


def test_expectations_explain() -> None:
    expect_equal(1, 1, "x")
    with pytest.raises(ExerciseFailure, match="ожидалось 2, получено 1. подсказка"):
        expect_equal(1, 2, "x", "подсказка")
    with pytest.raises(ExerciseFailure, match="плохо"):
        expect(False, "плохо")


def test_grading_mode(monkeypatch) -> None:
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert not is_graded_run() and lecture_or_grading(1, 2) == 1
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert is_graded_run() and lecture_or_grading(1, 2) == 2


def test_compare_strategies_agree_and_processes_use_other_pids() -> None:
    timings = compare(wait_io, [0.01] * 4, workers=4)
    assert [t.label for t in timings] == ["последовательно", "потоки", "процессы"]
    assert all(t.wall > 0 for t in timings)
    assert count_primes(100) == 25
    assert whoami("x")[0] == "x"
    assert available_cores() >= 1


def test_process_meeting_needs_that_many_processes() -> None:
    """Встреча состоится в пуле из двух процессов и не состоится в пуле из одного — за общий срок."""
    from concurrent.futures import ProcessPoolExecutor
    from pathlib import Path

    from course.checks import meet, process_meeting

    with process_meeting(2, range(4), timeout=3) as tickets, ProcessPoolExecutor(2) as pool:
        got = list(pool.map(meet, tickets))
    assert [value for value, _, _ in got] == [0, 1, 2, 3]
    assert all(met for _, _, met in got) and len({pid for _, pid, _ in got}) == 2
    assert not Path(tickets[0][0]).exists()  # папка встречи убрана
    started = time.monotonic()
    with process_meeting(2, range(4), timeout=0.5) as tickets, ProcessPoolExecutor(1) as pool:
        got = list(pool.map(meet, tickets))
    assert not any(met for _, _, met in got)
    assert time.monotonic() - started < 5  # один срок на все задачи, а не по сроку на задачу


def test_call_with_pid_reports_where_it_ran() -> None:
    import os
    from concurrent.futures import ProcessPoolExecutor

    from course.workloads import call_with_pid

    assert call_with_pid(count_primes, 10) == (os.getpid(), 4)
    with ProcessPoolExecutor(1) as pool:
        pid, result = pool.submit(call_with_pid, count_primes, 100).result()
    assert result == 25 and pid != os.getpid()

def test_call_explained_names_the_student_error_in_russian() -> None:
    from course.checks import call_explained, explain_error

    def forgot_return():
        pass

    def solution():
        return forgot_return()[0]

    with pytest.raises(ExerciseFailure) as failure:
        call_explained(solution, timeout=5, what="solution()")
    text = str(failure.value)
    assert "ваш код поднял TypeError" in text and "ничего не вернула" in text, text
    assert isinstance(failure.value.__cause__, TypeError)  # трассировка до строки студента сохранена

    # ожидаемые тестом исключения и сообщения проверок проходят как есть
    with pytest.raises(ValueError):
        call_explained(lambda: int("x"), timeout=5, expected=(ValueError,))
    with pytest.raises(ExerciseFailure, match="^своё$"):
        call_explained(lambda: expect(False, "своё"), timeout=5)
    assert call_explained(lambda: 7, timeout=5) == 7

    unknown = explain_error(KeyError("k"), "f()")
    assert unknown.startswith("f(): ваш код поднял KeyError") and "из решения, а не из теста" in unknown


def test_slow_api_logs_starts_and_ends_for_overlap() -> None:
    with SlowAPI(delay=0.05) as api:
        slow = threading.Thread(target=fetch_text, args=(api.url("/echo/медленный?delay=0.6"),))
        slow.start()
        time.sleep(0.1)
        for i in range(3):
            fetch_text(api.url(f"/echo/{i}"))
        slow.join()
        assert api.stats.started_during("/echo/медленный") == 3
        assert api.stats.events[0] == ("начат", "/echo/медленный") and api.stats.events[-1][0] == "закончен"


def test_start_in_thread_keeps_result_or_error() -> None:
    from course.checks import start_in_thread

    worker, box = start_in_thread(lambda x: x * 2, 21)
    worker.join(5)
    assert box == {"value": 42}
    worker, box = start_in_thread(lambda: 1 / 0)
    worker.join(5)
    assert isinstance(box["error"], ZeroDivisionError)


def test_thread_errors_are_collected_and_explained(capfd) -> None:
    from course.checks import expect_no_thread_errors, thread_errors

    with thread_errors() as caught:
        worker = threading.Thread(target=lambda: [][1])
        worker.start()
        worker.join()
    assert capfd.readouterr().err == ""
    with pytest.raises(ExerciseFailure, match="исключение в потоке.*IndexError"):
        expect_no_thread_errors(caught, "fetch_limited")
    expect_no_thread_errors([], "ничего")
