"""course.race_checks: гонки ловятся всегда, верный код не обвиняется, взаимоблокировки объяснены."""

from __future__ import annotations

import _thread
import subprocess
import sys
import threading
import time
from functools import partial

import pytest

from course.checks import ExerciseFailure, start_in_thread, wait_until_waiting
from course.race_checks import (
    RAISED,
    STUCK,
    DeadlockError,
    Hammered,
    LockMonitor,
    RaceReport,
    _problem_of,
    add_yield_points,
    hammer,
    provoke_race,
    run_watched,
    switch_interval,
    traced_threading,
)

THREADS, CALLS = 4, 100


class Counter:
    """Счётчик без блокировки: чтение — изменение — запись."""

    def __init__(self) -> None:
        self.value = 0

    def increment(self) -> None:
        self.value += 1


class LockedCounter(Counter):
    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()

    def increment(self) -> None:
        with self.lock:
            self.value += 1


def counter_intact(counter: Counter, _: Hammered) -> str | None:
    expected = THREADS * CALLS
    if counter.value == expected:
        return None
    return f"ожидалось {expected}, получено {counter.value} (потеряно {expected - counter.value})"


def race(cls: type[Counter], runs: int = 1) -> object:
    return provoke_race(
        cls,
        lambda c, _: c.increment(),
        counter_intact,
        threads=THREADS,
        calls=CALLS,
        runs=runs,
        yield_attrs=["value"],
    )


class Account:
    def __init__(self, transfer_lock: object, name: str) -> None:
        self.name = name
        self.lock = transfer_lock
        self.balance = 100


def transfer_naive(src: Account, dst: Account) -> None:
    with src.lock, dst.lock:
        src.balance -= 1
        dst.balance += 1


def transfer_ordered(src: Account, dst: Account) -> None:
    first, second = sorted([src, dst], key=lambda a: a.name)
    with first.lock, second.lock:
        src.balance -= 1
        dst.balance += 1


def opposite_transfers(transfer, hold_pause: float = 0.001):
    monitor = LockMonitor(hold_pause=hold_pause)
    a, b = Account(monitor.lock("счёт A"), "A"), Account(monitor.lock("счёт B"), "B")
    result = run_watched(
        {
            "A→B": lambda: [transfer(a, b) for _ in range(20)],
            "B→A": lambda: [transfer(b, a) for _ in range(20)],
        },
        monitor,
        timeout=5,
    )
    return result, a, b


def test_yield_points_keep_behaviour_and_name() -> None:
    counter = add_yield_points(Counter(), "value")
    counter.increment()
    counter.value += 2
    assert counter.value == 3 and type(counter).__name__ == "Counter"
    assert isinstance(counter, Counter)


def test_yield_points_refuse_slots_and_properties() -> None:
    class Slotted:
        __slots__ = ("value",)

    class WithProperty:
        @property
        def value(self) -> int:
            return 0

    with pytest.raises(ExerciseFailure, match="__slots__"):
        add_yield_points(Slotted(), "value")
    with pytest.raises(ExerciseFailure, match="свойство"):
        add_yield_points(WithProperty(), "value")


def test_switch_interval_is_restored() -> None:
    before = sys.getswitchinterval()
    with switch_interval(1e-6):
        assert sys.getswitchinterval() == pytest.approx(1e-6)
    assert sys.getswitchinterval() == before


def test_race_report_explains_in_russian() -> None:
    report = race(Counter, runs=3)
    assert report.caught and "потеряно" in report.message()
    with pytest.raises(ExerciseFailure, match="без синхронизации"):
        report.expect_safe("Возьмите threading.Lock.")
    safe = race(LockedCounter, runs=3)
    assert not safe.caught and safe.runs == 3
    safe.expect_safe()


