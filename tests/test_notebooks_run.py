"""Каждый ноутбук-решение выполняется сверху вниз, без ошибок и без сети (как у студента)."""

from __future__ import annotations

import nbformat
import pytest
from conftest import SOURCE_NOTEBOOKS, rel
from nbclient import NotebookClient

CELL_TIMEOUT = 180


@pytest.mark.slow
@pytest.mark.parametrize("path", SOURCE_NOTEBOOKS, ids=rel)
def test_solution_notebook_runs_top_to_bottom(path, monkeypatch) -> None:
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    stderr = [
        (i + 1, out.get("text", "")[:300])
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "stream" and out.name == "stderr"
    ]
    assert not stderr, f"{rel(path)}: вывод в stderr (nbgrader обнулит такие ячейки): {stderr}"
