"""Команда `course`: выпуск заданий, самопроверка и проверка класса.

course release            пересобрать notebooks/ из solutions/
course release --check    только сравнить (дрейф → код 1 и подсказка)
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from course.grading.release import (
    CourseLayout,
    ReleaseError,
    ensure_tools_on_path,
    find_root,
    release,
    release_drift,
)


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
    chk = sub.add_parser("check", help="самопроверка ноутбука видимыми тестами")
    chk.add_argument(
        "notebook", type=Path,
        help="тема (01-basics) или путь к .ipynb; тема ищется в текущей папке и в notebooks/ курса",
    )
    chk.add_argument(
        "--cell-timeout", type=int, default=None, help="лимит на ячейку, с (как в настройках курса)"
    )
    grd = sub.add_parser("grade", help="оценить все работы задания из submitted/")
    grd.add_argument("assignment", help="имя задания, например 01-basics")
    grd.add_argument("--jobs", type=int, default=None, help="параллельных работ (по числу ядер)")
    grd.add_argument("--config", type=Path, default=None,
                     help="файл nbgrader_config.py (по умолчанию — как у nbgrader: из папки запуска)")
    grd.add_argument("--course-dir", type=Path, default=None,
                     help="папка класса: submitted/, autograded/, feedback/, gradebook.db в ней")
    grd.add_argument("--cell-timeout", type=int, default=None, help="лимит на ячейку, с")
    grd.add_argument("--force", action="store_true", help="переоценить и неизменившиеся работы")
    reg = sub.add_parser("register", help="занести задание в базу оценок (release/ не трогается)")
    reg.add_argument("assignment", help="имя задания, например 01-basics")
    reg.add_argument("--config", type=Path, default=None, help="файл nbgrader_config.py")
    args = parser.parse_args(argv)
    ensure_tools_on_path()
    warnings.filterwarnings("ignore", module=r"nbgrader(\.|$)")
    try:
        if args.command == "check":
            return cmd_check(args.notebook, args.cell_timeout)
        if args.command == "grade":
            return cmd_grade(args)
        if args.command == "register":
            return cmd_register(args)
        layout = CourseLayout(args.root.resolve() if args.root else find_root())
        if args.command == "release":
            return cmd_release(layout, check=args.check)
    except (ReleaseError, ValueError, FileNotFoundError) as exc:
        print(f"course: ошибка: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.command == "grade":
            print("course: прервано; оценённые работы сохранены в базе, повторный запуск "
                  "продолжит с места остановки", file=sys.stderr)
        else:
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
    from course.grading.drift import changes

    class_db = class_gradebook(layout)
    changed: list[str] = []
    files = release(layout, lambda fresh: changed.extend(changes(class_db, fresh)) if class_db else None)
    print(f"Выпущено файлов: {len(files)} → {layout.notebooks}")
    if changed:
        print(f"ВНИМАНИЕ: задания уже в базе оценок класса {class_db}, а их оцениваемые ячейки "
              "изменились:", file=sys.stderr)
        print("\n".join(f"  {line}" for line in changed), file=sys.stderr)
        print("Сданные работы сделаны по прежней версии. Что делать — README, «Задание поменялось "
              "после выпуска».", file=sys.stderr)
    return 0


def class_folder(args: argparse.Namespace):
    """Папка курса для grade/register: конфигурация как у nbgrader (см. course_dir.py);
    `--root` — курс этого репозитория; вне папки курса, но внутри репозитория — он же."""
    from course.grading.course_dir import open_class

    config_file, repo_config = args.config, None
    if args.root is not None and config_file is None:
        config_file = CourseLayout(args.root.resolve()).config_file
    elif config_file is None:
        try:
            repo_config = CourseLayout(find_root()).config_file
        except ReleaseError:
            repo_config = None
    return open_class(config_file=config_file, repo_config=repo_config,
                      course_dir=getattr(args, "course_dir", None),
                      cell_timeout=getattr(args, "cell_timeout", None))


def cmd_register(args: argparse.Namespace) -> int:
    """Задание — в базу оценок, как это делает `nbgrader generate_assignment`, но без записи в
    release/ (стоковый generate_assignment при существующем release/ задание пропускает, а с
    --force переписывает выпуск — и контрольные суммы сданных работ перестают сходиться)."""
    from course.grading.course_dir import check_known
    from course.grading.grade import ensure_assignment

    folder = class_folder(args)
    check_known(folder, args.assignment)
    notebooks = ensure_assignment(folder, args.assignment)
    print(f"Задание {args.assignment} в базе оценок {folder.db}: {', '.join(notebooks)}")
    return 0


def class_gradebook(layout: CourseLayout) -> Path | None:
    """База оценок класса, которую нашёл бы `course grade` отсюда; None — если её нет."""
    from course.grading.course_dir import CourseDirError, open_class

    try:
        folder = open_class(repo_config=layout.config_file)
    except CourseDirError:
        return None
    return folder.db if folder.db.is_file() else None


def cmd_check(notebook: Path, cell_timeout: int | None) -> int:
    from course.grading.check import check_notebook, report

    notebook = resolve_notebook(notebook)
    verdicts = check_notebook(notebook, cell_timeout=cell_timeout)
    print(report(verdicts))
    return 0 if all(v.earned == v.points for v in verdicts) else 1


def resolve_notebook(name: Path) -> Path:
    """Ноутбук для `course check`: путь как есть или тема (`01-basics`).

    Одна команда `course check 01-basics` работает из ячейки темы (папка ноутбука), из
    notebooks/ и из корня курса — студенту не нужно думать, где он.
    """
    if name.is_file():
        return name
    topic = name.name.removesuffix(".ipynb")
    candidates = [Path(f"{topic}.ipynb"), Path(topic) / f"{topic}.ipynb"]
    try:
        candidates.append(find_root() / "notebooks" / topic / f"{topic}.ipynb")
    except ReleaseError:
        pass
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"нет файла {name} (и темы {topic} рядом или в notebooks/ курса)")


def cmd_grade(args: argparse.Namespace) -> int:
    """Оценить класс в папке курса nbgrader; конфигурация — как у nbgrader (course_dir.py)."""
    from course.grading.grade import grade_class, summary

    if args.jobs is not None and args.jobs < 1:
        raise ValueError(f"--jobs должно быть ≥ 1, получено {args.jobs}")
    folder = class_folder(args)
    results = grade_class(folder, args.assignment, jobs=args.jobs, force=args.force)
    print(summary(results))
    return 1 if any(r.status == "failed" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