def test_a_hang_is_not_called_a_data_race() -> None:
    """Зависший поток — потерянное пробуждение или блокировка, а не «данные без синхронизации»."""
    kind, stuck = _problem_of(Hammered(stuck=["гонщик-1"]))
    assert kind == STUCK
    report = RaceReport(runs=2, broken=1, problems=[stuck], elapsed=5.0, kind=kind)
    with pytest.raises(ExerciseFailure) as failure:
        report.expect_safe("Общая подсказка.", hang_hint="Будите notify_all.")
    text = str(failure.value)
    assert "гонщик-1" in text and "ждёт сигнала" in text and "Будите notify_all." in text, text
    assert "без синхронизации" not in text and "Общая подсказка." not in text, text

    def bad(state: object, index: int) -> None:
        raise ValueError("плохо")

    report = provoke_race(object, bad, lambda state, hammered: None, threads=2, calls=1, runs=1)
    assert report.kind == RAISED
    with pytest.raises(ExerciseFailure, match="ValueError: плохо") as failure:
        report.expect_safe("Подсказка.")
    assert "без синхронизации" not in str(failure.value)


def test_wait_until_waiting_sees_condition_waiters_and_gives_up_on_running_threads() -> None:
    changed = threading.Condition()
    waiters = [start_in_thread(lambda: changed.acquire() and changed.wait(5) and changed.release())[0]
               for _ in range(3)]
    assert wait_until_waiting(waiters, timeout=10)
    with changed:
        changed.notify_all()
    stop: list[bool] = []

    def spin() -> None:  # крутится в своём кадре, ни разу не заходя в threading
        while not stop:
            pass

    busy, _ = start_in_thread(spin)
    try:
        began = time.monotonic()
        assert not wait_until_waiting([busy], timeout=0.2)
        assert time.monotonic() - began >= 0.2
    finally:
        stop.append(True)


def test_check_then_act_overdraft_is_caught() -> None:
    class Wallet:
        def __init__(self) -> None:
            self.balance = 10
            self.paid = 0

        def withdraw(self) -> None:
            if self.balance >= 1:
                self.balance -= 1
                self.paid += 1

    def intact(w: Wallet, _: Hammered) -> str | None:
        ok = w.balance >= 0 and w.paid + w.balance == 10
        return None if ok else f"баланс {w.balance}, выдано {w.paid}"

    report = provoke_race(Wallet, lambda w, _: w.withdraw(), intact, yield_attrs=["balance", "paid"], runs=50)
    assert report.caught, report.message()


def test_hammer_returns_thread_errors_without_stderr(capfd) -> None:
    def boom(index: int) -> None:
        raise ValueError(f"поток {index}")

    result = hammer(boom, threads=3, calls=5)
    assert len(result.errors) == 3 and not result.stuck
    assert capfd.readouterr().err == ""


def test_hammer_reports_stuck_threads() -> None:
    never = threading.Event()
    result = hammer(lambda _: never.wait(), threads=2, calls=1, timeout=0.2)
    assert sorted(result.stuck) == ["гонщик-0", "гонщик-1"]
    never.set()


def test_lock_ordering_deadlock_is_reported_and_released() -> None:
    before = set(threading.enumerate())
    result, _, _ = opposite_transfers(transfer_naive)
    assert result.deadlock and not result.finished
    for text in ("Взаимоблокировка", "«A→B»", "«B→A»", "«счёт A»", "«счёт B»", "Цикл ожидания"):
        assert text in result.deadlock
    with pytest.raises(ExerciseFailure, match="Взаимоблокировка"):
        result.expect_ok()
    # Only the threads this check started count: threads of earlier tests may end meanwhile.
    leftover = [t for t in threading.enumerate() if t not in before]
    assert not result.stuck and not leftover, leftover
    assert result.elapsed < 4  # цикл найден раньше срока в 5 с, а не дождались срока (с запасом)


def test_ordered_locks_finish_and_keep_money() -> None:
    result, a, b = opposite_transfers(transfer_ordered)
    result.expect_ok()
    assert a.balance == b.balance == 100


def test_self_deadlock_on_plain_lock_but_not_rlock() -> None:
    monitor = LockMonitor()
    plain, reentrant = monitor.lock("простая"), monitor.rlock("реентерабельная")

    def twice(lock) -> None:
        with lock, lock:
            pass

    result = run_watched({"дважды": lambda: twice(plain)}, monitor, timeout=3)
    assert result.deadlock and "держит он сам" in result.deadlock
    run_watched({"rlock": lambda: twice(reentrant)}, monitor, timeout=3).expect_ok()
    assert not plain.locked() and not reentrant.locked()
    with pytest.raises(RuntimeError):
        reentrant.release()


