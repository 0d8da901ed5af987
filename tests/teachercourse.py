"""Маленький курс nbgrader «как у преподавателя»: своя папка, свой nbgrader_config.py, source/.

Задание ps1 — по ячейке каждого вида: автоматически оцениваемый ответ (решение + тест),
ответ для ручной оценки (текст) и задание-task. Студенты: alice решает всё и пишет ответ
текстом, bob сдаёт заготовку. Используется тестами `course grade` против стокового nbgrader.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ASSIGNMENT = "ps1"
NOTEBOOK = "problem1"
BIN = Path(sys.executable).parent
STUDENTS = ("alice", "bob")

CONFIG = """\
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "teacher-course"
c.Execute.timeout = 30
"""


def _cell(kind: str, source: str, **nbgrader) -> nbformat.NotebookNode:
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, "grade": False, "solution": False,
                                     "locked": False, "task": False, **nbgrader}
    return cell


def source_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        _cell("markdown", "# Задание 1"),
        _cell("code", "def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION",
              solution=True, grade_id="square"),
        _cell("code", 'assert square(3) == 9, "square(3) должно быть 9"',
              grade=True, locked=True, points=2, grade_id="square_test"),
        _cell("markdown", "Почему квадрат отрицательного числа положителен?"),
        _cell("markdown", "ВАШ ОТВЕТ ЗДЕСЬ", grade=True, solution=True, points=3, grade_id="explain"),
        _cell("markdown", "Нарисуйте график квадрата на отрезке [-2, 2].",
              task=True, locked=True, points=1, grade_id="plot_task"),
    ]
    return nb


def nbgrader(course: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Стоковая команда nbgrader, из папки курса — как её запускает преподаватель."""
    done = subprocess.run([str(BIN / "nbgrader"), *args], cwd=course, capture_output=True,
                          text=True, timeout=300)
    if check:
        assert done.returncode == 0, f"nbgrader {' '.join(args)} → {done.returncode}\n{done.stderr[-3000:]}"
    return done


def make_course(course: Path) -> Path:
    """Папка курса: конфигурация, source/ps1, release/ps1 и база (generate_assignment), работы."""
    (course / "source" / ASSIGNMENT).mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(CONFIG, encoding="utf-8")
    nbformat.write(source_notebook(), course / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb")
    nbgrader(course, "generate_assignment", ASSIGNMENT)
    released = nbformat.read(course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
    for student in STUDENTS:
        nb = nbformat.from_dict(released)
        if student == "alice":
            for cell in nb.cells:
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                if grade_id == "square":
                    cell.source = "def square(x):\n    return x ** 2"
                elif grade_id == "explain":
                    cell.source = "Минус на минус даёт плюс."
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{NOTEBOOK}.ipynb")
        (folder / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC", encoding="utf-8")
    return course


def clone(course: Path, where: Path) -> Path:
    shutil.copytree(course, where)
    return where


def cells(course: Path) -> dict[tuple[str, str], dict]:
    """База оценок ячейка за ячейкой: (студент, grade_id) → что в ней хранит nbgrader."""
    from nbgrader.api import Gradebook

    table = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in STUDENTS:
            nb = gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, student)
            comments = {c.name: c for c in nb.comments}
            grades = {g.name: g for g in nb.grades}
            for name in sorted(grades.keys() | comments.keys()):  # и решения без баллов (комментарий)
                grade, comment = grades.get(name), comments.get(name)
                table[student, name] = {
                    "auto_score": grade.auto_score if grade else "—",
                    "manual_score": grade.manual_score if grade else "—",
                    "needs_manual_grade": grade.needs_manual_grade if grade else "—",
                    "auto_comment": comment.auto_comment if comment else "—",
                    "manual_comment": comment.manual_comment if comment else "—",
                }
    return table
