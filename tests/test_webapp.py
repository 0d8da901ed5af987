"""course.webapp: сервер uvicorn в фоне, генератор нагрузки и проба блокировки цикла."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from course.webapp import LoadResult, Server, load, make_app, plot_load, probe_blocking


@pytest.fixture(scope="module")
def server():
    with Server(make_app(delay=0.05, cpu_workers=1)) as running:
        yield running


def test_server_binds_loopback_and_answers(server) -> None:
    assert server.url("/").startswith("http://127.0.0.1:")
    response = httpx.get(server.url("/ping"), trust_env=False)
    assert response.status_code == 200 and "pong" in response.json()


def test_sync_endpoint_runs_in_worker_thread(server) -> None:
    body = httpx.get(server.url("/sync?wait=0"), trust_env=False).json()
    assert body["variant"] == "def" and body["thread"] != "uvicorn"


def test_load_counts_every_request(server) -> None:
    result = load(server.url("/async"), n=12, concurrency=4, label="async")
    assert (len(result.latencies), result.errors, result.concurrency) == (12, 0, 4)
    assert result.rps > 0 and 0.05 <= result.percentile(50) <= result.percentile(99)
    assert "async" in result.summary()


def test_blocking_endpoint_serialises_requests(server) -> None:
    # 4 запроса по 0.05 с при 4 в полёте: цикл стоит, значит, кто-то ждал всех остальных
    result = load(server.url("/async_blocking"), n=4, concurrency=4)
    assert max(result.latencies) >= 4 * 0.05 * 0.9


def test_process_pool_endpoint_matches_inline(server) -> None:
    inline = httpx.get(server.url("/primes_inline?n=1000"), trust_env=False).json()
    pooled = httpx.get(server.url("/primes_pool?n=1000"), trust_env=False, timeout=30).json()
    assert inline == pooled == {"primes": 168}


def test_stop_leaves_no_server_thread() -> None:
    server = Server(make_app())
    server.stop()
    assert not server._thread.is_alive()


def test_percentiles_of_known_latencies() -> None:
    result = LoadResult("x", 100, 1, 1.0, [i / 100 for i in range(1, 101)])
    assert result.rps == 100
    assert result.percentile(50) == pytest.approx(0.505)
    assert result.percentile(0) == 0.01


def test_plot_load_draws_two_panels() -> None:
    import matplotlib

    matplotlib.use("Agg")
    fig = plot_load([LoadResult("a", 2, 1, 1.0, [0.1, 0.2]), LoadResult("b", 2, 1, 2.0, [0.5, 1.0])], "t")
    assert len(fig.axes) == 2


async def nonblocking(seconds: float = 0.3) -> dict:
    await asyncio.to_thread(time.sleep, seconds)
    return {"done": seconds}


async def blocking(seconds: float = 0.3) -> dict:
    time.sleep(seconds)
    return {"done": seconds}


async def failing() -> dict:
    raise NotImplementedError


def test_probe_sees_ping_before_slow_when_loop_is_free() -> None:
    probe = probe_blocking(nonblocking, {"seconds": 0.3}, pings=2)
    assert probe.slow_status == 200 and probe.slow_json == {"done": 0.3}
    assert probe.pings_before_slow(), probe.events


def test_probe_sees_blocked_loop_by_order() -> None:
    probe = probe_blocking(blocking, {"seconds": 0.3})
    assert probe.events.index("конец slow") < probe.events.index("конец ping")
    assert not probe.pings_before_slow()


def test_probe_reports_failure_without_stderr(capfd) -> None:
    probe = probe_blocking(failing)
    assert probe.slow_status == 500
    assert any("NotImplementedError" in line for line in probe.log)
    assert capfd.readouterr().err == ""
