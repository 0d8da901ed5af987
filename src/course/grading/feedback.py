"""Отзыв студенту содержит только то, что ему можно видеть.

Стоковый отзыв nbgrader (`ClearHiddenTests`) убирает из ячеек исходник скрытых тестов, но
не из *вывода*: упавший скрытый `expect_equal(...)` печатает свою строку в traceback, а код
студента, подсмотревший исходник теста во время его выполнения (обработчик `pre_run_cell`,
`In`), может напечатать его целиком. Ещё в выводе — абсолютные пути учителя (окружение,
папка курса), а вложение в 30 МБ в markdown-ячейке попадает в HTML как есть.

`SanitizeFeedback` (первый препроцессор `GenerateFeedback`, до `ClearHiddenTests`):
- вычёркивает из всех выводов каждую строку скрытых тестов (берёт их из тест-ячеек того же
  ноутбука, пока они там есть);
- заменяет пути учителя (папка курса, окружение Python, домашняя папка, папки песочницы) на `…`;
- ограничивает размер: вложения и картинки больше `max_item_bytes` заменяются пометкой,
  общий размер ноутбука — не больше `max_notebook_bytes` (2 МБ), лишний вывод режется.

Ядро не может прочитать скрытые тесты *до* их выполнения: в песочницу кладётся копия
ноутбука без них (`without_hidden_tests`), а база оценок и `source/` туда не видны.

Ещё здесь — блок «Замечания проверки» (`add_reasons`): стоковый `generate_feedback`
пишет баллы, комментарии и выводы, а `course grade` добавляет то, чего nbgrader не знает:
почему упражнение не выполнилось (зависание, лимит памяти, перезапуск ядра, восстановленная
закрытая ячейка). Блок вставляется в начало страницы, чтобы его нельзя было пропустить.
"""

from __future__ import annotations

import copy
import html
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
REDACTED = "[строка скрытого теста скрыта]"
MIN_LINE = 8  # короче — слишком общие строки («)», «pass»), их вычёркивание портит вывод
DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]{2000,}")


def hidden_blocks(source: str) -> list[str]:
    """Тексты между BEGIN/END HIDDEN TESTS в исходнике ячейки."""
    blocks, inside, current = [], False, []
    for line in source.splitlines():
        if line.strip() == BEGIN:
            inside, current = True, []
        elif line.strip() == END and inside:
            inside = False
            blocks.append("\n".join(current))
        elif inside:
            current.append(line)
    if inside:
        blocks.append("\n".join(current))
    return blocks


def strip_hidden(source: str) -> str:
    """Исходник тест-ячейки без скрытой части (так его видел студент)."""
    kept, inside = [], False
    for line in source.splitlines(keepends=True):
        if line.strip() == BEGIN:
            inside = True
        elif line.strip() == END and inside:
            inside = False
        elif not inside:
            kept.append(line)
    return "".join(kept)


def _is_test(cell: Any) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def without_hidden_tests(nb: Any) -> Any:
    """Копия ноутбука без скрытых тестов и без выводов — для песочницы ядра."""
    clean = copy.copy(nb)  # неглубоко: выводы и вложения не копируются (они не нужны ядру)
    clean.cells = []
    for cell in nb.cells:
        cell = copy.copy(cell)
        if cell.cell_type == "code":
            cell.outputs = []
            if _is_test(cell):
                cell.source = strip_hidden(cell.source)
        clean.cells.append(cell)
    return clean


def hidden_lines(nb: Any) -> list[str]:
    """Строки скрытых тестов ноутбука, которые нельзя показывать (длинные — первыми).

    Строка, которая есть и в видимой части (`peak = probe.stats.peak_in_flight`), студенту
    и так известна: её не вычёркиваем.
    """
    tests = [cell.source for cell in nb.cells if _is_test(cell)]
    visible = {line.strip() for source in tests for line in strip_hidden(source).splitlines()}
    lines = {line.strip() for source in tests for block in hidden_blocks(source)
             for line in block.splitlines()}
    return sorted((x for x in lines - visible if len(x) >= MIN_LINE), key=len, reverse=True)


def teacher_paths(extra: list[str] | None = None) -> list[str]:
    """Префиксы путей, которых студент не должен видеть (длинные — первыми)."""
    import course

    candidates = [sys.prefix, sys.base_prefix, str(Path(course.__file__).parent.parent),
                  os.path.expanduser("~"), tempfile.gettempdir() + "/course-", os.getcwd(), *(extra or [])]
    chosen = {p.rstrip("/") for p in candidates if p and len(p) > 4 and p != "/tmp"}
    return sorted(chosen, key=len, reverse=True)


