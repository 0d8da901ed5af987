"""Кнопка Validate в JupyterLab даёт тот же вердикт, что `course check`.

Validate (nbgrader Validator) читает nbgrader_config.py из папки, откуда запущен сервер
(`make lab` и Binder — корень курса), ровно как это делает обработчик кнопки; `course check`
— свой отчёт. Сравниваем, какие оцениваемые ячейки не прошли, на заготовке и на решении.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest
from conftest import LAYOUT, ROOT
from jupyter_core.paths import jupyter_config_path
from nbgrader.apps.baseapp import NbGrader
from nbgrader.validator import Validator

from course.grading.check import VALIDATE_PREPROCESSORS, check_notebook

TOPIC = "01-basics"


def button_config(monkeypatch, cwd: Path = ROOT):
    """Настройки, которые читает обработчик Validate (ValidateAssignmentHandler.load_config):
    папки config Jupyter и папка, откуда запущен сервер."""
    monkeypatch.chdir(cwd)
    paths = jupyter_config_path()
    paths.insert(0, os.getcwd())
    app = NbGrader()
    app.config_file_paths.append(paths)
    app.load_config_file()
    return app.config


def validate_like_the_button(path: Path, monkeypatch) -> set[str]:
    """grade_id ячеек, которые Validate назовёт непрошедшими (как ValidateAssignmentHandler)."""
    config = button_config(monkeypatch)  # сервер курса работает из корня
    got = config.Validator.preprocessors
    assert got == VALIDATE_PREPROCESSORS, "Validate не видит nbgrader_config.py"
    result = Validator(config=config).validate(str(path))
    assert set(result) <= {"failed"}, f"Validate сообщил не о тестах: {sorted(result)}"
    failed = {item["source"] for item in result.get("failed", [])}
    nb = nbformat.read(path, as_version=4)
    return {
        c.metadata.nbgrader["grade_id"]
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade") and c.source.strip() in failed
    }


def check_failures(path: Path) -> set[str]:
    return {v.grade_id for v in check_notebook(path) if v.earned != v.points}


@pytest.mark.slow
@pytest.mark.parametrize("version", ["заготовка", "решение"])
def test_validate_agrees_with_course_check(version, tmp_path, monkeypatch) -> None:
    source = LAYOUT.notebooks if version == "заготовка" else LAYOUT.solutions
    work = tmp_path / TOPIC
    shutil.copytree(source / TOPIC, work)
    path = work / f"{TOPIC}.ipynb"
    by_check = check_failures(path)
    by_validate = validate_like_the_button(path, monkeypatch)
    assert by_validate == by_check, f"Validate: {sorted(by_validate)}, course check: {sorted(by_check)}"
    if version == "заготовка":
        assert by_check, "заготовка прошла тесты"
    else:
        assert not by_check, f"решение не прошло: {sorted(by_check)}"


@pytest.mark.parametrize("role", ["student", "teacher"])
def test_validate_on_jupyterhub_uses_the_course_steps(role, tmp_path, monkeypatch) -> None:
    """На хабе сервер студента запущен из его домашней папки, без nbgrader_config.py курса;
    Validate читает конфигурацию класса (JUPYTER_CONFIG_PATH = папка роли + common)."""
    classroom = ROOT / "autograder" / "classroom"
    roles = [str(classroom / role), str(classroom / "common")]
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", os.pathsep.join(roles))
    config = button_config(monkeypatch, cwd=tmp_path)
    assert config.Validator.preprocessors == VALIDATE_PREPROCESSORS
