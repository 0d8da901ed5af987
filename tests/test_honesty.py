"""Честность упражнений — настоящим nbgrader.

Для каждого задания: версия студента, сданная без изменений, получает 0 за каждую
оцениваемую ячейку; решение получает полный балл за каждую. Значит, у каждого упражнения
есть тест, который может упасть, и тест, который проходит на правильном ответе.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import ASSIGNMENTS, LAYOUT
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader


def grade_both(assignment: str, tmp_path: Path) -> dict[str, dict[str, tuple[float, float]]]:
    """Сдать stub и solution, прогнать autograde; вернуть {студент: {grade_id: (балл, макс)}}."""
    config = PyFileConfigLoader(str(LAYOUT.config_file)).load_config()
    over = Config()
    over.CourseDirectory.root = str(tmp_path)
    over.CourseDirectory.source_directory = str(LAYOUT.solutions)
    over.CourseDirectory.release_directory = str(tmp_path / "release")
    over.CourseDirectory.submitted_directory = "submitted"
    over.CourseDirectory.autograded_directory = "autograded"
    over.CourseDirectory.db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    config.merge(over)
    api = NbGraderAPI(config=config)
    assert api.generate_assignment(assignment)["success"]
    sources = {"stub": tmp_path / "release" / assignment, "solution": LAYOUT.solutions / assignment}
    for student, source in sources.items():
        shutil.copytree(source, tmp_path / "submitted" / student / assignment)
        result = api.autograde(assignment, student)
        assert result["success"], result.get("error") or result.get("log")
    scores: dict[str, dict[str, tuple[float, float]]] = {}
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        for student in sources:
            submission = gb.find_submission(assignment, student)
            scores[student] = {
                f"{nb.name}:{grade.name}": (grade.score, grade.max_score)
                for nb in submission.notebooks
                for grade in nb.grades
            }
    return scores


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_stub_scores_zero_and_solution_full_marks(assignment, tmp_path) -> None:
    scores = grade_both(assignment, tmp_path)
    assert scores["stub"], f"{assignment}: нет оцениваемых ячеек"
    passing_stub = [gid for gid, (got, _) in scores["stub"].items() if got != 0]
    failing_solution = [
        f"{gid} ({got}/{best})" for gid, (got, best) in scores["solution"].items() if got != best
    ]
    assert not passing_stub, f"{assignment}: тесты проходят на заготовке: {passing_stub}"
    assert not failing_solution, (
        f"{assignment}: решение не получает полный балл: {failing_solution}"
    )
