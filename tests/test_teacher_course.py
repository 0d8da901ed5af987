"""`course grade` на чужом курсе nbgrader — замена `nbgrader autograde` + `generate_feedback`.

Одна и та же папка курса (teachercourse.py) оценивается стоковым nbgrader и `course grade`,
запущенными из неё без флагов; база оценок должна совпасть ячейка за ячейкой, ручные
ячейки — остаться formgrader'у, а повторная проверка — не тронуть ручные оценки.
"""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import pytest
from teachercourse import ASSIGNMENT, BIN, NOTEBOOK, STUDENTS, cells, clone, make_course, nbgrader


def course_grade(course: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "course"), "grade", ASSIGNMENT, "--jobs", "1", *args], cwd=course,
                          capture_output=True, text=True, timeout=300)


def table(rows: dict) -> str:
    """Таблица сравнения для отчёта (печатается в выводе теста)."""
    lines = ["| студент | ячейка | auto_score | manual_score | needs_manual_grade | auto_comment |",
             "|---|---|---|---|---|---|"]
    for (student, grade_id), v in sorted(rows.items()):
        lines.append(f"| {student} | {grade_id} | {v['auto_score']} | {v['manual_score']} | "
                     f"{v['needs_manual_grade']} | {v['auto_comment']} |")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> tuple[Path, Path]:
    base = make_course(tmp_path_factory.mktemp("teacher") / "course")
    stock = clone(base, base.parent / "stock")
    ours = clone(base, base.parent / "ours")
    nbgrader(stock, "autograde", ASSIGNMENT)
    nbgrader(stock, "generate_feedback", ASSIGNMENT)
    done = course_grade(ours)
    assert done.returncode == 0, done.stderr[-3000:]
    return stock, ours


@pytest.mark.slow
@pytest.mark.xdist_group("teacher-course")
def test_gradebook_equals_stock_cell_by_cell(graded) -> None:
    stock, ours = graded
    want, got = cells(stock), cells(ours)
    print("\nстоковый nbgrader:\n" + table(want) + "\n\ncourse grade:\n" + table(got))
    assert got == want
    # ручные ячейки ждут formgrader: ответ текстом у alice и задание-task у обоих
    assert got["alice", "explain"]["needs_manual_grade"] and got["alice", "explain"]["auto_score"] is None
    assert got["bob", "plot_task"]["needs_manual_grade"]
    assert got["bob", "explain"] == {**got["bob", "explain"], "auto_score": 0, "needs_manual_grade": False}


@pytest.mark.slow
@pytest.mark.xdist_group("teacher-course")
def test_csv_export_and_feedback_agree_with_gradebook(graded) -> None:
    stock, ours = graded
    sheet = (ours / f"grades-{ASSIGNMENT}.csv").open(encoding="utf-8")
    rows = {r["student"]: r for r in csv.DictReader(sheet)}
    nbgrader(ours, "export", "--to", str(ours / "export.csv"))
    exported = {r["student_id"]: r for r in csv.DictReader((ours / "export.csv").open(encoding="utf-8"))}
    for student in STUDENTS:
        assert float(rows[student]["total"]) == float(exported[student]["score"])
        assert float(rows[student]["max"]) == float(exported[student]["max_score"])
    assert rows["alice"]["square_test"] == "2" and rows["alice"]["needs_manual_grade"] == "2"
    for student in STUDENTS:
        mine = (ours / "feedback" / student / ASSIGNMENT / f"{NOTEBOOK}.html").read_text(encoding="utf-8")
        theirs = (stock / "feedback" / student / ASSIGNMENT / f"{NOTEBOOK}.html").read_text(encoding="utf-8")
        for fact in ("Score:", "Comments:", "No response.", "Минус на минус", "square(3)"):
            assert (fact in mine) == (fact in theirs), f"{student}: «{fact}» в отзыве не как у nbgrader"


@pytest.mark.slow
@pytest.mark.xdist_group("teacher-course")
def test_rerun_keeps_manual_grades_and_comments(graded) -> None:
    from nbgrader.api import Gradebook

    stock, ours = graded
    for course in (stock, ours):  # преподаватель оценил ответ alice в formgrader
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            grade = gb.find_grade("explain", NOTEBOOK, ASSIGNMENT, "alice")
            grade.manual_score, grade.needs_manual_grade = 2.5, False
            gb.find_comment("explain", NOTEBOOK, ASSIGNMENT, "alice").manual_comment = "Верно, но кратко."
            gb.db.commit()
    nbgrader(stock, "autograde", ASSIGNMENT, "--force")
    done = course_grade(ours, "--force")
    assert done.returncode == 0, done.stderr[-3000:]
    want, got = cells(stock), cells(ours)
    assert got == want
    assert got["alice", "explain"]["manual_score"] == 2.5
    assert got["alice", "explain"]["manual_comment"] == "Верно, но кратко."
    row = next(r for r in csv.DictReader((ours / f"grades-{ASSIGNMENT}.csv").open(encoding="utf-8"))
               if r["student"] == "alice")
    assert row["explain"] == "2.5" and float(row["total"]) == 4.5


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _light_course(folder: Path) -> Path:
    """Папка курса без запуска nbgrader: конфигурация, source/ps1, работы."""
    import nbformat
    from teachercourse import CONFIG, source_notebook

    (folder / "source" / ASSIGNMENT).mkdir(parents=True)
    (folder / "nbgrader_config.py").write_text(CONFIG, encoding="utf-8")
    nbformat.write(source_notebook(), folder / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb")
    (folder / "submitted" / "alice" / ASSIGNMENT).mkdir(parents=True)
    return folder


@pytest.mark.parametrize(
    ("case", "args", "expected"),
    [
        ("unknown_assignment", ["ps9"], "нет задания 'ps9'"),
        ("no_submitted", [ASSIGNMENT], "нет папки с работами"),
        ("broken_config", [ASSIGNMENT], "не загружается"),
        ("raising_config", [ASSIGNMENT], "не загружается"),
        ("no_config", [ASSIGNMENT], "нет nbgrader_config.py"),
        ("missing_config_file", [ASSIGNMENT, "--config", "nope.py"], "нет файла конфигурации"),
    ],
)
def test_bad_input_one_line_exit_2_nothing_created(
    tmp_path, monkeypatch, capsys, case, args, expected
) -> None:
    from course.grading.cli import main

    course = _light_course(tmp_path / "course")
    if case == "no_submitted":
        import shutil

        shutil.rmtree(course / "submitted")
    elif case == "broken_config":
        (course / "nbgrader_config.py").write_text("c = get_config(\n", encoding="utf-8")
    elif case == "raising_config":
        (course / "nbgrader_config.py").write_text("raise RuntimeError('опечатка')\n", encoding="utf-8")
    elif case == "no_config":
        (course / "nbgrader_config.py").unlink()
    before = _tree(course)
    monkeypatch.chdir(course)
    monkeypatch.setenv("HOME", str(tmp_path))  # ~/.jupyter пуст: конфигурация — только папки курса
    monkeypatch.delenv("JUPYTER_CONFIG_PATH", raising=False)
    code = main(["grade", *args])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1 and expected in lines[0], err
    assert _tree(course) == before, "неудачный запуск что-то создал или изменил"
