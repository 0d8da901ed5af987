"""RobustExecute: ядро, которое не поднялось, — повод попробовать ещё раз, а не потерять работу;
демонстрации лекции при проверке сводятся к своим import, тесты выполняются всегда."""

from __future__ import annotations

import nbformat
import pytest
from jupyter_client.manager import AsyncKernelManager

from course.grading.executor import ABORTED, RobustExecute, demo_imports


class FlakyKernelManager(AsyncKernelManager):
    """Первый запуск ядра падает — как при занятом порте или перегрузке."""

    failures_left = 1

    async def start_kernel(self, **kwargs):
        if FlakyKernelManager.failures_left > 0:
            FlakyKernelManager.failures_left -= 1
            raise RuntimeError("Kernel died before replying to kernel_info")
        return await super().start_kernel(**kwargs)


def notebook(*cells: tuple[str, dict]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source, metadata=meta) for source, meta in cells]
    return nb


def run(nb: nbformat.NotebookNode, tmp_path, **traits) -> nbformat.NotebookNode:
    executor = RobustExecute(timeout=20, **traits)
    executor.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    return nb


def text(cell) -> str:
    return "".join(o.get("text", "") + str(o.get("evalue", "")) for o in cell.outputs)


@pytest.mark.slow
def test_kernel_that_fails_to_start_is_retried(tmp_path) -> None:
    FlakyKernelManager.failures_left = 1
    nb = run(notebook(("print(6 * 7)", {})), tmp_path, kernel_manager_class=FlakyKernelManager)
    assert FlakyKernelManager.failures_left == 0
    assert text(nb.cells[0]) == "42\n"


@pytest.mark.slow
def test_kernel_that_never_starts_gives_a_reason_for_every_cell(tmp_path) -> None:
    FlakyKernelManager.failures_left = 100
    nb = run(notebook(("x = 1", {}), ("print(x)", {})), tmp_path,
             kernel_manager_class=FlakyKernelManager, max_restarts=2)
    for cell in nb.cells:
        assert cell.outputs[0]["ename"] == ABORTED
        assert "ядро не запустилось (попыток: 3): RuntimeError" in cell.outputs[0]["evalue"]
    assert FlakyKernelManager.failures_left == 97


def test_demo_imports_keeps_only_top_level_imports() -> None:
    source = "import time\nfrom os import path as p\nfor _ in range(9):\n    import json\ntime.sleep(60)"
    assert demo_imports(source) == "import time\nfrom os import path as p"
    assert demo_imports("%timeit 1") == "%timeit 1"  # не Python — выполняется как есть


@pytest.mark.slow
def test_demo_runs_only_imports_and_tags_do_not_switch_tests_off(tmp_path) -> None:
    demo = {"tags": ["demo"]}
    test = {"tags": ["demo"], "nbgrader": {"grade": True, "grade_id": "t", "points": 1}}
    nb = run(notebook(
        ("import math\nimport time\ntime.sleep(60)\nslow = True", demo),
        ("print(math.tau > 6, 'slow' in globals())", {}),
        ("assert False, 'тест выполнялся'", test),
    ), tmp_path)
    assert "при проверке не выполняется" in text(nb.cells[0])
    assert nb.cells[0].source.endswith("slow = True"), "исходник демонстрации должен остаться прежним"
    assert text(nb.cells[1]) == "True False\n"
    assert nb.cells[2].outputs[-1]["evalue"] == "тест выполнялся"
