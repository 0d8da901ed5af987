"""course.gil: задачи и приборы темы 02 (потоки и GIL)."""

from __future__ import annotations

import hashlib
import sys
import time

import pytest

from course.gil import (
    BLOCK_MIB,
    describe_gil,
    gil_report,
    handoff_cost,
    heartbeat_gaps,
    run_copies,
    sha256_job,
)
from course.workloads import spin, wait_io


def test_sha256_job_hashes_zeros_in_blocks() -> None:
    expected = hashlib.sha256(bytes(2 * BLOCK_MIB << 20)).hexdigest()
    assert sha256_job(2 * BLOCK_MIB) == expected
    assert sha256_job(1) == hashlib.sha256(bytes(BLOCK_MIB << 20)).hexdigest()


def test_run_copies_labels_and_scaling_of_waits() -> None:
    timings = run_copies(wait_io, 0.1, [1, 3], "потоки")
    assert [t.label for t in timings] == ["1 копия", "3 копии"]
    # Три ожидания в трёх потоках идут вместе: по очереди они заняли бы не меньше 3 × 0.1 с.
    # Граница — ровно эта сумма, без догадок о том, насколько быстро проснутся потоки под нагрузкой.
    assert timings[1].wall < 0.3


def test_run_copies_processes_count_child_cpu() -> None:
    (timing,) = run_copies(spin, 0.1, [2], "процессы")
    assert timing.cpu >= 0.15, "процессорное время детей должно попасть в замер"


def test_run_copies_rejects_unknown_strategy() -> None:
    with pytest.raises(ValueError, match="strategy"):
        run_copies(spin, 0.01, [1], "корутины")


def test_handoff_cost_is_small_but_positive() -> None:
    cost = handoff_cost(200)
    assert 0 < cost < 0.01


def test_heartbeat_sees_long_c_call_hold_the_gil() -> None:
    c_gaps = heartbeat_gaps(lambda: sum(range(10_000_000)))
    sleep_gaps = heartbeat_gaps(lambda: time.sleep(0.1))
    # Один вызов C держит GIL целиком; во сне GIL свободен и сердце бьётся часто.
    assert max(c_gaps) > 5 * sys.getswitchinterval()
    assert len(sleep_gaps) > 10


def test_gil_report_and_description() -> None:
    info = gil_report()
    assert info["version"] == sys.version.split()[0]
    assert info["switch_interval"] == sys.getswitchinterval()
    assert isinstance(info["free_threaded_build"], bool)
    text = describe_gil(info)
    assert "мс" in text and info["version"] in text
    free = describe_gil(info | {"free_threaded_build": True, "gil_enabled": False})
    assert "free-threaded" in free and "выключен" in free
