"""Глоссарий курса (docs/glossary.md) соблюдён во всех ноутбуках-решениях.

Проверяются все ячейки — текст, комментарии и строки кода: студент читает и то, что печатает
программа. Одна таблица запретов на весь курс, чтобы термины не расходились между темами.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from conftest import ROOT, SOURCE_NOTEBOOKS, rel

# (запрещённая форма, что писать) — см. docs/glossary.md
BANNED = [
    (r"\bпо\s+стене\b|\bстен[аеуы]\b", "«время по часам» / «реальное время (по часам)», а не «по стене»"),
    (r"\bребён(ок|ка|ку|ком|ке)\b|\bребенок\b", "«дочерний процесс», а не «ребёнок»"),
    (r"\bдет(и|ей|ям|ьми|ях)\b", "«дочерние процессы», а не «дети»"),
    (r"таймаут", "«тайм-аут» (через дефис)"),
    (r"при\s+подготовке\s+курса", "скажите, что и где измерено («на свободной машине с двумя ядрами…»)"),
    (r"\bв\s+заметках\b|\bиз\s+заметок\b|\bконспект", "у студента нет заметок, по которым писался курс"),
    (r"стоогосекундн", "«задание на 100 секунд»"),
]
UNIT = r"(?:с|мс|мкс|МБ|МиБ|КиБ|ГБ|ГиБ|%)"
DECIMAL_POINT = re.compile(r"(?<![\w.,`])\d+\.\d+\s*" + UNIT + r"(?!\w)")


def prose(markdown: str) -> str:
    """Текст markdown без блоков кода и `code spans` — там остаётся точка (как в Python)."""
    text = re.sub(r"```.*?```", "", markdown, flags=re.S)
    return re.sub(r"`[^`\n]*`", "", text)


def problems(path, name: str | None = None) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    found = []
    for index, cell in enumerate(nb.cells, 1):
        where = f"{name or rel(path)}, ячейка {index}"
        for pattern, advice in BANNED:
            for match in re.finditer(pattern, cell.source, flags=re.I):
                found.append(f"{where}: «{match.group(0)}» — {advice}")
        russian = re.search(r"активн\w*\s+блокировк", cell.source, re.I)
        if re.search(r"livelock", cell.source, re.I) and not russian:
            found.append(f"{where}: «livelock» без русского термина — «активная блокировка (livelock)»")
        if cell.cell_type == "markdown":
            for match in DECIMAL_POINT.finditer(prose(cell.source)):
                found.append(f"{where}: «{match.group(0)}» — в числах текста десятичная запятая")
    return found


def test_glossary_exists_and_names_every_rule() -> None:
    text = (ROOT / "docs/glossary.md").read_text(encoding="utf-8")
    rules = ("реальное время (по часам)", "дочерний процесс", "тайм-аут", "активная блокировка (livelock)",
             "запятая", "при подготовке курса")
    for term in rules:
        assert term in text, f"в docs/glossary.md нет правила про «{term}»"


@pytest.mark.parametrize("path", SOURCE_NOTEBOOKS, ids=rel)
def test_notebook_follows_glossary(path) -> None:
    found = problems(path)
    assert not found, "Нарушен глоссарий (docs/glossary.md):\n" + "\n".join(found)


def test_checker_catches_each_banned_form(tmp_path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("Время по стене 0.2 с; ребёнок ждёт; таймаут; livelock."),
        nbformat.v4.new_code_cell('print("живые дети:", 1)  # при подготовке курса'),
        nbformat.v4.new_markdown_cell("Норма: `sleep(0.2)`, 3.11, 0,2 с, активная блокировка (livelock)"),
    ]
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    found = "\n".join(problems(path, "x.ipynb"))
    for bad in ("по стене", "ребёнок", "таймаут", "«0.2 с»", "livelock", "дети", "при подготовке курса"):
        assert bad in found, f"проверка пропустила «{bad}»:\n{found}"
    assert "ячейка 3" not in found
