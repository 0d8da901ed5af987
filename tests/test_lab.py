"""`make lab` поднимает JupyterLab на 127.0.0.1 с токеном и без токена не пускает."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from conftest import ROOT

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect := type(
    "NoRedirect", (urllib.request.HTTPRedirectHandler,), {"redirect_request": lambda *a: None}
)())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status(url: str, token: str | None = None) -> int:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"token {token}")
    try:
        with OPENER.open(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.slow
def test_make_lab_serves_with_token_only() -> None:
    port, token = free_port(), "course-test-token"
    env = dict(os.environ, JUPYTER_TOKEN=token, BROWSER="true")
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"PORT={port}", "LAB_FLAGS=--no-browser"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if status(f"{base}/api/status", token) == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline, "JupyterLab не поднялся за 90 с"
            time.sleep(0.5)
        assert status(f"{base}/lab", token) == 200
        assert status(f"{base}/lab/tree/index.ipynb", token) == 200
        # Файловый браузер студента — notebooks/: решений и тестов из него не видно.
        assert status(f"{base}/api/contents/index.ipynb", token) == 200
        assert status(f"{base}/api/contents/01-basics", token) == 200
        assert status(f"{base}/api/contents/solutions", token) == 404
        assert status(f"{base}/api/contents") == 403
        assert status(f"{base}/lab") in (302, 403)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
