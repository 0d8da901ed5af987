"""Закоммиченные ноутбуки чисты и метаданные nbgrader в порядке."""

from __future__ import annotations

import json

import nbformat
import pytest
from conftest import RELEASE_NOTEBOOKS, SOURCE_NOTEBOOKS, rel

from course.grading.release import LANGUAGE_INFO, RAISES_TAG, lint_notebook, read_source

ALL = SOURCE_NOTEBOOKS + RELEASE_NOTEBOOKS


def test_there_are_notebooks() -> None:
    assert SOURCE_NOTEBOOKS and RELEASE_NOTEBOOKS


@pytest.mark.parametrize("path", ALL, ids=rel)
def test_committed_without_outputs(path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [
        i + 1
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]
    assert not dirty, f"{rel(path)}: выводы в ячейках {dirty}; очистите их перед коммитом"


@pytest.mark.parametrize("path", SOURCE_NOTEBOOKS, ids=rel)
def test_source_follows_course_rules(path) -> None:
    problems = lint_notebook(path, read_source(path))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", SOURCE_NOTEBOOKS, ids=rel)
def test_graded_cells_exist_with_points(path) -> None:
    if path.name == "index.ipynb":
        pytest.skip("оглавление — без упражнений")
    nb = nbformat.read(path, as_version=4)
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(graded) >= 3, f"{rel(path)}: меньше трёх оцениваемых ячеек"
    assert all(c.metadata.nbgrader["points"] > 0 for c in graded)


@pytest.mark.parametrize("path", RELEASE_NOTEBOOKS, ids=rel)
def test_release_hides_solutions_and_hidden_tests(path) -> None:
    text = path.read_text(encoding="utf-8")
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text, f"{rel(path)}: в версии студента остался маркер {marker}"


@pytest.mark.parametrize("path", RELEASE_NOTEBOOKS, ids=rel)
def test_release_carries_what_jupyterlab_writes_on_save(path) -> None:
    """Открыть и сохранить ноутбук в JupyterLab — без правок: иначе `git pull` обновления курса
    спорил бы с работой студента. (Что пишет JupyterLab, проверено в браузере.)"""
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["metadata"].get("language_info") == LANGUAGE_INFO, f"{rel(path)}: запустите course release"
    assert path.read_text(encoding="utf-8") == nbformat.writes(nbformat.reads(path.read_text(), 4)) + "\n"


@pytest.mark.parametrize("path", [p for p in RELEASE_NOTEBOOKS if p.name != "index.ipynb"], ids=rel)
def test_unsolved_cells_do_not_stop_run_all(path) -> None:
    """Решения и тесты помечены raises-exception: «Run All» у студента дойдёт до конца."""
    nb = nbformat.read(path, as_version=4)
    untagged = [
        i + 1 for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade_id")
        and RAISES_TAG not in c.metadata.get("tags", [])
    ]
    assert not untagged, f"{rel(path)}: ячейки {untagged} без тега {RAISES_TAG}; запустите course release"


def test_checkpoints_are_not_course_notebooks(tmp_path) -> None:
    from conftest import course_notebooks

    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "a-checkpoint.ipynb").write_text("{}")
    (tmp_path / "a.ipynb").write_text("{}")
    assert course_notebooks(tmp_path) == [tmp_path / "a.ipynb"]
