"""Корпус плохих работ для тестов оценки класса: каждая — функция, портящая решение."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import nbformat

ASSIGNMENT = "01-basics"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"


def _lines(*lines: str) -> Callable[[Path], None]:
    """Вставить строки в начало тела fetch_all (с отступом функции)."""
    return _inject("".join(f"    {line}\n" for line in lines).rstrip("\n"))


def _edit_solution(edit: Callable[[str], str], grade_id: str = "fetch_all") -> Callable[[Path], None]:
    """Порча: переписать исходник ячейки решения `grade_id` функцией `edit`."""

    def damage(folder: Path) -> None:
        path = folder / NOTEBOOK
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
                cell.source = edit(cell.source)
        nbformat.write(nb, path)

    return damage


def _inject(code: str) -> Callable[[Path], None]:
    """Вставить код в начало тела решения fetch_all (отступ — в самом коде)."""
    return _edit_solution(lambda source: source.replace("### BEGIN SOLUTION", "### BEGIN SOLUTION\n" + code))


def _append(code: str) -> Callable[[Path], None]:
    """Дописать код верхнего уровня в конец ячейки решения fetch_all."""
    return _edit_solution(lambda source: source + "\n" + code)


def _add_cell(code: str) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        path = folder / NOTEBOOK
        nb = nbformat.read(path, as_version=4)
        nb.cells.insert(1, nbformat.v4.new_code_cell(code))
        nbformat.write(nb, path)

    return damage


def _edit_test_cell(folder: Path) -> None:
    path = folder / NOTEBOOK
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "run_in_processes_test":
            cell.source = "pass"
    nbformat.write(nb, path)


def _delete_test_cell(folder: Path) -> None:
    path = folder / NOTEBOOK
    nb = nbformat.read(path, as_version=4)
    nb.cells = [
        c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "fetch_all_test"
    ]
    nbformat.write(nb, path)


def _tag_everything_demo(folder: Path) -> None:
    """Тег demo на всех ячейках, включая тесты, и сломанный fetch_all: тесты всё равно идут."""
    _inject("    raise RuntimeError('сломано')")(folder)
    path = folder / NOTEBOOK
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        cell.metadata["tags"] = ["demo"]
    nbformat.write(nb, path)


def _corrupt(folder: Path) -> None:
    path = folder / NOTEBOOK
    path.write_text(path.read_text(encoding="utf-8")[:500], encoding="utf-8")


def _rename(folder: Path) -> None:
    (folder / NOTEBOOK).rename(folder / "my-homework.ipynb")


def _remove(folder: Path) -> None:
    (folder / NOTEBOOK).unlink()


def _stray(folder: Path) -> None:
    (folder / "notes.txt").write_text("черновик", encoding="utf-8")
    (folder / "scratch.ipynb").write_text("{}", encoding="utf-8")


# имя → (порча, ожидаемые баллы по grade_id, подстрока причины или None)
FULL = {"classify_workload_test": 2.0, "fetch_all_test": 3.0, "run_in_processes_test": 3.0}
NO_FETCH = FULL | {"fetch_all_test": 0.0}
ZERO = dict.fromkeys(FULL, 0.0)
CASES: dict[str, tuple[Callable[[Path], None] | None, dict[str, float], str | None]] = {
    "good": (None, FULL, None),
    "infinite_loop": (_inject("    while True:\n        pass"), NO_FETCH, "не завершилась"),
    "sequential": (  # по очереди: балл снят, а в отзыве — рисунок запросов (#20)
        _inject("    cache = {}\n    for url in urls:\n        if url not in cache:\n"
                "            cache[url] = fetch_text(url)\n    return [cache[url] for url in urls]"),
        NO_FETCH, None,  # причина — в сообщении теста, а не в «замечаниях проверки»
    ),
    "deadlock": (
        _inject("    import threading\n    lock = threading.Lock()\n    lock.acquire()\n    lock.acquire()"),
        NO_FETCH, "не завершилась",
    ),
    "os_exit": (_inject("    import os\n    os._exit(3)"), NO_FETCH, "аварийно"),
    "segfault": (_inject("    import ctypes\n    ctypes.string_at(0)"), NO_FETCH, "аварийно"),
    "sys_exit": (_inject("    raise SystemExit(1)"), NO_FETCH, None),
    "ignores_sigint": (  # в главном потоке ядра, сразу при выполнении ячейки решения
        _append("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"),
        NO_FETCH, "не завершилась",
    ),
    "huge_output": (_add_cell("print('x' * 10_000_000)"), FULL, None),
    # Бомба — на верхнем уровне ячейки решения: память растёт сразу, а не после запуска тестового
    # сервиса внутри теста (на загруженной машине тот съедал лимит времени ячейки раньше, чем
    # память доходила до предела, и причина менялась на «не завершилась»).
    "memory_bomb": (
        _append("hog = bytearray(3 * 2**30)\nhog[::4096] = b'x' * len(hog[::4096])"), NO_FETCH, "память",
    ),
    "process_storm": (
        _lines(
            "import subprocess, sys, time",
            "cmd = [sys.executable, '-c', 'import time; time.sleep(60)']",
            "procs = [subprocess.Popen(cmd) for _ in range(100)]",
            "time.sleep(60)",
        ),
        NO_FETCH, "процессов",
    ),
    "warning_on_stderr": (_inject("    import warnings\n    warnings.warn('шум в stderr')"), FULL, None),
    "tampered_test": (_edit_test_cell, FULL, "изменена"),
    "deleted_test": (_delete_test_cell, FULL, "удалена"),
    "demo_tag_on_tests": (_tag_everything_demo, NO_FETCH, None),
    "corrupt_json": (_corrupt, ZERO, "повреждён"),
    "renamed": (_rename, ZERO, "не найден ноутбук 01-basics.ipynb"),
    "missing": (_remove, ZERO, "не найден ноутбук"),
    "stray_files": (_stray, FULL, None),
    "stub": ("stub", ZERO, None),
}


def make_submission(
    root: Path, student: str, solutions: Path, release: Path,
    damage: Callable[[Path], None] | str | None = "case", solved: bool = True,
) -> None:
    """Работа студента: выпущенный ноутбук, в который вписаны решения (и порча, если есть).

    Порча по умолчанию — из CASES по имени студента; иначе `damage` поверх решения
    (`solved`) или заготовки.
    """
    if damage == "case":
        damage, _, _ = CASES[student]
        solved = damage != "stub"
    folder = root / "submitted" / student / ASSIGNMENT
    shutil.copytree(release / ASSIGNMENT, folder)
    if solved:
        answers = {
            c.metadata["nbgrader"]["grade_id"]: c.source
            for c in nbformat.read(solutions / ASSIGNMENT / NOTEBOOK, as_version=4).cells
            if c.metadata.get("nbgrader", {}).get("solution")
        }
        nb = nbformat.read(folder / NOTEBOOK, as_version=4)
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in answers:
                cell.source = answers[grade_id]
        nbformat.write(nb, folder / NOTEBOOK)
    if callable(damage):
        damage(folder)
