"""Общее для тестов курса: пути и список заданий."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from course.grading.release import CourseLayout

ROOT = Path(__file__).resolve().parents[1]
LAYOUT = CourseLayout(ROOT)
ASSIGNMENTS = LAYOUT.assignments()


def course_notebooks(top: Path) -> list[Path]:
    """Ноутбуки курса в папке — без автосохранений JupyterLab (.ipynb_checkpoints/ после make lab)."""
    return sorted(p for p in top.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


SOURCE_NOTEBOOKS = course_notebooks(LAYOUT.solutions)
RELEASE_NOTEBOOKS = course_notebooks(LAYOUT.notebooks)

# nbgrader вызывает `alembic` из PATH: пусть это будет alembic из нашего окружения.
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.fixture
def root() -> Path:
    return ROOT
