"""Итог автопроверки в базе оценок — ровно то, что записал бы стоковый `nbgrader autograde`.

Работник оценивает работу на *копии* базы (см. grade.py), и в общую базу итог переносит
главный процесс. Переносим поля, которые пишет сам nbgrader (SaveAutoGrades,
AssignLatePenalties, отметка времени сдачи), и только их:

- `auto_score` каждой оцениваемой ячейки: у ручной (ответ текстом, задание-task) — None;
- `needs_manual_grade`: True, если автоматического балла нет или преподаватель уже ставил
  балл руками (так formgrader покажет ячейку снова) — его вычисляет сам nbgrader;
- `auto_comment` («No response.» у нетронутого ответа);
- штраф за опоздание и время сдачи.

`manual_score`, `manual_comment` и `extra_credit` не трогаем никогда: повторная проверка не
стирает работу преподавателя в formgrader. Таблица CSV читается отсюда же, из базы, поэтому
CSV, formgrader и `nbgrader export` показывают одни и те же числа.
"""

from __future__ import annotations

from typing import Any


def read_autogrades(db_url: str, assignment: str, student: str) -> dict[str, Any]:
    """Что nbgrader записал о работе в (частную) базу: по ноутбукам — баллы, отметки, комментарии."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        submission = gb.find_submission(assignment, student)
        notebooks = {}
        for nb in submission.notebooks:
            notebooks[nb.name] = {
                "late_penalty": nb.late_submission_penalty,
                "grades": {g.name: {"auto_score": g.auto_score, "max_score": g.max_score,
                                    "needs_manual_grade": g.needs_manual_grade}
                           for g in nb.grades},
                "comments": {c.name: c.auto_comment for c in nb.comments},
            }
        stamp = submission.timestamp
        return {"timestamp": stamp.isoformat() if stamp else None, "notebooks": notebooks}


def store_autogrades(db_url: str, assignment: str, student: str, auto: dict[str, Any] | None,
                     flagged: dict[str, str] | None = None) -> None:
    """Записать итог в общую базу одной транзакцией, не трогая ручные оценки и комментарии.

    `flagged` — ячейки, где сработала проверка подмены (integrity.py): авто-балл 0 и
    `needs_manual_grade=True`, чтобы formgrader показал их преподавателю.

    `auto=None` — работу не удалось выполнить (нет ноутбука, битый JSON, сбой проверки): как
    nbgrader с пропавшим ноутбуком, ставим 0 и `needs_manual_grade=False` всем ячейкам.
    """
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        gb.update_or_create_student(student)
        extra = {"timestamp": auto["timestamp"]} if auto and auto.get("timestamp") else {}
        submission = gb.update_or_create_submission(assignment, student, **extra)
        for nb in submission.notebooks:
            got = (auto or {}).get("notebooks", {}).get(nb.name)
            for grade in nb.grades:
                if got is None or grade.name not in got["grades"]:
                    grade.auto_score, grade.needs_manual_grade = 0.0, False
                    continue
                # как есть из частной базы: её копия снята с общей перед проверкой, так что
                # nbgrader уже учёл ручной балл; у задания-task он ничего не меняет
                grade.auto_score = got["grades"][grade.name]["auto_score"]
                grade.needs_manual_grade = got["grades"][grade.name]["needs_manual_grade"]
                if flagged and grade.name in flagged:
                    grade.auto_score, grade.needs_manual_grade = 0.0, True
            if got is not None:
                for comment in nb.comments:
                    if comment.name in got["comments"]:
                        comment.auto_comment = got["comments"][comment.name]
                nb.late_submission_penalty = got["late_penalty"]
        gb.db.commit()


def submission_scores(db_url: str, assignment: str, student: str) -> dict[str, Any]:
    """Баллы работы из базы — как их покажут formgrader и `nbgrader export`.

    Балл ячейки — ручной, если он поставлен, иначе автоматический (nbgrader Grade.score);
    `total` — как столбец score в `nbgrader export`: сумма минус штраф, не меньше нуля.
    """
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return {"scores": {}, "max": {}, "pending": [], "total": 0.0, "max_total": 0.0}
        scores: dict[str, float] = {}
        best: dict[str, float] = {}
        pending: list[str] = []
        for nb in submission.notebooks:
            for grade in nb.grades:
                scores[grade.name] = float(grade.score or 0.0)
                best[grade.name] = float(grade.max_score or 0.0)
                if grade.needs_manual_grade:
                    pending.append(grade.name)
        raw, penalty = float(submission.score or 0.0), float(submission.late_submission_penalty or 0.0)
        return {"scores": scores, "max": best, "pending": sorted(pending),
                "total": max(0.0, raw - penalty), "max_total": float(submission.max_score or 0.0),
                "email": submission.student.email or ""}
