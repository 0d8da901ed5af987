"""course.scripts: код в отдельном процессе-скрипте (gevent и всё, что нельзя делать в ядре)."""

from __future__ import annotations

import json
import time

import gevent
import pytest
from gevent.pool import Pool

from course.checks import ExerciseFailure
from course.scripts import (
    PATCH_ALL,
    ScriptFailed,
    ScriptTimeout,
    build_function_script,
    function_source,
    heartbeat_driver,
    run_function,
    run_script,
)
from course.slow_api import SlowAPI, fetch_text


def test_run_script_captures_output_args_and_exit_code() -> None:
    done = run_script(
        """
        import sys
        print("аргументы:", sys.argv[1:])
        print("в stderr", file=sys.stderr)
        sys.exit(3)
        """,
        timeout=20,
        args=["a", "б"],
    )
    assert done.returncode == 3 and not done.ok
    assert done.stdout == "аргументы: ['a', 'б']\n"
    assert done.stderr.strip() == "в stderr"
    assert done.error_summary() == "в stderr"


def test_run_script_kills_a_hung_script_with_russian_message() -> None:
    start = time.perf_counter()
    with pytest.raises(ScriptTimeout, match="не завершился за 1 с"):
        run_script("import time\nprint('жду', flush=True)\ntime.sleep(60)", timeout=1)
    assert time.perf_counter() - start < 15
    assert issubclass(ScriptTimeout, ExerciseFailure)


def test_result_reports_failures_in_russian() -> None:
    crashed = run_script("raise ValueError('плохо')", timeout=20)
    with pytest.raises(ScriptFailed, match="ValueError: плохо"):
        crashed.result()
    stub = run_script("raise NotImplementedError()", timeout=20)
    with pytest.raises(ScriptFailed, match="ещё не написано"):
        stub.result()
    silent = run_script("print('нет результата')", timeout=20)
    with pytest.raises(ScriptFailed, match="не передал результат"):
        silent.result()


def double_all(values):
    return [2 * v for v in values]


def is_patched(module):
    from gevent import monkey

    return monkey.is_module_patched(module)


def test_run_function_moves_source_and_passes_json() -> None:
    assert "def double_all(values):" in function_source(double_all)
    assert run_function(double_all, [1, 2, 3], timeout=30, patch=False) == [2, 4, 6]
    assert run_function(is_patched, "socket", timeout=30) is True
    assert run_function(is_patched, "socket", timeout=30, patch=False) is False
    driver = "emit({'twice': double_all(ARGS[0]), 'n': len(ARGS)})"
    assert run_function(double_all, [5], 7, timeout=30, patch=False, driver=driver) == {"twice": [10], "n": 2}


def test_patch_comes_first_in_built_script() -> None:
    code = build_function_script(double_all)
    assert code.startswith(PATCH_ALL)
    assert not build_function_script(double_all, patch=False).startswith(PATCH_ALL)
    with pytest.raises(ExerciseFailure, match="исходный текст"):
        function_source(len)


def test_kernel_process_is_not_patched_by_helpers() -> None:
    from gevent import monkey

    run_function(is_patched, "socket", timeout=30)
    assert not monkey.is_module_patched("socket")


def test_slow_api_accepts_many_simultaneous_connections() -> None:
    code = """
    from gevent import monkey
    monkey.patch_all()
    import sys, json
    from gevent.pool import Pool
    from course.slow_api import fetch_text
    urls = [sys.argv[1] + f"/page/{i}" for i in range(60)]
    print(json.dumps(Pool(60).map(fetch_text, urls)))
    """
    with SlowAPI(delay=0.5) as api:
        done = run_script(code, timeout=60, args=[api.url("").rstrip("/")])
        assert done.ok, done.stderr
        assert json.loads(done.stdout) == [f"page {i}" for i in range(60)]
        assert api.stats.peak_in_flight >= 50


def waits(items, pause, cooperative):
    nap = gevent.sleep if cooperative else time.sleep  # time.sleep берётся в момент вызова
    out = []
    for item in items:
        nap(pause)
        out.append(item * 2)
    return out


def test_heartbeat_driver_tells_blocking_from_cooperative() -> None:
    driver = heartbeat_driver("waits")
    blocked = run_function(waits, [1, 2, 3], 0.02, False, patch=False, driver=driver, timeout=30)
    assert blocked["value"] == [2, 4, 6] and blocked["error"] is None
    assert blocked["ticked_between"] == [False, False] and blocked["time_sleep_calls"] == 3
    fine = run_function(waits, [1, 2, 3], 0.02, True, patch=False, driver=driver, timeout=30)
    assert fine["value"] == [2, 4, 6] and fine["ticked_between"] == [True, True]
    assert fine["time_sleep_calls"] == 0 and fine["ticks"] > 3


def patches_time_then_sleeps(items: list, pause: float) -> list:
    from gevent import monkey

    monkey.patch_time()
    out = []
    for index in range(len(items)):  # обычный список: len и индексы работают
        time.sleep(pause)
        out.append(items[index] * 2)
    return out


def test_heartbeat_driver_sees_its_spy_replaced_and_passes_a_real_list() -> None:
    seen = run_function(patches_time_then_sleeps, [1, 2, 3], 0.01, patch=False,
                        driver=heartbeat_driver("patches_time_then_sleeps"), timeout=30)
    assert seen["error"] is None and seen["value"] == [2, 4, 6]
    assert seen["sleep_replaced"] is True and "time" in seen["patched"]
    assert seen["time_sleep_calls"] == 0  # шпиона заменили — он ничего не увидел, потому и флаг


def pool_pages(urls: list, limit: int) -> list:
    return Pool(limit).map(fetch_text, urls)


def test_concurrency_driver_counts_calls_in_flight_exactly() -> None:
    from course.scripts import concurrency_driver

    with SlowAPI(delay=0.2) as api:
        links = [api.url(f"/page/{i}") for i in range(7)]
        for limit in (3, 4):
            got = run_function(pool_pages, links, limit, driver=concurrency_driver("pool_pages"), timeout=30)
            assert got == {"value": [f"page {i}" for i in range(7)], "peak": limit, "calls": 7}
