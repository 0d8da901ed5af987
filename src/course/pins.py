"""Закреплённые версии: один источник для pip, conda и Binder.

Почему так: локальная установка (`make setup`), CI и Binder должны запускать одни и те же
версии — иначе, например, вывод потоков в ноутбуке попадёт в другую ячейку (ipykernel).
`requirements/course.txt` — полный закреплённый список; `environment.yml` и
`binder/environment.yml` строятся из него (`make lock`), а тест проверяет, что они совпадают.
Запуск как скрипт: `python src/course/pins.py COURSE_FREEZE DEV_FREEZE`.
"""

from __future__ import annotations

import sys
from pathlib import Path

PYTHON_MINOR = "3.11"

ENV_HEADER = f"""\
# Среда курса для conda и Binder. Не правьте руками: `make lock` строит её из
# requirements/course.txt (там же и всё остальное, что ставит pip).
name: concurrency-course
channels:
  - conda-forge
dependencies:
  - python={PYTHON_MINOR}  # курс рассчитан на CPython {PYTHON_MINOR}
  - pip
  - pip:
"""


def read_pins(path: Path) -> dict[str, str]:
    """Вернуть {имя: версия} из файла вида `name==version` (комментарии и -r пропускаются)."""
    pins: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        name, sep, version = line.partition("==")
        if not sep:
            raise ValueError(f"{path}: строка без точной версии: {raw!r}")
        pins[normalize(name)] = version.strip()
    return pins


def read_env_pins(path: Path) -> tuple[str, dict[str, str]]:
    """Вернуть (версия python, pip-зависимости) из environment.yml без внешнего парсера YAML."""
    python = ""
    pins: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("- python="):
            python = line.removeprefix("- python=").strip()
        elif line.startswith("- ") and "==" in line:
            name, _, version = line[2:].partition("==")
            pins[normalize(name)] = version.strip()
    return python, pins


def normalize(name: str) -> str:
    """Имена пакетов PyPI сравниваются без учёта регистра и различия `-`/`_`/`.`."""
    return name.strip().lower().replace("_", "-").replace(".", "-")


def direct_notes(course_in: Path) -> dict[str, str]:
    """Зачем курсу каждая прямая зависимость: комментарии из requirements/course.in."""
    notes: dict[str, str] = {}
    for raw in course_in.read_text(encoding="utf-8").splitlines():
        spec, _, note = raw.partition("#")
        name = spec.split("==")[0].strip()
        if name:
            notes[normalize(name)] = note.strip()
    return notes


def render_environment(course_pins: dict[str, str], notes: dict[str, str]) -> str:
    lines = []
    for name, version in sorted(course_pins.items()):
        why = notes.get(name)
        lines.append(f"      - {name}=={version}" + (f"  # {why}" if why else "  # зависимость"))
    return ENV_HEADER + "\n".join(lines) + "\n"


def write_all(root: Path, course_freeze: Path, dev_freeze: Path) -> None:
    course = read_pins(course_freeze)
    dev = {k: v for k, v in read_pins(dev_freeze).items() if course.get(k) != v}
    for project_self in ("concurrency-course",):
        course.pop(project_self, None)
        dev.pop(project_self, None)
    (root / "requirements/course.txt").write_text(
        "# Точные версии стека курса (Python 3.11, Linux). Генерирует `make lock` из course.in.\n"
        + "".join(f"{k}=={v}\n" for k, v in sorted(course.items())),
        encoding="utf-8",
    )
    (root / "requirements/dev.txt").write_text(
        "# Стек курса + инструменты тестов. Генерирует `make lock` из dev.in.\n-r course.txt\n"
        + "".join(f"{k}=={v}\n" for k, v in sorted(dev.items())),
        encoding="utf-8",
    )
    env = render_environment(course, direct_notes(root / "requirements/course.in"))
    (root / "environment.yml").write_text(env, encoding="utf-8")
    (root / "binder/environment.yml").write_text(env, encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("использование: python src/course/pins.py COURSE_FREEZE DEV_FREEZE")
    write_all(Path(__file__).resolve().parents[2], Path(sys.argv[1]), Path(sys.argv[2]))
