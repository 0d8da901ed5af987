"""course.timeline и course.timeline_plot: записанные отрезки верны, рисунок читается.

Порядок и наложение доказываем устройством нагрузки (барьер, кооперативные шаги), а не
секундомером: на нагруженной машине длительности врут, порядок — нет.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import pickle
import threading
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import greenlet
import matplotlib
import pytest

from course.timeline import (
    RUNNING,
    WAITING,
    Recording,
    Span,
    TimelineError,
    record,
    span,
    traced,
    wait_then_count,
)
from course.timeline_plot import plot_timeline
from course.workloads import count_primes, spin, whoami

matplotlib.use("Agg")


def overlapping(spans: list[Span]) -> list[tuple[Span, Span]]:
    """Пары отрезков, которые идут одновременно (касание не в счёт)."""
    ordered = sorted(spans, key=lambda s: s.start)
    return [(a, b) for i, a in enumerate(ordered) for b in ordered[i + 1 :] if b.start < a.end]


def test_sequential_spans_never_overlap() -> None:
    with record("последовательно") as rec:
        for i in range(4):
            with span(f"шаг {i}"):
                spin(0.005)
    assert [s.label for s in rec.spans] == ["шаг 0", "шаг 1", "шаг 2", "шаг 3"]
    assert rec.workers == [threading.current_thread().name]
    assert not overlapping(rec.spans)
    assert rec.peak(kind=None) == 1
    assert rec.closed and rec.wall > 0 and rec.cpu >= 0
    assert all(0 <= s.start <= s.end <= rec.wall for s in rec.spans)


def test_threads_doing_io_overlap() -> None:
    barrier = threading.Barrier(4)

    def download(_: int) -> None:
        with span("скачать"):
            barrier.wait(timeout=10)  # все четыре отрезка заведомо открыты одновременно
            time.sleep(0.01)

    with record("потоки") as rec, ThreadPoolExecutor(4) as pool:
        list(pool.map(download, range(4)))
    assert len(rec.workers) == 4
    assert rec.peak(kind=None) == 4
    assert {s.kind for s in rec.spans} == {WAITING}, "сон и барьер — ожидание, не счёт"


def test_span_kind_from_cpu_share_and_decorator() -> None:
    @span("считаем", kind=RUNNING)
    def work() -> int:
        return count_primes(2000)

    with record() as rec:
        assert work() == 303
        with span("спим"):
            time.sleep(0.02)
    by_label = {s.label: s for s in rec.spans}
    assert by_label["считаем"].kind == RUNNING
    assert by_label["спим"].kind == WAITING and by_label["спим"].cpu < 0.01
    assert work.__name__ == "work"


def test_span_outside_recording_is_noop_and_bad_kind_is_explained() -> None:
    with span("никуда"):
        pass
    with pytest.raises(ValueError, match="kind"):
        span("x", kind="busy")
    with pytest.raises(TypeError, match="asyncio"):

        @span("корутина")
        async def coro() -> None:
            pass


async def _two_tasks(log: list[str]) -> None:
    async def worker(name: str) -> None:
        for i in range(3):
            log.append(f"{name}{i}")
            spin(0.002)
            await asyncio.sleep(0)

    await asyncio.gather(worker("a"), worker("b"))


def test_asyncio_tasks_interleave_but_never_run_at_once() -> None:
    async def main() -> Recording:
        async with record("asyncio") as rec:
            await _two_tasks([])
        return rec

    rec = asyncio.run(main())
    running = rec.by_worker(RUNNING)
    assert len(running) == 2 and all(len(steps) >= 3 for steps in running.values())
    assert rec.peak(RUNNING) == 1, "два шага задач одного цикла не могут идти одновременно"
    order = [s.worker for s in sorted(rec.spans, key=lambda s: s.start) if s.kind == RUNNING]
    switches = sum(a != b for a, b in zip(order, order[1:], strict=False))
    assert switches >= 4, f"задачи должны чередоваться, а порядок шагов {order}"
    waiting = rec.by_worker(WAITING)
    assert all(waiting[w] for w in running), "между шагами каждая задача ждёт"


def test_sync_with_inside_running_loop_records_only_own_tasks() -> None:
    started = asyncio.Event()

    async def service() -> None:  # как служебная задача ядра Jupyter: живёт до записи
        await started.wait()
        await asyncio.create_task(asyncio.sleep(0), name="служебная")

    async def main() -> Recording:
        before = asyncio.create_task(service(), name="чужая")
        with record() as rec:
            started.set()
            await _two_tasks([])
            await before
        return rec

    rec = asyncio.run(main())
    assert len(rec.workers) == 2, rec.workers
    assert not {"чужая", "служебная"} & set(rec.workers)


def test_blocking_call_in_coroutine_blocks_every_other_task() -> None:
    async def ticker() -> None:
        for _ in range(5):
            await asyncio.sleep(0.005)

    async def blocker() -> None:
        await asyncio.sleep(0.01)
        time.sleep(0.15)  # ошибка на показ: блокирующий вызов в корутине

    async def main() -> Recording:
        async with record("блокировка") as rec:
            await asyncio.gather(ticker(), ticker(), blocker(), return_exceptions=False)
        return rec

    rec = asyncio.run(main())
    steps = rec.by_worker(RUNNING)
    name = next(w for w, items in steps.items() if items[0].label.endswith("blocker"))
    long = max(steps[name], key=lambda s: s.duration)
    assert long.duration >= 0.15
    for worker, items in steps.items():
        if worker == name:
            continue
        assert not overlapping([long, *items]), f"{worker} работала, пока цикл был заблокирован"
        waits = rec.by_worker(WAITING)[worker]
        assert any(w.start <= long.start and w.end >= long.end for w in waits), (
            f"{worker} должна ждать весь блокирующий вызов"
        )


def test_task_factory_is_restored_and_late_tasks_are_not_recorded() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        async with record() as rec:
            assert loop.get_task_factory() is not None
            await asyncio.gather(asyncio.sleep(0))
        assert loop.get_task_factory() is None
        await asyncio.gather(asyncio.sleep(0))
        assert len(rec.workers) == 1

    asyncio.run(main())


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_spans_from_process_pool_arrive(method: str) -> None:
    context = multiprocessing.get_context(method)
    with record(method) as rec, ProcessPoolExecutor(2, mp_context=context) as pool:
        results = list(pool.map(traced(whoami), range(6)))
    child_pids = {pid for _, pid, _ in results}
    assert os.getpid() not in child_pids
    assert len(rec.spans) == 6 and {s.label for s in rec.spans} == {"whoami"}
    assert set(rec.workers) == {f"процесс {pid}" for pid in child_pids}


def test_inner_spans_of_a_module_function_arrive_under_spawn() -> None:
    context = multiprocessing.get_context("spawn")
    job = traced(wait_then_count, own_span=False)
    with record() as rec, ProcessPoolExecutor(1, mp_context=context) as pool:
        assert list(pool.map(job, [(0.01, 100), (0.0, 10)])) == [25, 4]
    assert [s.label for s in rec.spans] == ["ждёт", "считает", "ждёт", "считает"]


def test_traced_pickles_and_works_in_threads() -> None:
    with record() as rec:
        job = pickle.loads(pickle.dumps(traced(count_primes, "простые")))
        with ThreadPoolExecutor(2) as pool:
            assert list(pool.map(job, [10, 100])) == [4, 25]
    assert [s.label for s in rec.spans] == ["простые", "простые"]
    assert traced(count_primes)(10) == 4  # вне записи — просто вызов


def test_greenlet_switches_are_recorded() -> None:
    def ping() -> None:
        for _ in range(3):
            b.switch()

    def pong() -> None:
        for _ in range(3):
            a.switch()

    with record("гринлеты", greenlets=True) as rec:
        a, b = greenlet.greenlet(ping), greenlet.greenlet(pong)
        a.switch()
    assert rec.workers == ["main greenlet", "greenlet-1", "greenlet-2"]
    assert rec.peak(RUNNING) == 1
    assert len(rec.by_worker(RUNNING)["greenlet-1"]) == 4
    assert greenlet.settrace(None) is None, "трассировка снята после записи"


def test_plot_has_one_lane_per_worker_and_saves(tmp_path) -> None:
    barrier = threading.Barrier(3)

    def nap(_: int) -> None:
        with span("sleep"):
            barrier.wait(timeout=10)  # три потока пула заведомо живы: на занятой машине первый
            time.sleep(0.01)  # успевал доспать и взять третью задачу — дорожек было две

    with record("потоки") as threads, ThreadPoolExecutor(3) as pool:
        list(pool.map(nap, range(3)))
    with record("последовательно") as seq:
        for _ in range(2):
            with span("sleep"):
                time.sleep(0.01)
    fig = plot_timeline(seq, threads, title="тест")
    lanes = [len(ax.get_yticklabels()) for ax in fig.axes]
    assert lanes == [1, 3]
    assert fig.axes[0].get_shared_x_axes().joined(fig.axes[0], fig.axes[1])
    assert "по часам" in fig.axes[0].get_title(loc="left")
    for suffix in ("png", "svg"):
        fig.savefig(tmp_path / f"t.{suffix}")
        assert (tmp_path / f"t.{suffix}").stat().st_size > 1000


def test_plot_colours_by_state_and_draws_cpu_share_as_a_strip() -> None:
    """Счёт, которому досталась четверть ядра, остаётся тёмным; долю показывает полоска в 1/4."""
    from matplotlib.colors import to_hex

    from course.timeline_plot import CPU_COLOR, RUN_COLOR

    rec = Recording.from_spans([Span("поток", "считает", 0.0, 0.4, RUNNING, cpu=0.1)], "занятая машина")
    ax = plot_timeline(rec).axes[0]
    by_colour = {to_hex(c.get_facecolor()[0]): c for c in ax.collections}
    assert RUN_COLOR in by_colour and CPU_COLOR in by_colour
    strip = by_colour[CPU_COLOR].get_paths()[0].get_extents()
    assert abs(strip.width - 0.25 * 400) < 1, strip  # мс: четверть отрезка в 400 мс


def test_plot_caps_lanes() -> None:
    spans = [Span(f"задача {i}", "шаг", i * 0.001, i * 0.001 + 0.002, RUNNING) for i in range(50)]
    fig = plot_timeline(Recording.from_spans(spans, "много"), max_lanes=10)
    assert len(fig.axes[0].get_yticklabels()) == 10
    assert "из 50" in fig.axes[0].get_title(loc="left")


def test_plot_survives_zero_length_and_negative_spans() -> None:
    rec = Recording.from_spans([Span("a", "x", 0.0, 0.0, RUNNING), Span("b", "y", -0.5, 0.0, WAITING)])
    fig = plot_timeline(rec)
    assert len(fig.axes[0].get_yticklabels()) == 2


def test_bad_input_gives_russian_message() -> None:
    with record("пусто") as empty:
        pass
    with pytest.raises(TimelineError, match="нет ни одного отрезка"):
        plot_timeline(empty)
    with record("открыта") as still_open:
        with pytest.raises(TimelineError, match="ещё не закрыта"):
            plot_timeline(still_open)
    backwards = Recording.from_spans([Span("MainThread", "x", 0.5, 0.2, RUNNING)])
    with pytest.raises(TimelineError, match="часы пошли назад"):
        plot_timeline(backwards)
    with pytest.raises(TimelineError, match="записи"):
        plot_timeline([backwards])  # type: ignore[arg-type]
    with pytest.raises(TimelineError):
        plot_timeline()
    assert issubclass(TimelineError, ValueError)
    with pytest.raises(TimelineError, match="уже использована"):
        with empty:
            pass


def test_closed_recording_pickles() -> None:
    with record("в другой процесс") as rec:
        with span("x"):
            pass
    copy = pickle.loads(pickle.dumps(rec))
    assert copy.spans == rec.spans and copy.closed and copy.title == rec.title


def test_nothing_leaks_to_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")

        async def main() -> None:
            async with record():
                async with asyncio.TaskGroup() as group:
                    for i in range(5):
                        group.create_task(asyncio.sleep(0.001 * i), name=f"t{i}")
                task = asyncio.create_task(asyncio.sleep(10))
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                assert "sleep" in repr(task)

        asyncio.run(main())


def test_private_loop_in_thread_and_span_inside_task() -> None:
    loop = asyncio.new_event_loop()

    async def job() -> None:
        with span("внутри задачи"):
            spin(0.001)
        await asyncio.sleep(0)

    async def both() -> None:
        await asyncio.gather(asyncio.create_task(job(), name="a"), asyncio.create_task(job(), name="b"))

    try:
        with record("свой цикл") as rec:
            rec.watch(loop)  # личный цикл в другом потоке: записываются все его задачи
            runner = threading.Thread(target=loop.run_until_complete, args=(both(),))
            runner.start()
            runner.join(timeout=10)
    finally:
        loop.close()
    assert {"a", "b"} <= set(rec.workers), rec.workers
    inner = sorted(s.worker for s in rec.spans if s.label == "внутри задачи")
    assert inner == ["a", "b"], "явный отрезок внутри задачи — на дорожке этой задачи"


def test_handle_run_is_restored_after_nested_recordings() -> None:
    plain = asyncio.events.Handle._run

    async def main() -> None:
        async with record("внешняя") as outer:
            async with record("внутренняя") as inner:
                await asyncio.create_task(asyncio.sleep(0), name="внутри")
            assert asyncio.events.Handle._run is not plain, "внешняя запись ещё пишет шаги"
            await asyncio.create_task(asyncio.sleep(0), name="снаружи")
        assert asyncio.events.Handle._run is plain
        assert inner.workers == ["внутри"]
        assert set(outer.workers) == {"внутри", "снаружи"}

    asyncio.run(main())
    assert asyncio.events.Handle._run is plain


def test_callback_errors_still_reach_the_loop_handler() -> None:
    seen: list[dict] = []

    def broken() -> None:
        raise RuntimeError("сломано")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, context: seen.append(context))
        async with record():
            loop.call_soon(broken)
            await asyncio.sleep(0.01)

    asyncio.run(main())
    assert len(seen) == 1
    assert isinstance(seen[0]["exception"], RuntimeError)
    assert seen[0]["message"].startswith("Exception in callback")


def test_name_given_after_the_factory_is_the_lane() -> None:
    async def main() -> Recording:
        async with record() as rec:
            task = asyncio.create_task(asyncio.sleep(0), name="скачать")  # 3.11: имя после фабрики
            await task
            late = asyncio.create_task(asyncio.sleep(0))
            late.set_name("переименована")
            await late
        return rec

    rec = asyncio.run(main())
    assert set(rec.workers) == {"скачать", "переименована"}
    assert all(len([s for s in rec.spans if s.worker == w and s.kind == RUNNING]) == 2 for w in rec.workers)


def test_forked_child_does_not_time_asyncio_steps() -> None:
    async def main() -> str:
        async with record():
            assert asyncio.events.Handle._run.__module__ == "course.timeline"
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
                return pool.submit(_handle_run_module).result(timeout=30)

    assert asyncio.run(main()) == "asyncio.events"


def _handle_run_module() -> str:
    return asyncio.events.Handle._run.__module__
