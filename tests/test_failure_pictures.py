"""Рисунки к проваленным проверкам конкурентности (#20): данные рисунка, PNG, границы, честность.

Здесь — сами построители и крючки в проверках, на коротких прогонах без ноутбуков. Что
рисунок появляется под тестом упражнения у неверного ответа из корпуса и не появляется у
верного, проверяет корпус (`Variant(picture=...)`, tests/corpus/runner.py).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from course.async_checks import expect_not_blocked, run_async
from course.checks import ExerciseFailure, expect, expect_equal
from course.failure_pictures import (
    MAX_PNG_BYTES,
    FailurePicture,
    blocked_picture,
    fail,
    items_picture,
    requests_picture,
)
from course.race_checks import LockMonitor, provoke_race, run_watched
from course.slow_api import SlowAPI

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def failure_of(check) -> ExerciseFailure:
    with pytest.raises(ExerciseFailure) as caught:
        check()
    return caught.value


def png_of(picture: FailurePicture) -> bytes:
    png = picture.png()
    assert png is not None and png.startswith(PNG_MAGIC)
    assert len(png) <= MAX_PNG_BYTES
    return png


# ---------------------------------------------------------------- запросы: по очереди и сверх предела


def test_sequential_requests_are_drawn_with_the_first_queued_request_marked() -> None:
    with SlowAPI(delay=0.05) as api:
        for i in range(4):
            urllib.request.urlopen(api.url(f"/page/{i}")).read()
        picture = api.picture(at_once=4)
        error = failure_of(lambda: expect(api.stats.peak_in_flight >= 3, "по очереди", picture))
    assert str(error) == "по очереди"
    picture = error.picture
    assert picture.kind == "sequential" and "по очереди" in picture.caption
    assert picture.data["lanes"] == [f"запрос {i}" for i in range(1, 5)]
    assert picture.data["mark"][0] == "запрос 2" and picture.data["peak"] == 1
    assert picture.data["expected_peak"] == 4
    png_of(picture)


def test_requests_over_the_limit_mark_the_one_that_broke_it() -> None:
    times = [(0.0, 1.0), (0.1, 1.1), (0.2, 1.2), (1.3, 2.0)]
    picture = requests_picture(times, at_once=2)
    assert picture.kind == "limit" and "превышен" in picture.caption
    assert picture.data["mark"][0] == "запрос 3" and picture.data["peak"] == 3
    assert picture.data["expected_peak"] == 2


def test_thousands_of_requests_get_capped_lanes_and_a_note() -> None:
    times = [(i * 0.001, i * 0.001 + 0.0005) for i in range(3000)]
    picture = requests_picture(times, at_once=8)
    assert len(picture.data["lanes"]) == 12
    assert "ещё 2988 запросов" in picture.caption
    png_of(picture)


def test_passing_check_draws_nothing() -> None:
    drawn = []
    picture = FailurePicture("sequential", "подпись", lambda: drawn.append(1))
    expect(True, "не должно упасть", picture)
    expect_equal(1, 1, "одно и то же", picture=picture)
    assert drawn == []


# ---------------------------------------------------------------- гонка, взаимоблокировка


class Account:
    def __init__(self) -> None:
        self.balance = 0
        self.lock = threading.Lock()

    def deposit_naive(self, amount: int) -> None:
        self.balance = self.balance + amount

    def deposit_locked(self, amount: int) -> None:
        with self.lock:
            self.balance = self.balance + amount


def intact(acc: Account, _) -> str | None:
    return None if acc.balance == 200 else f"ожидалось 200, получено {acc.balance}"


def test_lost_update_is_drawn_with_both_threads_and_the_counts() -> None:
    report = provoke_race(Account, lambda a, _: a.deposit_naive(1), intact, threads=2, calls=100, runs=3,
                          yield_attrs=["balance"])
    error = failure_of(report.expect_safe)
    picture = error.picture
    assert picture.kind == "race" and picture.data["kind"] == "lost"
    thread, start, end, note = picture.data["mark"]
    other = picture.data["other"][0]
    assert {thread, other} <= set(picture.data["lanes"]) and thread != other
    assert start < picture.data["other"][1] <= end and "поверх" in note
    assert set(picture.data["writes_by_thread"]) == {"гонщик-0", "гонщик-1"}
    assert "ожидалось 200" in picture.data["outcome"]
    png_of(picture)


def test_locked_account_is_not_caught_and_has_no_picture() -> None:
    report = provoke_race(Account, lambda a, _: a.deposit_locked(1), intact, threads=2, calls=100, runs=2,
                          yield_attrs=["balance"])
    assert not report.caught
    report.expect_safe()


def test_deadlock_draws_the_wait_for_cycle() -> None:
    monitor = LockMonitor(hold_pause=0.01)
    a, b = monitor.lock("счёт A"), monitor.lock("счёт B")

    def take(first, second):
        def body() -> None:
            with first:
                time.sleep(0.02)
                with second:
                    pass
        return body

    result = run_watched({"A→B": take(a, b), "B→A": take(b, a)}, monitor, timeout=5)
    picture = failure_of(result.expect_ok).picture
    assert picture.kind == "deadlock"
    assert set(picture.data["threads"]) == {"A→B", "B→A"}
    assert set(picture.data["locks"]) == {"счёт A", "счёт B"}
    png_of(picture)


# ---------------------------------------------------------------- цикл событий


async def _blocking(n: int) -> list[int]:
    async def one(i: int) -> int:
        time.sleep(0.12)  # синхронный сон в корутине: шаг цикла стоит
        await asyncio.sleep(0)
        return i

    return list(await asyncio.gather(*(one(i) for i in range(n))))


def test_blocked_loop_marks_the_long_step() -> None:
    run = run_async(_blocking, 2)
    picture = failure_of(lambda: expect_not_blocked(run, "_blocking")).picture
    assert picture.kind == "blocked" and "Цикл событий стоял" in picture.caption
    assert picture.data["lanes"] == ["цикл событий"]
    start, seconds, _ = picture.data["worst"]
    assert seconds >= 0.2 and any(m[1] == start for m in picture.data["marks"])
    png_of(picture)


def test_a_thousand_blocked_steps_stay_readable() -> None:
    from course.async_checks import Block

    blocks = [Block(0.06, "step", 3, "time.sleep(0.06)", i * 0.07) for i in range(1000)]
    picture = blocked_picture(blocks, [(b.start, b.start + b.seconds) for b in blocks])
    assert "ещё 989 долгих шагов" in picture.caption
    png_of(picture)


# ---------------------------------------------------------------- элементы


def test_items_picture_names_lost_and_duplicated() -> None:
    picture = items_picture(range(10), [0, 1, 2, 2, 4, 5, 6, 7, 8])
    assert picture.kind == "items"
    assert picture.data["lost"] == [3, 9] and picture.data["extra"] == [2]
    assert "потеряно 2" in picture.caption and "лишних 1" in picture.caption
    png_of(picture)


def test_same_items_in_another_order_is_a_plain_wrong_value_without_picture() -> None:
    assert items_picture([1, 2, 3], [3, 2, 1]) is None


# ---------------------------------------------------------------- рисунок не меняет вердикт


def test_failure_inside_drawing_keeps_the_message() -> None:
    def broken():
        raise RuntimeError("сломался рисунок")

    error = failure_of(lambda: fail("настоящая причина", FailurePicture("race", "подпись", broken)))
    assert str(error) == "настоящая причина"


def test_builder_errors_become_no_picture() -> None:
    assert requests_picture([], at_once=2) is None
    assert requests_picture("не список", at_once=2) is None  # type: ignore[arg-type]
    assert items_picture(None, None) is None  # type: ignore[arg-type]


def test_picture_shown_in_a_kernel_is_marked_for_course_check(monkeypatch) -> None:
    import IPython
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(IPython.display, "display", lambda data, **kw: shown.append((data, kw)))
    picture = items_picture([1, 2], [1])
    failure_of(lambda: fail("потерялся", picture))
    (data, options), = shown
    meta = options["metadata"]["course_picture"]
    assert meta["kind"] == "items" and meta["data"]["lost"] == [2]
    assert data["text/plain"] == picture.caption and data["image/png"]


def test_drawing_never_touches_pyplot_or_the_kernel_hooks() -> None:
    """pyplot в ядре вешает обработчики IPython (post_execute) — проверка целостности при оценке
    сочла бы это подменой. Все рисунки к провалу рисуются без pyplot (свежий интерпретатор)."""
    code = """
import sys
from course.async_checks import Block
from course.failure_pictures import (blocked_picture, deadlock_picture, hosts_picture, items_picture,
                                     level_picture, race_picture, requests_picture)
log = [(0.0, "a", "read", "x", 0), (0.1, "b", "read", "x", 0), (0.2, "a", "write", "x", 1),
       (0.3, "b", "write", "x", 1)]
pictures = [requests_picture([(0, 1), (1, 2)], 2), items_picture([1, 2], [1]), level_picture([1, 2], 1),
            hosts_picture({"h": [(0, 1), (1, 2)]}, 2), deadlock_picture([("A", "x", "B"), ("B", "y", "A")]),
            blocked_picture([Block(0.1, "c", 1, "s", 0.0)], [(0.0, 0.1)]), race_picture(log, "итог")]
assert all(p is not None and p.png() for p in pictures), [p and p.kind for p in pictures]
assert "matplotlib.pyplot" not in sys.modules
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
