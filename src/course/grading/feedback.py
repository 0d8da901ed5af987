"""Причины проверки в отзыве студенту.

Отзыв пишет стоковый `generate_feedback` (баллы, комментарии, выводы — всё, что видит
студент у nbgrader), а `course grade` добавляет к нему то, чего nbgrader не знает: почему
упражнение не выполнилось (зависание, лимит памяти, перезапуск ядра, восстановленная
закрытая ячейка). Блок вставляется в начало страницы, чтобы его нельзя было пропустить.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

MARK = "course-grade-reasons"


def add_reasons(folder: Path, reasons: list[str]) -> None:
    """Вписать причины в каждый HTML-отзыв папки (повторный вызов заменяет прежний блок)."""
    block = ""
    if reasons:
        items = "".join(f"<li>{html.escape(r)}</li>" for r in reasons)
        block = (f'<div id="{MARK}" style="border:1px solid #c60;padding:0.5em 1em;margin:1em">'
                 f"<h2>Замечания проверки</h2><ul>{items}</ul></div>")
    for page in sorted(folder.glob("*.html")):
        text = page.read_text(encoding="utf-8")
        text = re.sub(rf'<div id="{MARK}".*?</ul></div>', "", text, count=1, flags=re.S)
        if block:
            text = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + block, text, count=1)
        page.write_text(text, encoding="utf-8")
