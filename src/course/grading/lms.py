"""Обмен с LMS (Moodle, Canvas): архив работ → `nbgrader zip_collect`, оценки → обратно.

Архив «Скачать все ответы» кладётся в `downloaded/<задание>/archive/` папки курса (у этого
репозитория — `autograder/class/downloaded/…`), и `nbgrader zip_collect <задание>` раскладывает
работы в `submitted/<студент>/<задание>/`. Студента он узнаёт по имени файла —
регулярным выражением `FileNameCollectorPlugin.named_regexp`; выражение должно совпасть с
*полным* путём распакованного файла и дать группы `student_id` и `file_id`:

- Moodle (задание «Ответ в виде файла», «Скачать все ответы»):
  `Имя Фамилия_12345_assignsubmission_file_01-basics.ipynb` или, с «Скачать ответы в
  папках», `Имя Фамилия_12345_assignsubmission_file/01-basics.ipynb`;
  12345 — номер участника (Participant) в этом задании;
- Canvas («Download Submissions»): `ivanovivan_12345_67890_01-basics.ipynb`, у опоздавших —
  `ivanovivan_LATE_12345_67890_01-basics.ipynb`; 12345 — id пользователя Canvas.

Обратно в Moodle оценки идут листом оценок задания («Загрузить лист оценок», offline grading
worksheet): Moodle ищет столбцы `Identifier` («Participant 12345»), `Grade` и
`Last modified (grade)` (обязательны все три; названия — как в английском интерфейсе
Moodle), а `Feedback comments` становится отзывом. `course grade` пишет такой лист рядом с
ведомостью: `grades-<задание>-moodle.csv`.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

MOODLE_REGEXP = r".*_(?P<student_id>\d+)_assignsubmission_file[_/](?P<file_id>[^/]+)$"
CANVAS_REGEXP = r".*/[^/_]+_(?:LATE_)?(?P<student_id>\d+)_\d+_(?P<file_id>[^/]+)$"
MOODLE_COLUMNS = ("Identifier", "Grade", "Maximum Grade", "Last modified (grade)", "Feedback comments")


def write_moodle_sheet(path: Path, rows: list[tuple[str, float, float, str]]) -> None:
    """Лист оценок Moodle: (студент = номер участника, балл, максимум, замечания) на строку.

    Время изменения — сейчас: Moodle не перепишет оценку, поставленную позже листа.
    """
    now = datetime.now(UTC).strftime("%A, %d %B %Y, %I:%M %p")
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(MOODLE_COLUMNS)
        for student, total, best, notes in rows:
            writer.writerow([f"Participant {student}", f"{total:g}", f"{best:g}", now, notes])
