"""Выводы лекций строятся из измеренных чисел: на занятой машине они говорят «машина занята».

Числа здесь заданы руками — те, что мы видели на свободной машине и под двумя циклами
`while :; do :; done` на двух ядрах, — поэтому тесты не зависят от нагрузки.
"""

from __future__ import annotations

from course.comparison import describe_comparison
from course.gil import copies_label
from course.measure import Timing, busy_note, describe_cpu_comparison
from course.webapp import LoadResult, describe_ping_runs, describe_wait_runs


def trio(seq: tuple[float, float], thr: tuple[float, float], proc: tuple[float, float]) -> list[Timing]:
    return [Timing("последовательно", *seq), Timing("потоки", *thr), Timing("процессы", *proc)]


def test_free_machine_threads_are_not_faster_processes_use_both_cores() -> None:
    text = describe_cpu_comparison(trio((1.0, 0.98), (1.02, 0.99), (0.52, 1.0)), cores=2)
    assert "Машина занята" not in text
    assert "примерно столько же" in text and "1.92 ядра" in text


def test_busy_machine_says_so_and_explains_threads_winning_by_the_clock() -> None:
    # под двумя циклами-нагрузками: последовательно 0.05 ядра, потоки по часам в 1.5 раза быстрее
    text = describe_cpu_comparison(trio((25.6, 1.34), (17.0, 1.34), (11.5, 1.30)), cores=2)
    assert text.startswith("Машина занята")
    assert "не параллельность" in text and "Больше одного ядра процессам не досталось" in text
    assert busy_note(Timing("последовательно", 1.0, 0.95)) == ""


def test_speedup_above_core_count_is_named_a_busy_machine_trace() -> None:
    text = describe_cpu_comparison(trio((3.92, 1.81), (2.98, 1.68), (1.54, 2.16)), cores=2)
    assert "больше числа ядер" in text


def row(strategy: str, wall: float, io: float, cpu: float) -> dict:
    return {"strategy": strategy, "wall": wall, "io_wall": io, "cpu": cpu}


def test_grand_comparison_verdict_uses_cores_used_not_the_clock() -> None:
    busy = [row("последовательно", 16.8, 6.3, 1.05), row("потоки", 4.0, 0.5, 1.0),
            row("процессы", 4.4, 0.9, 1.3), row("asyncio", 17.5, 1.3, 0.98), row("gevent", 15.9, 0.8, 0.98)]
    text = describe_comparison(busy, cores=2)
    assert text.startswith("Машина занята") and "отвоёван у чужой нагрузки" in text
    free = [row("последовательно", 6.5, 5.2, 1.3), row("потоки", 1.6, 0.3, 1.3),
            row("процессы", 1.2, 0.5, 1.5), row("asyncio", 1.5, 0.25, 1.25), row("gevent", 1.55, 0.3, 1.3)]
    text = describe_comparison(free, cores=2)
    assert "Машина занята" not in text and "на нескольких ядрах сразу" in text


def test_load_verdicts_compare_with_the_ceiling_and_between_variants() -> None:
    def run(label: str, n: int, conc: int, seconds: float, latency: float) -> LoadResult:
        return LoadResult(label, n, conc, seconds, [latency] * n)

    runs = [run("def + time.sleep", 200, 20, 1.1, 0.1), run("async def + await sleep", 200, 20, 1.05, 0.1),
            run("async def + time.sleep", 20, 10, 2.1, 1.0)]
    text = describe_wait_runs(runs, wait=0.1)
    assert "Машина занята" not in text and "не больше 1 / 0.1 = 10" in text
    slow = [run("def + time.sleep", 200, 20, 11.0, 0.7)] + runs[1:]
    assert "Машина занята" in describe_wait_runs(slow, wait=0.1)
    pings = [run("/ping рядом с /primes_inline", 20, 1, 5.0, 0.3),
             run("/ping рядом с /primes_pool", 20, 1, 0.2, 0.003)]
    assert "в 100 раз быстрее" in describe_ping_runs(pings)


def test_copies_label_agrees_with_the_number() -> None:
    assert [copies_label(k) for k in (1, 2, 4, 5, 11, 21, 22)] == [
        "1 копия", "2 копии", "4 копии", "5 копий", "11 копий", "21 копия", "22 копии"]
