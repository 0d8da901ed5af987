"""Цена рисунков к провалу (#20) при оценке класса: `course grade` с рисунками и без.

Не тест (время на общей машине плавает), а замер, который запускают руками:

    .venv/bin/python benchmarks/failure_pictures.py [--students 12] [--rounds 2]

Класс темы 01: треть — решения, треть — заготовки, треть — «запросы по очереди» (у них тест
fetch_all падает с рисунком). Класс оценивается `course grade --jobs 1` поочерёдно с рисунками
и с COURSE_FAILURE_PICTURES=0, несколько кругов; печатаются секунды на работу, отношение и
размеры PNG в отзывах. Цель (issue 20): оценка класса дороже не больше чем на 10 %; один PNG —
не больше 150 кБ.

Замер 1 декабря, свободная машина (2 ядра, загрузка 1.5 → 0.3), 9 работ, 2 круга: без рисунков
6.32 с на работу, с рисунками 6.48 с — +2.5 %; три PNG в отзывах по 36 кБ.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from badsubmissions import ASSIGNMENT, make_submission  # noqa: E402

from course.grading.grade import grade_class  # noqa: E402
from course.grading.release import CourseLayout  # noqa: E402

KINDS = ("good", "stub", "sequential")


def build_class(root: Path, students: int) -> None:
    layout = CourseLayout(ROOT)
    for kind in KINDS:
        make_submission(root, kind, layout.solutions, layout.notebooks)
    for i in range(students - len(KINDS)):
        shutil.copytree(root / "submitted" / KINDS[i % 3], root / "submitted" / f"s{i:03d}")


def grade(root: Path, pictures: bool) -> float:
    for leftover in ["gradebook.db", f".course-grade-state-{ASSIGNMENT}.json"]:
        (root / leftover).unlink(missing_ok=True)
    for folder in ["autograded", "feedback"]:
        shutil.rmtree(root / folder, ignore_errors=True)
    os.environ["COURSE_FAILURE_PICTURES"] = "1" if pictures else "0"
    start = time.perf_counter()
    grade_class(CourseLayout(ROOT), ASSIGNMENT, jobs=1, course_dir=root, progress=False)
    return time.perf_counter() - start


def png_sizes(root: Path) -> list[int]:
    sizes = []
    for html in (root / "feedback").rglob("*.html"):
        for data in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html.read_text(encoding="utf-8")):
            sizes.append(len(base64.b64decode(data)))
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    load = os.getloadavg()
    with_pictures, without = [], []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build_class(root, args.students)
        for _ in range(args.rounds):  # поочерёдно: медленный дрейф машины делится поровну
            without.append(grade(root, pictures=False))
            with_pictures.append(grade(root, pictures=True))
        sizes = png_sizes(root)
    per_on = min(with_pictures) / args.students
    per_off = min(without) / args.students
    print(f"работ {args.students}, кругов {args.rounds}, загрузка до/после: "
          f"{load[0]:.1f} / {os.getloadavg()[0]:.1f}")
    print(f"без рисунков: {per_off:.2f} с на работу (лучший круг), с рисунками: {per_on:.2f} с")
    print(f"рисунки стоят {100 * (per_on / per_off - 1):+.1f} % (цель: не больше +10 %)")
    if sizes:
        print(f"PNG в отзывах: {len(sizes)} шт., {min(sizes)}–{max(sizes)} байт (предел 150000)")


if __name__ == "__main__":
    main()
