"""Отзыв студенту — по-русски: шаблон курса подключён в autograder/nbgrader_config.py.

Рисуем отзыв тем же экспортёром, что nbgrader (`GenerateFeedback` берёт HTMLExporter с этой
конфигурацией — и в `nbgrader generate_feedback`, и в `course grade`), на оценённом ноутбуке.
"""

from __future__ import annotations

import os

import nbformat
import nbgrader
from conftest import LAYOUT
from nbconvert import HTMLExporter
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader


def render_feedback(nb: nbformat.NotebookNode) -> str:
    config = PyFileConfigLoader(str(LAYOUT.config_file)).load_config()
    css = os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader", "static",
                       "node_modules", "bootstrap", "dist", "css")  # как в GenerateFeedback
    extra = Config()
    extra.HTMLExporter.extra_template_paths = [css]
    config.merge(extra)
    resources = {"nbgrader": {"notebook": "01-basics", "score": 2.0, "max_score": 8.0, "late_penalty": 0}}
    html, _ = HTMLExporter(config=config).from_notebook_node(nb, resources=resources)
    return html


def test_feedback_frame_is_russian_and_names_no_grade_id() -> None:
    nb = nbformat.read(LAYOUT.solutions / "01-basics" / "01-basics.ipynb", as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            meta["score"] = meta["points"]
    html = render_feedback(nb)
    assert "баллы: 2.0 из 8.0" in html and "Ваш ответ" in html and "Тест" in html
    for english in ("Score", "Test cell", "Student's answer", "Grade cell", "(Top)", "Comments:"):
        assert english not in html, f"в отзыве осталось английское «{english}»"
    assert "<code>classify_workload_test</code>" not in html
    assert '<html lang="ru">' in html
