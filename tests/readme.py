"""Команды из README.md: извлекаются из блоков кода как есть, чтобы тесты запускали именно их.

Блок кода без языка (```) — это команды оболочки; строка, кончающаяся `\\`, продолжается
следующей; строки-комментарии пропускаются. Комментарий `# не здесь: ПРИЧИНА` помечает
команду, которую можно выполнить только на сервере класса (интернет, TLJH, systemd, кластер).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
NOT_HERE = re.compile(r"#\s*не здесь:\s*(?P<why>[^#]+)")


@dataclass(frozen=True)
class Command:
    text: str  # как написано (с комментарием в конце, если он есть)
    section: str  # заголовок «## …» или «### …», под которым блок
    lead: str  # абзац перед блоком: по нему тесты узнают блок («**Занятие.**»)
    not_here: str  # причина из пометки «не здесь», иначе ""

    @property
    def program(self) -> str:
        """Команда без комментария в конце — так её видит bash."""
        return re.sub(r"\s+#[^'\"]*$", "", self.text).strip()


def commands(text: str | None = None, until: str = "## English") -> list[Command]:
    """Все команды README до раздела `until`, по порядку."""
    text = README.read_text(encoding="utf-8") if text is None else text
    text = text.split(f"\n{until}\n", 1)[0]
    found: list[Command] = []
    section, lead, block, inside = "", "", [], False
    paragraph: list[str] = []
    last: list[str] = []  # предыдущий абзац: блок идёт после пустой строки
    for line in text.splitlines():
        if line.startswith("```"):
            if inside:
                found += _block(block, section, lead)
                block, inside = [], False
            elif line.strip() == "```":
                inside, lead = True, " ".join(paragraph or last)
            else:
                inside, block = None, []  # блок с языком — не команды
            continue
        if inside is None:
            continue
        if inside:
            block.append(line)
        elif line.startswith("#"):
            section, paragraph, last = line.lstrip("#").strip(), [], []
        elif line.strip():
            paragraph.append(line.strip())
        elif paragraph:
            last, paragraph = paragraph, []
    return found


def _block(lines: list[str], section: str, lead: str) -> list[Command]:
    joined: list[str] = []
    pending = ""
    for line in lines:
        stripped = line.strip()
        if not stripped or (stripped.startswith("#") and not pending):
            continue
        if pending and stripped.startswith("#"):  # комментарий-продолжение (systemctl edit)
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1].strip() + " "
            continue
        joined.append(pending + stripped)
        pending = ""
    result = []
    for text in joined:
        mark = NOT_HERE.search(text)
        result.append(Command(text, section, lead, mark.group("why").strip() if mark else ""))
    return result
