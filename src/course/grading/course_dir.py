"""Папка курса nbgrader для `course grade`: конфигурация ищется так же, как её ищет nbgrader.

Почему не «корень репозитория курса»: преподаватель ведёт класс в своей папке курса nbgrader
(`nbgrader_config.py`, `source/`, `release/`, `submitted/`, `gradebook.db`) и запускает
`nbgrader autograde` из неё. `course grade` — замена `autograde` + `generate_feedback`,
значит, он читает те же файлы в том же порядке:

1. `nbgrader_config.py` из папок `jupyter --paths` (config; первая в списке — главнее),
   например папка роли преподавателя на JupyterHub (JUPYTER_CONFIG_PATH);
2. `nbgrader_config.py` текущей папки — или файл `--config`;
3. `nbgrader_config.py` в `CourseDirectory.root`, если корень курса — другая папка.

Нет ни одного файла, но команда запущена внутри репозитория этого курса — берётся его
`nbgrader_config.py` (так `course grade 01-basics` работает из любой папки репозитория).
Ничего не создаётся, пока не проверено всё, что можно проверить заранее: задание известно,
папка с работами есть, конфигурация загружается (см. `check_ready`).
"""

from __future__ import annotations

from contextlib import chdir as _chdir
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONFIG_NAME = "nbgrader_config.py"
STEPS = ("submitted", "autograded", "feedback")  # папки класса (в отличие от source/ и release/)


class CourseDirError(ValueError):
    """Папку курса нельзя оценивать; текст — одна строка по-русски с тем, как исправить."""


@dataclass
class ClassFolder:
    """Папка курса nbgrader, как её видит nbgrader: все пути абсолютные."""

    config: Any  # traitlets Config со всеми загруженными файлами и поправками
    files: list[Path]
    root: Path
    source: Path
    release: Path
    submitted: Path
    autograded: Path
    feedback: Path
    db: Path

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.db}"


def jupyter_config_files() -> list[Path]:
    """`nbgrader_config.py` из папок config Jupyter, от младшей к старшей (как их сливает nbgrader)."""
    from jupyter_core.paths import jupyter_config_dir, jupyter_config_path

    dirs = jupyter_config_path()
    if jupyter_config_dir() not in dirs:
        dirs.insert(0, jupyter_config_dir())
    return [Path(d) / CONFIG_NAME for d in reversed(dirs) if (Path(d) / CONFIG_NAME).is_file()]


def load_file(path: Path) -> Any:
    """Загрузить один файл конфигурации; ошибка — CourseDirError с файлом и причиной."""
    from traitlets.config.loader import PyFileConfigLoader

    try:
        return PyFileConfigLoader(path.name, path=str(path.parent)).load_config()
    except BaseException as exc:  # noqa: BLE001 — файл конфигурации может бросить что угодно
        if isinstance(exc, KeyboardInterrupt):
            raise
        cause = exc.__cause__ or exc
        detail = str(cause).strip().splitlines()[-1:] or [""]
        raise CourseDirError(
            f"конфигурация {path} не загружается ({type(cause).__name__}: {detail[0][:200]}); "
            "исправьте файл или укажите другой: --config ФАЙЛ"
        ) from exc


def find_config_files(cwd: Path, config_file: Path | None, repo_config: Path | None) -> list[Path]:
    """Файлы конфигурации в порядке загрузки (как у nbgrader; см. docstring модуля)."""
    files = jupyter_config_files()
    if config_file is not None:
        if not config_file.is_file():
            raise CourseDirError(f"нет файла конфигурации {config_file}: укажите существующий --config")
        files.append(config_file.resolve())
    elif (cwd / CONFIG_NAME).is_file():
        files.append((cwd / CONFIG_NAME).resolve())
    elif repo_config is not None and repo_config.is_file():
        files.append(repo_config.resolve())
    if not files:
        raise CourseDirError(
            f"в {cwd} нет {CONFIG_NAME}: запустите команду из папки курса nbgrader "
            "(там, где nbgrader_config.py и source/) или укажите --config ФАЙЛ"
        )
    return files


