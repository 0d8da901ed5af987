"""Команда `course`: выпуск заданий, самопроверка и проверка класса.

course release            пересобрать notebooks/ из solutions/
course release --check    только сравнить (дрейф → код 1 и подсказка)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course.release import CourseLayout, ReleaseError, find_root, release, release_drift


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="course", description="Курс «Конкурентность в Python»: выпуск и проверка заданий."
    )
    parser.add_argument("--root", type=Path, help="корень курса (по умолчанию ищется вверх от .)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="КОМАНДА")
    rel = sub.add_parser("release", help="собрать notebooks/ (версии студента) из solutions/")
    rel.add_argument(
        "--check", action="store_true", help="ничего не писать, только сравнить с notebooks/"
    )
    args = parser.parse_args(argv)
    try:
        layout = CourseLayout(args.root.resolve() if args.root else find_root())
        if args.command == "release":
            return cmd_release(layout, check=args.check)
    except ReleaseError as exc:
        print(f"course: ошибка: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("course: прервано; файлы не изменены", file=sys.stderr)
        return 130
    parser.error(f"неизвестная команда {args.command!r}")
    return 2


def cmd_release(layout: CourseLayout, check: bool) -> int:
    if check:
        drift = release_drift(layout)
        if drift:
            print("notebooks/ не совпадает с тем, что собирается из solutions/:")
            print("\n".join(f"  {line}" for line in drift))
            print("Исправление: course release   (или make release)")
            return 1
        print("notebooks/ совпадает со сборкой из solutions/.")
        return 0
    files = release(layout)
    print(f"Выпущено файлов: {len(files)} → {layout.notebooks}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
