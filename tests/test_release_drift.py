"""`course release` предупреждает, если задание, уже занесённое в базу оценок класса,
поменяло оцениваемые ячейки: баллы, текст тестов, grade_id."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from teachercourse import ASSIGNMENT, CONFIG, NOTEBOOK, nbgrader, source_notebook

from course.grading.drift import changes


def _gradebook(folder: Path, notebook: nbformat.NotebookNode) -> Path:
    """База оценок, в которую stock generate_assignment занёс задание из `notebook`."""
    (folder / "source" / ASSIGNMENT).mkdir(parents=True)
    (folder / "nbgrader_config.py").write_text(CONFIG, encoding="utf-8")
    nbformat.write(notebook, folder / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb")
    nbgrader(folder, "generate_assignment", ASSIGNMENT)
    return folder / "gradebook.db"


@pytest.mark.slow
def test_changed_points_tests_and_grade_ids_are_reported(tmp_path) -> None:
    original = source_notebook()
    class_db = _gradebook(tmp_path / "class", original)
    assert changes(class_db, shutil.copy(class_db, tmp_path / "same.db")) == []
    edited = nbformat.from_dict(original)
    for cell in edited.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") == "square_test":
            cell.source += '\nassert square(-2) == 4, "square(-2) должно быть 4"'
        elif meta.get("grade_id") == "explain":
            meta["points"] = 4
        elif meta.get("grade_id") == "plot_task":
            meta["grade_id"] = "plot"
    found = changes(class_db, _gradebook(tmp_path / "fresh", edited))
    text = "\n".join(found)
    assert "square_test: изменён текст ячейки" in text, text
    assert "explain: баллы 3 → 4" in text, text
    assert "plot_task больше нет" in text and "новая оцениваемая ячейка plot" in text, text
    assert changes(tmp_path / "no-such.db", class_db) == []  # базы класса нет — и предупреждать не о чем


def test_course_release_prints_the_warning(tmp_path, monkeypatch, capsys) -> None:
    """cli: предупреждение — в stderr с подсказкой из README, код 0 (выпуск состоялся)."""
    from course.grading import cli

    monkeypatch.setattr(cli, "class_gradebook", lambda layout: tmp_path / "class.db")
    found = ["01-basics/01-basics.ipynb: x: баллы 2 → 3"]
    monkeypatch.setattr("course.grading.drift.changes", lambda old, new: found)

    def fake_release(layout, on_gradebook=None):
        on_gradebook(tmp_path / "fresh.db")
        return ["notebooks/01-basics/01-basics.ipynb"]

    monkeypatch.setattr(cli, "release", fake_release)
    assert cli.main(["--root", str(tmp_path), "release"]) == 0
    err = capsys.readouterr().err
    assert "баллы 2 → 3" in err and "Задание поменялось после выпуска" in err