def test_timed_waits_are_not_a_deadlock() -> None:
    """Ожидание с таймаутом — лекарство (поток отступит сам), а не взаимоблокировка."""
    monitor = LockMonitor(hold_pause=0.002)
    a, b = monitor.lock("A"), monitor.lock("B")

    def polite(first, second) -> None:
        done = 0
        while done < 5:
            with first:
                if second.acquire(timeout=0.001):
                    second.release()
                    done += 1
            time.sleep(0.001)

    result = run_watched({"1": lambda: polite(a, b), "2": lambda: polite(b, a)}, monitor, timeout=10)
    result.expect_ok()


def test_hang_without_cycle_is_stuck_not_deadlock() -> None:
    monitor = LockMonitor()
    never = threading.Event()
    result = run_watched({"ждун": never.wait}, monitor, timeout=0.3)
    assert result.stuck == ["ждун"] and result.deadlock is None
    assert "не закончили" in result.message()
    assert "никто" in monitor.describe()
    never.set()


def test_describe_names_holders_and_waiters() -> None:
    monitor = LockMonitor()
    lock = monitor.lock("общая")
    lock.acquire()
    assert monitor.describe() == f"поток «{threading.current_thread().name}» держит «общая»"
    lock.release()
    assert monitor.find_cycle() is None


def test_deadlock_error_is_runtime_error() -> None:
    assert issubclass(DeadlockError, RuntimeError)


def test_zero_false_verdicts_with_busy_core() -> None:
    """50 повторов при занятом втором ядре: без синхронизации — пойман всегда, с ней — никогда."""
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        verdicts = {"гонка без блокировки": 0, "гонка с блокировкой": 0, "встречные": 0, "по порядку": 0}
        for _ in range(50):
            verdicts["гонка без блокировки"] += race(Counter).caught
            verdicts["гонка с блокировкой"] += race(LockedCounter).caught
            verdicts["встречные"] += opposite_transfers(transfer_naive)[0].deadlock is not None
            verdicts["по порядку"] += not opposite_transfers(transfer_ordered)[0].finished
    finally:
        busy.kill()
        busy.wait()
    assert verdicts == {
        "гонка без блокировки": 50,
        "гонка с блокировкой": 0,
        "встречные": 50,
        "по порядку": 0,
    }  # сколько это длится — замер benchmarks/race_checks.py, не тест


def test_traced_threading_catches_locks_the_code_makes_itself() -> None:
    import queue

    class OwnLockAccount:
        def __init__(self, name: str) -> None:
            self.name = name
            self.lock = threading.Lock()
            self.balance = 100

    monitor = LockMonitor(hold_pause=0.001)
    with traced_threading(monitor):
        a, b = OwnLockAccount("A"), OwnLockAccount("B")
        jobs: queue.Queue[int] = queue.Queue(maxsize=1)
        flag = threading.Event()
        cond = threading.Condition(threading.RLock())
    assert threading.Lock is _thread.allocate_lock and "Lock №" in repr(a.lock)
    result = run_watched(
        {
            "A→B": lambda: [transfer_naive(a, b) for _ in range(20)],
            "B→A": lambda: [transfer_naive(b, a) for _ in range(20)],
        },
        monitor,
        timeout=5,
    )
    assert result.deadlock and "из __init__" in result.deadlock

    got = []

    def consumer() -> None:
        got.append(jobs.get())
        with cond:
            cond.wait_for(flag.is_set, timeout=2)
            got.append("дождался")

    worker = threading.Thread(target=consumer)
    worker.start()
    jobs.put(7)
    with cond, cond:  # RLock-шпион берётся повторно
        flag.set()
        cond.notify_all()
    worker.join(3)
    assert got == [7, "дождался"]


# ---------------------------------------------------------------- VirtualThreads (livelock)


def _polite(first, second, sleep, pause) -> int:
    """Вежливый поток: не взял вторую блокировку за 0,05 с — отпустил первую и ждёт pause()."""
    for attempt in range(1, 21):
        with first:
            if second.acquire(timeout=0.05):
                second.release()
                return attempt
        sleep(pause())
    raise RuntimeError("20 попыток")


def _pair(pauses):
    from course.race_checks import VirtualThreads

    clock = VirtualThreads()
    a, b = clock.lock("A", think=0.01), clock.lock("B", think=0.01)
    left, right = pauses
    outcome = clock.run({"левый": lambda: _polite(a, b, clock.sleep, left),
                         "правый": lambda: _polite(b, a, clock.sleep, right)})
    return clock, outcome


