"""Задание поменялось после выпуска классу: что именно, по двум базам оценок.

В базе оценок nbgrader хранит оцениваемые ячейки задания (grade_id, баллы, контрольную
сумму исходника). Если после того, как задание попало в базу класса, в `solutions/`
поменялись тесты, баллы или grade_id, то nbgrader при оценке восстановит закрытые ячейки из
*старой* записи (или не найдёт ячейку вовсе), а сданные работы сделаны по старой версии.
`course release` сравнивает свежую сборку с базой класса и предупреждает — что делать,
сказано в README («Задание поменялось после выпуска»).
"""

from __future__ import annotations

from pathlib import Path


def graded_cells(db: Path) -> dict[str, dict[str, dict[str, tuple]]]:
    """задание → ноутбук → grade_id → (вид, баллы, контрольная сумма) из базы оценок."""
    from nbgrader.api import Gradebook

    table: dict[str, dict[str, dict[str, tuple]]] = {}
    with Gradebook(f"sqlite:///{db}") as gb:
        for assignment in gb.assignments:
            notebooks = table.setdefault(assignment.name, {})
            for nb in assignment.notebooks:
                sums = {c.name: c.checksum for c in nb.source_cells}
                cells = {c.name: ("тест", c.max_score, sums.get(c.name)) for c in nb.grade_cells}
                cells |= {c.name: ("задание", c.max_score, sums.get(c.name)) for c in nb.task_cells}
                notebooks[nb.name] = cells
    return table


def changes(class_db: Path, fresh_db: Path) -> list[str]:
    """Что в свежей сборке иначе, чем в базе класса, — только для заданий, которые там уже есть."""
    if not class_db.is_file():
        return []
    old, new = graded_cells(class_db), graded_cells(fresh_db)
    found: list[str] = []
    for assignment, notebooks in sorted(old.items()):
        fresh = new.get(assignment, {})
        for name in sorted(notebooks.keys() | fresh.keys()):
            where = f"{assignment}/{name}.ipynb"
            if name not in fresh:
                found.append(f"{where}: ноутбука больше нет")
                continue
            if name not in notebooks:
                found.append(f"{where}: новый ноутбук")
                continue
            was, now = notebooks[name], fresh[name]
            for grade_id in sorted(was.keys() - now.keys()):
                found.append(f"{where}: ячейки {grade_id} больше нет (grade_id удалён или переименован)")
            for grade_id in sorted(now.keys() - was.keys()):
                found.append(f"{where}: новая оцениваемая ячейка {grade_id}")
            for grade_id in sorted(was.keys() & now.keys()):
                (_, points, checksum), (_, points2, checksum2) = was[grade_id], now[grade_id]
                if points != points2:
                    found.append(f"{where}: {grade_id}: баллы {points:g} → {points2:g}")
                elif checksum != checksum2:
                    found.append(f"{where}: {grade_id}: изменён текст ячейки (тесты)")
    return found
