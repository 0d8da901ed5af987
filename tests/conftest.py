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
SOURCE_NOTEBOOKS = sorted(LAYOUT.solutions.rglob("*.ipynb"))
RELEASE_NOTEBOOKS = sorted(LAYOUT.notebooks.rglob("*.ipynb"))

# nbgrader вызывает `alembic` из PATH: пусть это будет alembic из нашего окружения.
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.fixture
def root() -> Path:
    return ROOT