def test_virtual_threads_show_livelock_with_equal_pauses_every_time() -> None:
    for _ in range(3):  # одинаково при каждом запуске: время виртуальное
        clock, outcome = _pair((lambda: 0.05, lambda: 0.05))
        assert all(isinstance(v, RuntimeError) for v in outcome.values()), outcome
        assert clock.sleeps["левый"] == [0.05] * 20 and round(clock.now, 6) == 2.2
        assert not clock.held_while_sleeping and not clock.stopped


def test_virtual_threads_random_backoff_is_deterministic() -> None:
    import random

    results = []
    for _ in range(2):
        left, right = random.Random(1), random.Random(2)
        clock, outcome = _pair((partial(left.uniform, 0, 0.1), partial(right.uniform, 0, 0.1)))
        assert all(isinstance(v, int) for v in outcome.values()), outcome
        results.append((outcome, clock.now, clock.sleeps))
    assert results[0] == results[1]


def test_virtual_threads_stop_on_deadlock_and_on_deadline() -> None:
    from course.race_checks import VirtualStop, VirtualThreads

    clock = VirtualThreads()
    a, b = clock.lock("A", think=0.01), clock.lock("B", think=0.01)

    def nested(x, y):
        with x, y:
            return "ok"

    started = time.monotonic()
    outcome = clock.run({"1": lambda: nested(a, b), "2": lambda: nested(b, a)}, timeout=5)
    assert clock.deadlock and all(isinstance(v, VirtualStop) for v in outcome.values())
    assert time.monotonic() - started < 4  # цикл найден раньше срока в 5 с (с запасом на занятую машину)

    clock = VirtualThreads(until=3)

    def forever():
        while True:
            clock.sleep(1)

    outcome = clock.run({"вечный": forever})
    assert isinstance(outcome["вечный"], VirtualStop) and clock.now == 3 and not clock.deadlock


def test_virtual_threads_record_locks_held_while_sleeping() -> None:
    from course.race_checks import VirtualThreads

    clock = VirtualThreads()
    a = clock.lock("A")

    def rude():
        with a:
            clock.sleep(0.1)

    clock.run({"грубый": rude})
    assert clock.held_while_sleeping == [("грубый", ["A"])] and not a.locked()


def test_polite_rivals_diagnose_livelock_and_rudeness() -> None:
    from course.race_checks import polite_rivals

    def backoff(first, second, work, rng, sleep, max_attempts=30):
        for attempt in range(1, max_attempts + 1):
            with first:
                if second.acquire(timeout=0.05):
                    work()
                    second.release()
                    return attempt
            sleep(rng.uniform(0, min(1.0, 0.01 * 2**attempt)))
        raise RuntimeError("попытки кончились")

    def fixed(first, second, work, rng, sleep, max_attempts=30):
        for _ in range(max_attempts):
            with first:
                if second.acquire(timeout=0.05):
                    work()
                    second.release()
                    return 1
            sleep(0.05)
        raise RuntimeError("попытки кончились")

    def rude(first, second, work, rng, sleep, max_attempts=30):
        for attempt in range(1, max_attempts + 1):
            with first:
                if second.acquire(timeout=0.05):
                    work()
                    second.release()
                    return attempt
                sleep(rng.uniform(0, 0.1))
        raise RuntimeError("попытки кончились")

    assert polite_rivals(backoff).message() == ""
    assert polite_rivals(backoff, (3, 4, 5, 6)).message() == ""
    assert "активная блокировка" in polite_rivals(fixed).message()
    assert "держа «блокировка" in polite_rivals(rude).message()
    hogged = polite_rivals(backoff, (7,), hog=5)
    assert isinstance(hogged.outcome["поток 0"], int) and hogged.outcome["поток 0"] > 1


def test_speed_benchmark_runs_and_gives_right_verdicts() -> None:
    """Замер скорости (benchmarks/race_checks.py) запускается как написано и не путает вердикты."""
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "race_checks.py"
    command = [sys.executable, str(script), "--runs", "2"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("неверных вердиктов 0 из 2") == 4 and "цель: медиана" in done.stdout
