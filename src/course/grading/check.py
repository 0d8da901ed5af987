"""`course check НОУТБУК`: самопроверка так же, как проверяет преподаватель, — но без базы.

Ноутбук выполняется в свежем ядре тем же `RobustExecute` (лимиты, перезапуск, пропуск
зависших ячеек), с NBGRADER_EXECUTION=validate. Файл на диске не меняется. По каждой
оцениваемой ячейке — ✔ или ✘ с русским сообщением из теста, и сумма баллов. Работает и в
терминале, и из ячейки: `!course check 01-basics.ipynb`.
"""

from __future__ import annotations

import ast
import base64
import os
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.preprocessors import CheckCellMetadata, ClearOutput
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from course.checks import NOT_SOLVED, unsolved_message
from course.failure_pictures import METADATA_KEY
from course.grading.executor import ABORTED, RobustExecute, StderrNotFatal
from course.grading.release import CourseLayout, ReleaseError, find_root

# Кнопка Validate (nbgrader Validator) — теми же шагами, что course check: исполнитель курса
# (лимиты, пропуск демонстраций, перезапуск ядра) и stderr без ошибки не обнуляет тест.
VALIDATE_PREPROCESSORS = [CheckCellMetadata, ClearOutput, RobustExecute, StderrNotFatal]

EXERCISE_HEADING = re.compile(
    r"^#{1,6}\s*(Упражнение\s+\d+)\s*(?:\([^)]*\))?\s*[:.—-]?\s*(.*?)\s*$", re.MULTILINE
)
# Ядро пишет в наш терминал английское: в stderr — «Kernel is running over TCP without
# encryption…» (WARNING), в stdout — «NOTE: When using the `ipython kernel` entry point, Ctrl-C
# will not work… --existing kernel.json» (его печатает любое ядро, запущенное не сервером Jupyter,
# если уровень журнала ниже CRITICAL). Студенту это ни о чём.
QUIET_KERNEL = ["--IPKernelApp.log_level=CRITICAL"]


@dataclass(frozen=True)
class Verdict:
    grade_id: str
    points: float
    earned: float
    message: str
    exercise: str = ""  # «Упражнение 2. скачать всё сразу» — из заголовка над упражнением
    what: str = ""  # первая строка docstring теста: что он проверяет
    picture: str = ""  # PNG рисунка к провалу, сохранённый рядом с ноутбуком (или "")

    @property
    def title(self) -> str:
        """Как назвать строку отчёта студенту: упражнение, а не grade_id."""
        return self.exercise or self.what or "упражнение без заголовка"


def course_config(start: Path) -> Config:
    """Настройки проверки курса (autograder/nbgrader_config.py): те же читают Validate в
    JupyterLab (через nbgrader_config.py в корне) и `nbgrader autograde` — вердикты совпадают.
    Вне курса — настройки по умолчанию.
    """
    try:
        root = find_root(start)
    except ReleaseError:
        return Config()
    return PyFileConfigLoader(str(CourseLayout(root).config_file)).load_config()


def check_notebook(path: Path, cell_timeout: int | None = None) -> list[Verdict]:
    """Выполнить копию ноутбука и вернуть вердикт по каждой оцениваемой ячейке.

    cell_timeout — лимит на ячейку, с; None — как в настройках курса (как у Validate).
    """
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001 — любой сбой чтения объясняем одинаково
        raise ValueError(f"{path}: ноутбук не читается ({type(exc).__name__}: {exc})") from exc
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    if not graded:
        raise ValueError(f"{path}: в ноутбуке нет оцениваемых ячеек (это точно задание курса?)")
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    previous = os.environ.get("NBGRADER_EXECUTION")
    os.environ["NBGRADER_EXECUTION"] = "validate"
    try:
        limits = {} if cell_timeout is None else {
            "timeout": cell_timeout, "notebook_timeout": max(300, cell_timeout * 10)
        }
        executor = RobustExecute(
            config=course_config(path.resolve().parent), extra_arguments=QUIET_KERNEL, **limits
        )
        executor.preprocess(nb, {"metadata": {"path": str(path.parent.resolve())}})
    finally:
        if previous is None:
            os.environ.pop("NBGRADER_EXECUTION", None)
        else:
            os.environ["NBGRADER_EXECUTION"] = previous
    verdicts = []
    stderr_filter = StderrNotFatal()
    exercise = ""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            headings = EXERCISE_HEADING.findall(cell.source)
            if headings:
                number, title = headings[-1]
                exercise = f"{number}. {title}" if title else number
            continue
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade"):
            continue
        stderr_filter.preprocess_cell(cell, {}, index)
        points = float(meta.get("points", 0))
        errors = [o for o in cell.outputs if o.output_type == "error"]
        earned, message = (0.0, describe(errors[-1])) if errors else (points, "пройдено")
        picture = save_picture(cell, path, meta["grade_id"]) if errors else ""
        if not errors:
            picture_path(path, meta["grade_id"]).unlink(missing_ok=True)  # прошлый рисунок устарел
        verdicts.append(
            Verdict(meta["grade_id"], points, earned, message, exercise, test_summary(cell.source), picture)
        )
    return verdicts


def picture_path(notebook: Path, grade_id: str) -> Path:
    """Куда `course check` кладёт рисунок к провалу теста: рядом с ноутбуком."""
    return notebook.parent / f"{notebook.stem}.{grade_id}.png"


def save_picture(cell, notebook: Path, grade_id: str) -> str:
    """Сохранить рисунок к провалу (display_data с пометкой course_picture) в PNG; вернуть путь."""
    target = picture_path(notebook, grade_id)
    for output in cell.outputs:
        if output.get("output_type") == "display_data" and METADATA_KEY in output.get("metadata", {}):
            try:
                target.write_bytes(base64.b64decode(output["data"]["image/png"]))
            except (OSError, KeyError, ValueError):
                return ""  # нет места или прав: отчёт важнее рисунка
            return str(target)
    target.unlink(missing_ok=True)
    return ""


def test_summary(source: str) -> str:
    """Первая строка docstring ячейки-теста (что она проверяет), без маркеров nbgrader."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ""
    doc = ast.get_docstring(tree) or ""
    return doc.strip().splitlines()[0].rstrip(".") if doc.strip() else ""


def describe(error) -> str:
    """Сообщение об ошибке теста для студента: нерешённое упражнение — так и сказать."""
    if error.ename == ABORTED:
        return error.evalue
    if unsolved_message(error.ename, error.evalue) is not None:
        return NOT_SOLVED
    if error.ename in ("ExerciseFailure", "AssertionError") and error.evalue:
        return error.evalue
    return f"{error.ename}: {error.evalue}".strip(": ")


def report(verdicts: list[Verdict]) -> str:
    """Отчёт: строка на упражнение (несколько тестов одного упражнения — с пояснением)."""
    tests_per_exercise: dict[str, int] = {}
    for v in verdicts:
        tests_per_exercise[v.title] = tests_per_exercise.get(v.title, 0) + 1
    lines = []
    for v in verdicts:
        mark = "✔" if v.earned == v.points else "✘"
        name = v.title
        if tests_per_exercise[name] > 1 and v.what and v.what != name:
            name += f" ({v.what})"
        lines.append(f"{mark} {name} — {v.earned:g}/{v.points:g}: {v.message}")
        if v.picture:
            lines.append(f"   рисунок — что сделал ваш код и как было нужно: {v.picture}")
    earned, total = sum(v.earned for v in verdicts), sum(v.points for v in verdicts)
    lines.append(f"Итого: {earned:g} из {total:g} (видимые тесты; при оценке добавятся скрытые).")
    return "\n".join(lines)
