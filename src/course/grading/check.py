"""`course check НОУТБУК`: самопроверка так же, как проверяет преподаватель, — но без базы.

Ноутбук выполняется в свежем ядре тем же `RobustExecute` (лимиты, перезапуск, пропуск
зависших ячеек), с NBGRADER_EXECUTION=validate. Файл на диске не меняется. По каждой
оцениваемой ячейке — ✔ или ✘ с русским сообщением из теста, и сумма баллов. Работает и в
терминале, и из ячейки: `!course check 01-basics.ipynb`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course.grading.executor import ABORTED, RobustExecute, StderrNotFatal


@dataclass(frozen=True)
class Verdict:
    grade_id: str
    points: float
    earned: float
    message: str


def check_notebook(path: Path, cell_timeout: int = 30) -> list[Verdict]:
    """Выполнить копию ноутбука и вернуть вердикт по каждой оцениваемой ячейке."""
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
        executor = RobustExecute(timeout=cell_timeout, notebook_timeout=max(300, cell_timeout * 10))
        executor.preprocess(nb, {"metadata": {"path": str(path.parent.resolve())}})
    finally:
        if previous is None:
            os.environ.pop("NBGRADER_EXECUTION", None)
        else:
            os.environ["NBGRADER_EXECUTION"] = previous
    verdicts = []
    stderr_filter = StderrNotFatal()
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade"):
            continue
        stderr_filter.preprocess_cell(cell, {}, index)
        points = float(meta.get("points", 0))
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if errors:
            verdicts.append(Verdict(meta["grade_id"], points, 0.0, describe(errors[-1])))
        else:
            verdicts.append(Verdict(meta["grade_id"], points, points, "пройдено"))
    return verdicts


def describe(error) -> str:
    if error.ename == ABORTED:
        return error.evalue
    if error.ename == "NotImplementedError":
        return "решение ещё не написано (NotImplementedError)"
    return f"{error.ename}: {error.evalue}".strip(": ")


def report(verdicts: list[Verdict]) -> str:
    lines = []
    for v in verdicts:
        mark = "✔" if v.earned == v.points else "✘"
        lines.append(f"{mark} {v.grade_id} — {v.earned:g}/{v.points:g}: {v.message}")
    earned, total = sum(v.earned for v in verdicts), sum(v.points for v in verdicts)
    lines.append(f"Итого: {earned:g} из {total:g} (видимые тесты; при оценке добавятся скрытые).")
    return "\n".join(lines)
