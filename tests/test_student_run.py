"""«Run All» студента с нерешёнными упражнениями доходит до последней ячейки.

Версия студента выполняется как в JupyterLab: сверху вниз, без режима проверки. nbclient, как
и JupyterLab, идёт дальше упавшей ячейки только с тегом `raises-exception` (его ставит
`course release`). Каждая ячейка лекции должна выполниться без ошибки, а каждая ошибка
нерешённого упражнения — сказать по-русски, что оно ещё не решено.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from conftest import RELEASE_NOTEBOOKS, rel
from nbclient import NotebookClient

from course.grading.release import RAISES_TAG

CELL_TIMEOUT = 180
EXERCISES = [p for p in RELEASE_NOTEBOOKS if p.name != "index.ipynb"]
NOT_SOLVED = re.compile(r"ещё не (решено|написано)")


@pytest.mark.slow
@pytest.mark.parametrize("path", EXERCISES, ids=rel)
def test_run_all_with_unsolved_exercises_reaches_the_end(path, monkeypatch) -> None:
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # без тега ошибка остановила бы выполнение (CellExecutionError)
    code = [(i + 1, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    assert all(c.execution_count for _, c in code), f"{rel(path)}: выполнены не все ячейки"
    not_russian = [
        f"ячейка {i}: {out.ename}: {out.evalue[:200]}"
        for i, cell in code
        for out in cell.outputs
        if out.output_type == "error" and not NOT_SOLVED.search(out.evalue)
    ]
    assert not not_russian, f"{rel(path)}: ошибки не говорят, что упражнение не решено:\n" + "\n".join(
        not_russian
    )
    lecture_failed = [
        i for i, cell in code
        if RAISES_TAG not in cell.metadata.get("tags", [])
        and any(out.output_type == "error" for out in cell.outputs)
    ]
    assert not lecture_failed, f"{rel(path)}: упали ячейки лекции {lecture_failed}"
    stderr = [
        f"ячейка {i}: {out.text[:200]}"
        for i, cell in code
        for out in cell.outputs
        if out.output_type == "stream" and out.name == "stderr"
    ]
    assert not stderr, f"{rel(path)}: вывод в stderr у студента:\n" + "\n".join(stderr)