def open_class(
    cwd: Path | None = None,
    config_file: Path | None = None,
    repo_config: Path | None = None,
    course_dir: Path | None = None,
    cell_timeout: int | None = None,
) -> ClassFolder:
    """Загрузить конфигурацию как nbgrader и вычислить папки курса (ничего не создаёт).

    `course_dir` — папка класса вместо корня из конфигурации: `submitted/`, `autograded/`,
    `feedback/` и `gradebook.db` берутся в ней, а исходники (`source_directory`) и выпуск
    (`release_directory`) остаются там, куда указывает конфигурация.
    """
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    cwd = (cwd or Path.cwd()).resolve()
    files = find_config_files(cwd, config_file, repo_config)
    config = Config()
    loaded: list[Path] = []

    def merge(path: Path) -> None:
        with _chdir(cwd):  # относительные пути в конфигурации — от папки запуска, как у nbgrader
            config.merge(load_file(path))
        loaded.append(path)

    for path in files:
        merge(path)
    with _chdir(cwd):
        base = CourseDirectory(config=config)
        root_config = Path(base.root) / CONFIG_NAME
        if root_config.is_file() and root_config.resolve() not in loaded:
            merge(root_config.resolve())
            base = CourseDirectory(config=config)
        root = Path(base.root)
        source, release = root / base.source_directory, root / base.release_directory
        db_url = base.db_url
    if not db_url.startswith("sqlite:///"):
        raise CourseDirError(f"база оценок {db_url}: course grade умеет только sqlite (sqlite:///путь)")
    db = Path(db_url.removeprefix("sqlite:///"))
    steps = {step: root / getattr(base, f"{step}_directory") for step in STEPS}
    if course_dir is not None:
        root = course_dir.resolve()
        db = root / "gradebook.db"
        steps = {step: root / step for step in STEPS}
    over = Config()
    for step, path in steps.items():  # абсолютные: работникам и отзыву не нужно знать корень
        over.CourseDirectory[f"{step}_directory"] = str(path)
    over.CourseDirectory.root = str(root)
    over.CourseDirectory.source_directory = str(source)
    over.CourseDirectory.release_directory = str(release)
    over.CourseDirectory.db_url = f"sqlite:///{db}"
    if cell_timeout:
        over.Execute.timeout = cell_timeout
    over.NbGraderAPI.log_level = "ERROR"
    # Кто в каком курсе (JupyterHubAuthPlugin спрашивает хаб по токену) — это про обмен, а
    # оценивается всё, что лежит в submitted/: оценка не зависит от хаба и его токена.
    over.Authenticator.plugin_class = "nbgrader.auth.NoAuthPlugin"
    config.merge(over)
    return ClassFolder(config=config, files=loaded, root=root, source=source, release=release,
                       db=db, **steps)


def gradebook_assignments(db: Path) -> list[str]:
    """Задания в базе оценок (без создания базы, если её нет)."""
    if not db.is_file():
        return []
    import sqlite3

    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        try:
            return sorted(row[0] for row in conn.execute("select name from assignment"))
        except sqlite3.DatabaseError:
            return []


def source_assignments(folder: ClassFolder) -> list[str]:
    if not folder.source.is_dir():
        return []
    return sorted(p.name for p in folder.source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def check_ready(folder: ClassFolder, assignment: str) -> None:
    """Всё, что можно проверить до записи первого файла: задание известно, работы есть."""
    check_known(folder, assignment)
    if not folder.submitted.is_dir():
        raise CourseDirError(
            f"нет папки с работами {folder.submitted}: соберите работы в "
            f"{folder.submitted.name}/<студент>/{assignment}/ (nbgrader collect или nbgrader zip_collect)"
        )


def check_known(folder: ClassFolder, assignment: str) -> None:
    """Задание есть в исходниках или уже в базе оценок — иначе одна строка с тем, какие есть."""
    known = source_assignments(folder)
    if assignment not in known and assignment not in gradebook_assignments(folder.db):
        listed = ", ".join(known) if known else "нет ни одного"
        raise CourseDirError(
            f"нет задания {assignment!r}: нет ноутбуков в {folder.source / assignment} и в базе "
            f"оценок его нет; задания в {folder.source}: {listed}"
        )
