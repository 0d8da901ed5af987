"""Одна закреплённая среда для pip, conda и Binder; Binder читает binder/."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

from course.pins import PYTHON_MINOR, read_env_pins, read_pins


def test_environment_files_agree_with_pip_pins() -> None:
    pins = read_pins(ROOT / "requirements/course.txt")
    python, env = read_env_pins(ROOT / "environment.yml")
    assert python == PYTHON_MINOR
    assert env == pins, "environment.yml разошёлся с requirements/course.txt: запустите make lock"
    assert (ROOT / "binder/environment.yml").read_text() == (ROOT / "environment.yml").read_text()
    assert "ipykernel" in pins, "ipykernel должен быть закреплён (маршрутизация вывода потоков)"


def test_direct_dependencies_are_pinned_in_lock() -> None:
    pins = read_pins(ROOT / "requirements/course.txt")
    dev = read_pins(ROOT / "requirements/dev.txt")
    for name, version in (read_pins(ROOT / "requirements/course.in")).items():
        assert pins.get(name) == version, f"{name}: в course.in {version}, в course.txt {pins.get(name)}"
    for name, version in (read_pins(ROOT / "requirements/dev.in")).items():
        assert dev.get(name) == version, f"{name}: в dev.in {version}, в dev.txt {dev.get(name)}"


def test_installed_versions_match_pins() -> None:
    from importlib.metadata import PackageNotFoundError, version

    wrong = []
    for name, pinned in read_pins(ROOT / "requirements/course.txt").items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = None
        if installed != pinned:
            wrong.append(f"{name}: закреплено {pinned}, установлено {installed}")
    assert not wrong, "\n".join(wrong)


def test_python_matches_target() -> None:
    assert f"{sys.version_info.major}.{sys.version_info.minor}" >= PYTHON_MINOR


def test_repo2docker_uses_binder_environment_and_postbuild() -> None:
    r2d = Path(sys.executable).parent / "jupyter-repo2docker"
    out = subprocess.run(
        [str(r2d), "--no-build", "--debug", str(ROOT)],
        capture_output=True, text=True, timeout=120, check=True,
    )
    dockerfile = out.stdout + out.stderr
    assert re.search(r'--file "binder/environment\.yml"', dockerfile), dockerfile[-2000:]
    assert "RUN ./binder/postBuild" in dockerfile
    assert f"python={PYTHON_MINOR}" in dockerfile


def test_postbuild_fails_fast_and_hides_teacher_tools() -> None:
    post = (ROOT / "binder/postBuild").read_text()
    hide = (ROOT / "binder/hide-teacher-tools.sh").read_text()
    assert "set -e" in post and "hide-teacher-tools.sh" in post
    for plugin in ("formgrader", "create-assignment", "course-list", "assignment-list", "menu"):
        assert f'"{plugin}"' in hide, f"панель nbgrader {plugin} не скрыта"
    for extension in ("formgrader", "course_list", "assignment_list"):
        assert f'"{extension}"' in hide, f"серверное расширение nbgrader {extension} не выключено"


def test_hide_script_disables_exchange_panels(tmp_path) -> None:
    """Скрипт пишет конфигурацию туда, где её читают jupyter server и JupyterLab (sys.prefix)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    env = dict(os.environ, PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}")
    subprocess.run(["bash", str(ROOT / "binder/hide-teacher-tools.sh")], check=True, env=env)
    etc = venv / "etc" / "jupyter"
    page = json.loads((etc / "labconfig" / "page_config.json").read_text())
    assert page["disabledExtensions"]["@jupyter/nbgrader:assignment-list"] is True
    server = json.loads(
        (etc / "jupyter_server_config.d" / "nbgrader.server_extensions.course_list.json").read_text()
    )
    assert server["ServerApp"]["jpserver_extensions"] == {"nbgrader.server_extensions.course_list": False}


def test_binder_build_context_skips_local_files() -> None:
    ignored = (ROOT / "binder/.dockerignore").read_text().split()
    for path in (".venv", "build", "autograder/class", ".ipynb_checkpoints"):
        assert any(line.strip("/*") == path or line == f"**/{path}" for line in ignored), path


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci/run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in ci and "make test" in readme and "make lab" in readme


def test_make_refuses_old_python_in_russian(tmp_path) -> None:
    """`make lab` с Python 3.10 не создаёт .venv, а говорит, что нужен 3.11+ и как указать другой."""
    old = tmp_path / "python3.10"
    old.write_text('#!/bin/sh\nif [ "$1" = "-V" ]; then echo "Python 3.10.12"; exit 0; fi\nexit 1\n')
    old.chmod(0o755)
    out = subprocess.run(
        ["make", "--no-print-directory", "python-version", f"PYTHON={old}"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode != 0
    assert "Курсу нужен Python 3.11 или новее" in out.stdout and "Python 3.10.12" in out.stdout, out.stdout
    assert "make lab PYTHON=python3.11" in out.stdout