def scrub_text(text: str, lines: list[str], paths: list[str]) -> str:
    """Вычеркнуть строки скрытых тестов и пути учителя из текста вывода."""
    if lines:
        out = []
        for line in text.split("\n"):
            plain = re.sub(r"\x1b\[[0-9;]*m", "", line)
            if any(hidden in plain for hidden in lines):
                line = REDACTED
            out.append(line)
        text = "\n".join(out)
    for prefix in paths:
        text = text.replace(prefix, "…")
    text = re.sub(r"/proc/\d+/root", "", text)
    return re.sub(r"…[^\s'\"]*?/site-packages/", "…/site-packages/", text)


def _scrub(value: Any, lines: list[str], paths: list[str]) -> Any:
    if isinstance(value, str):
        return scrub_text(value, lines, paths)
    if isinstance(value, list):
        return [_scrub(v, lines, paths) for v in value]
    if isinstance(value, dict):
        return type(value)({k: _scrub(v, lines, paths) for k, v in value.items()})
    return value


def size_of(obj: Any) -> int:
    return len(json.dumps(obj, ensure_ascii=False, default=str).encode("utf-8"))


def note(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": f"[{text}]\n"}


class SanitizeFeedback(NbGraderPreprocessor):
    """Убрать из отзыва скрытые тесты (и в выводе), пути учителя и лишние мегабайты."""

    max_notebook_bytes = Integer(2_000_000, help="предел размера ноутбука в отзыве, байт").tag(config=True)
    max_item_bytes = Integer(300_000, help="предел одного вложения или картинки, байт").tag(config=True)

    def preprocess(self, nb: Any, resources: Any) -> tuple[Any, Any]:
        lines = hidden_lines(nb)
        root = getattr(getattr(self, "coursedir", None), "root", None)
        paths = teacher_paths([root] if root else None)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [_scrub(o, lines, paths) for o in cell.outputs]
                self._bound_outputs(cell)
            else:
                self._bound_markdown(cell)
        self._bound_total(nb)
        return nb, resources

    def _bound_outputs(self, cell: Any) -> None:
        for output in cell.outputs:
            data = output.get("data")
            if not data:
                continue
            for mime in [m for m in data if m.startswith("image/") or m == "text/html"]:
                if size_of(data[mime]) > self.max_item_bytes:
                    del data[mime]
                    gone = f"[{mime} больше {self.max_item_bytes} байт — убрано из отзыва]"
                    data.setdefault("text/plain", gone)

    def _bound_markdown(self, cell: Any) -> None:
        for name in list(cell.get("attachments", {}) or {}):
            if size_of(cell.attachments[name]) > self.max_item_bytes:
                del cell.attachments[name]
                cell.source = cell.source.replace(f"attachment:{name}", "#вложение-убрано-из-отзыва")
        if len(cell.source) > self.max_item_bytes:
            cell.source = DATA_URI.sub("#картинка-убрана-из-отзыва", cell.source)
            if len(cell.source) > self.max_item_bytes:
                cell.source = cell.source[: self.max_item_bytes] + "\n\n*[текст обрезан в отзыве]*"

    def _bound_total(self, nb: Any) -> None:
        """Если и после этого больше предела — выводы самых больших ячеек заменяются пометкой."""
        code = [c for c in nb.cells if c.cell_type == "code"]
        cells = sorted(code, key=lambda c: size_of(c.outputs), reverse=True)
        for cell in cells:
            if size_of(nb) <= self.max_notebook_bytes:
                return
            cell.outputs = [note("вывод ячейки слишком большой для отзыва — убран")]
        for cell in nb.cells:  # вложения в markdown, если всё ещё велико
            if size_of(nb) <= self.max_notebook_bytes:
                return
            if cell.get("attachments"):
                cell.attachments = {}

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


def generate_feedback(config: Any, assignment: str, student: str) -> dict:
    """Стоковый `generate_feedback` для одного студента — но с шаблоном из конфигурации.

    `NbGraderAPI.generate_feedback` жёстко ставит `HTMLExporter.template_name = 'feedback'`
    поверх конфигурации, и русский шаблон курса (`feedback_ru`) им не применить: с ним
    `extra_template_basedirs` указывает на папку курса, и шаблон 'feedback' просто не находится.
    Здесь — то же самое, что делает API, без этой подмены.
    """
    from nbgrader.apps import NbGraderAPI
    from nbgrader.converters import GenerateFeedback
    from nbgrader.utils import capture_log, temp_attrs

    api = NbGraderAPI(config=config)
    with temp_attrs(api.coursedir, assignment_id=assignment, student_id=student):
        app = GenerateFeedback(coursedir=api.coursedir, parent=api)
        app.force = True
        return capture_log(app)

