"""`course release`: notebooks/ равен сборке из solutions/, плохой вход ничего не портит."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from conftest import LAYOUT, ROOT

from course.grading.cli import main
from course.grading.release import CourseLayout, check_demo_cells, check_test_cell, release_drift


@pytest.mark.xdist_group("release")
def test_notebooks_match_fresh_release() -> None:
    drift = release_drift(LAYOUT)
    assert not drift, (
        "notebooks/ разошёлся с solutions/:\n  "
        + "\n  ".join(drift)
        + "\nИсправление: course release (или make release) и закоммитьте notebooks/."
    )


def copy_course(tmp_path: Path) -> CourseLayout:
    for name in ("solutions", "notebooks", "autograder"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("class"))
    for name in ("pyproject.toml", "README.md"):  # адрес Binder и ссылка в README
        shutil.copy2(ROOT / name, tmp_path / name)
    return CourseLayout(tmp_path)


def snapshot(top: Path) -> dict[str, bytes]:
    return {str(p.relative_to(top)): p.read_bytes() for p in sorted(top.rglob("*")) if p.is_file()}


def first_assignment_notebook(layout: CourseLayout) -> Path:
    return sorted((layout.solutions / layout.assignments()[0]).glob("*.ipynb"))[0]


def break_json(path: Path) -> None:
    path.write_text(path.read_text(encoding="utf-8")[:-40], encoding="utf-8")


def duplicate_grade_id(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    ids = [c.metadata.nbgrader["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == ids[1]:
            cell.metadata.nbgrader["grade_id"] = ids[0]
    nbformat.write(nb, path)


def drop_end_marker(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = cell.source.replace("### END SOLUTION", "")
            break
    nbformat.write(nb, path)


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (break_json, "не читается как JSON"),
        (duplicate_grade_id, "уже был в ячейке"),
        (drop_end_marker, "### END SOLUTION"),
    ],
)
def test_bad_source_names_file_and_cell_and_writes_nothing(tmp_path, capsys, damage, expected):
    layout = copy_course(tmp_path)
    before = snapshot(layout.notebooks)
    broken = first_assignment_notebook(layout)
    damage(broken)
    code = main(["--root", str(tmp_path), "release"])
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err and broken.name in err, err
    if damage is not break_json:
        assert "ячейка" in err, err
    assert snapshot(layout.notebooks) == before, "notebooks/ изменился после неудачного выпуска"
    assert not list(tmp_path.glob(".release-*")), "остались временные файлы"


def test_release_rebuilds_and_check_detects_drift(tmp_path, capsys):
    layout = copy_course(tmp_path)
    (layout.notebooks / "stray.txt").write_text("лишнее", encoding="utf-8")
    assert main(["--root", str(tmp_path), "release", "--check"]) == 1
    out = capsys.readouterr().out
    assert "лишний файл notebooks/stray.txt" in out and "course release" in out
    assert main(["--root", str(tmp_path), "release"]) == 0
    assert main(["--root", str(tmp_path), "release", "--check"]) == 0


def test_outside_a_course_says_where_to_run(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["release"]) == 2
    assert "не найден корень курса" in capsys.readouterr().err


def demo_notebook(*cells: tuple[str, bool]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for source, demo in cells:
        nb.cells.append(nbformat.v4.new_code_cell(source, metadata={"tags": ["demo"]} if demo else {}))
    return nb


def test_demo_cells_must_not_feed_the_rest() -> None:
    """Демонстрация при проверке сводится к import: всё прочее из неё — ошибка автора курса."""
    clean = demo_notebook(("import time\nstart = time.time()\nprint(start)", True),
                          ("def f(start):\n    return time.time() - start", False),
                          ("start = 0\nprint(start)", False))
    assert check_demo_cells(Path("nb"), clean) == []
    leaks = demo_notebook(("urls = [1, 2]", True), ("def f():\n    return urls", False))
    assert "берёт urls из демонстрации (ячейка 1)" in check_demo_cells(Path("nb"), leaks)[0]
    helper = demo_notebook(("def clocks():\n    pass", True))
    assert "определяет clocks" in check_demo_cells(Path("nb"), helper)[0]
    test = demo_notebook(("assert True", True))
    test.cells[0].metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": 1}
    assert "у решения или теста" in check_demo_cells(Path("nb"), test)[0]


@pytest.mark.parametrize(
    ("tail", "refused"),
    [
        ("len(answer)", True),  # nbgrader принял бы значение выражения за баллы
        ("answer", True),
        ("expect(answer, 'текст')", False),
        ("report.expect_safe('подсказка')", False),
        ("checked = len(answer)", False),
    ],
)
def test_test_cell_must_not_end_in_a_value(tail: str, refused: bool) -> None:
    problems = check_test_cell("ячейка 1", f"answer = [1]\n{tail}\n")
    assert bool([p for p in problems if "кончается выражением" in p]) == refused, problems
