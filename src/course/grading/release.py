"""Выпуск заданий: `solutions/` (решения и скрытые тесты) → `notebooks/` (что видит студент).

Почему не голый `nbgrader generate_assignment`: тот пишет прямо в каталог выпуска и на
ошибке в середине оставляет полсобранный курс, а сообщения об ошибках в исходнике
(битый JSON, повтор grade_id, потерянный маркер) не называют ячейку. Здесь сначала проверяем
каждый исходный ноутбук, потом собираем всё во временной папке настоящим nbgrader и только
затем одним переименованием заменяем `notebooks/`. `check_release` собирает так же и
сравнивает с тем, что лежит в репозитории (дрейф → подсказка «запустите course release»).
"""

from __future__ import annotations

import ast
import filecmp
import json
import os
import re
import shutil
import symtable
import sys
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

INDEX = "index.ipynb"
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
DEMO_TAG = "demo"  # ячейка-демонстрация: при проверке от неё выполняются только import
# Ячейка, которая падает, пока упражнение не решено: JupyterLab (Run All) и nbclient идут дальше,
# nbgrader по-прежнему ставит 0 упавшему тесту.
RAISES_TAG = "raises-exception"
SELF_CHECK = "**Проверьте себя"  # так начинается markdown перед ячейками самопроверки
# Что JupyterLab сам пишет в метаданные при сохранении (проверено в Chromium: открыть и сохранить
# ноутбук — других правок нет): пусть это уже лежит в git. Версия — Python машин курса (CI,
# make lab); у студента с другой 3.11.x при сохранении изменится одна эта строка в конце файла,
# вдали от ячеек, и git сливает её с обновлениями курса без конфликта.
LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
    "version": "3.11.7",
}
BINDER_URL = re.compile(r"https://mybinder\.org/v2/gh/[^/\s)]+/[^/\s)]+/[^?\s)]+")
BINDER_BADGE = re.compile(r"\[!\[Binder\]\(https://mybinder\.org/badge_logo\.svg\)\]")
BINDER_TEXT = "[Открыть в Binder ▶]"  # текст, а не картинка: без сети значок был бы битым


GradebookHook = Callable[[Path], None]  # получает временную базу оценок сборки


class ReleaseError(Exception):
    """Исходники курса нельзя выпустить; текст называет файл и ячейку."""


@dataclass(frozen=True)
class CourseLayout:
    root: Path

    @property
    def solutions(self) -> Path:
        return self.root / "solutions"

    @property
    def notebooks(self) -> Path:
        return self.root / "notebooks"

    @property
    def config_file(self) -> Path:
        return self.root / "autograder" / "nbgrader_config.py"

    @property
    def readme(self) -> Path:
        return self.root / "README.md"

    def binder_url(self) -> str:
        """Адрес Binder для ссылок курса: репозиторий задан в одном месте — pyproject.toml,
        `[tool.course] binder-repository` (`владелец/репозиторий` на GitHub) и `binder-ref`.
        """
        settings = tomllib.loads((self.root / "pyproject.toml").read_text(encoding="utf-8"))
        course = settings.get("tool", {}).get("course", {})
        repository = course.get("binder-repository", "concurrency-course/concurrency-course")
        return f"https://mybinder.org/v2/gh/{repository}/{course.get('binder-ref', 'HEAD')}"

    def assignments(self) -> list[str]:
        """Папки заданий в solutions/ (01-basics, 02-threads, …), по порядку."""
        return sorted(
            p.name for p in self.solutions.iterdir() if p.is_dir() and not p.name.startswith(".")
        )


def find_root(start: Path | None = None) -> Path:
    """Корень курса: ближайшая вверх папка с autograder/nbgrader_config.py."""
    here = (start or Path.cwd()).resolve()
    for candidate in [here, *here.parents]:
        if (candidate / "autograder" / "nbgrader_config.py").is_file():
            return candidate
    raise ReleaseError(
        f"не найден корень курса (папка с autograder/nbgrader_config.py) от {here}; "
        "запустите команду из репозитория курса или укажите --root"
    )


# ---------------------------------------------------------------- проверка исходников


def cell_name(index: int, cell: dict) -> str:
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return f"ячейка {index + 1}" + (f" (grade_id {grade_id!r})" if grade_id else "")


def read_source(path: Path) -> nbformat.NotebookNode:
    """Прочитать ноутбук; битый JSON или неверная схема — ReleaseError с местом ошибки."""
    try:
        text = path.read_text(encoding="utf-8")
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReleaseError(
            f"{path}: не читается как JSON (строка {exc.lineno}, столбец {exc.colno}: {exc.msg})"
        ) from exc
    except UnicodeDecodeError as exc:
        raise ReleaseError(f"{path}: файл не в UTF-8 ({exc.reason})") from exc
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except (nbformat.ValidationError, AttributeError, TypeError) as exc:
        message = str(exc).splitlines()[0]
        raise ReleaseError(f"{path}: не соответствует формату ноутбука ({message})") from exc
    return nb


def lint_notebook(path: Path, nb: nbformat.NotebookNode) -> list[str]:
    """Нарушения правил курса в исходном ноутбуке; каждое называет файл и ячейку."""
    problems: list[str] = []
    seen: dict[str, int] = {}
    for index, cell in enumerate(nb.cells):
        where = f"{path}: {cell_name(index, cell)}"
        meta = cell.get("metadata", {}).get("nbgrader")
        source = cell.source
        has_solution_markers = BEGIN_SOLUTION in source or END_SOLUTION in source
        has_hidden_markers = BEGIN_HIDDEN in source or END_HIDDEN in source
        if not meta:
            if has_solution_markers or has_hidden_markers:
                problems.append(f"{where}: маркеры nbgrader в ячейке без метаданных nbgrader")
            continue
        grade_id = meta.get("grade_id")
        if (meta.get("grade") or meta.get("solution") or meta.get("locked")) and not grade_id:
            problems.append(f"{where}: нет grade_id")
        if grade_id:
            if grade_id in seen:
                problems.append(
                    f"{where}: grade_id {grade_id!r} уже был в ячейке {seen[grade_id] + 1}"
                )
            seen.setdefault(grade_id, index)
        if meta.get("grade"):
            points = meta.get("points")
            if not isinstance(points, (int, float)) or points <= 0:
                problems.append(f"{where}: у оцениваемой ячейки должно быть points > 0")
        if meta.get("solution") and cell.cell_type == "code":
            problems += check_pair(where, source, BEGIN_SOLUTION, END_SOLUTION, required=True)
        elif has_solution_markers:
            problems.append(f"{where}: маркеры решения вне ячейки-решения")
        if meta.get("grade") and not meta.get("solution") and cell.cell_type == "code":
            problems += check_test_cell(where, source)
    return problems + check_demo_cells(path, nb) + check_lecture_independent(path, nb)


def answer_dependent_cells(nb: nbformat.NotebookNode) -> dict[int, set[str]]:
    """Ячейки кода (не решения), которые читают ответ студента, прямо или через переменные
    других таких ячеек: {номер ячейки: имена ответов}. Пока упражнение не решено, они падают.
    """
    tainted: set[str] = set()  # имена, которые задаёт решение или ячейка, зависящая от него
    found: dict[int, set[str]] = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        try:
            loaded, stored = _global_names(cell.source)
        except SyntaxError:
            continue
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            tainted |= stored
            continue
        uses = (loaded - stored) & tainted  # `log = []` перед `log.append` — своя переменная
        if uses:
            found[index] = uses
            tainted |= stored
        else:
            tainted -= stored
    return found


def self_check_cells(nb: nbformat.NotebookNode) -> set[int]:
    """Ячейки кода сразу после markdown «**Проверьте себя.** …» (до следующего markdown/теста)."""
    cells, inside = set(), False
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            inside = cell.source.lstrip().startswith(SELF_CHECK)
        elif cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            inside = False
        elif inside:
            cells.add(index)
    return cells


def check_lecture_independent(path: Path, nb: nbformat.NotebookNode) -> list[str]:
    """Ячейка лекции не должна зависеть от ответа студента: пока упражнение не решено, она
    упала бы, и студент не увидел бы лекцию. Ответ трогают только самопроверка и тесты.
    """
    self_checks = self_check_cells(nb)
    return [
        f"{path}: {cell_name(index, nb.cells[index])}: ячейка лекции берёт ответ студента "
        f"({', '.join(sorted(names))}); пока упражнение не решено, она упадёт — возьмите код "
        "лекции или перенесите ячейку в самопроверку (после «**Проверьте себя.**»)"
        for index, names in answer_dependent_cells(nb).items()
        if index not in self_checks and not nb.cells[index].metadata.get("nbgrader", {}).get("grade")
    ]


def check_demo_cells(path: Path, nb: nbformat.NotebookNode) -> list[str]:
    """Демонстрации (тег demo) при проверке сводятся к своим import — проверим, что больше
    ничего из них не нужно: ни решениям и тестам, ни студенту, который возьмёт функцию оттуда.
    """
    problems: list[str] = []
    demo_binds: dict[str, int] = {}  # имя → ячейка-демонстрация, которая связала его последней
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = f"{path}: {cell_name(index, cell)}"
        demo = DEMO_TAG in cell.get("metadata", {}).get("tags", [])
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            if demo:
                problems.append(f"{where}: демонстрация не разбирается как Python")
            continue
        loaded, stored = _global_names(cell.source)
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if demo:
            if meta.get("grade") or meta.get("solution"):
                problems.append(f"{where}: тег {DEMO_TAG!r} у решения или теста (они выполняются всегда)")
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    problems.append(f"{where}: демонстрация определяет {node.name}, а при проверке "
                                    "его не будет — вынесите в обычную ячейку")
            demo_binds.update(dict.fromkeys(stored, index))
            continue
        for name in sorted((loaded - stored) & demo_binds.keys()):
            problems.append(f"{where}: берёт {name} из демонстрации "
                            f"({cell_name(demo_binds[name], nb.cells[demo_binds[name]])}), "
                            "а при проверке та не выполняется")
        for name in stored:
            demo_binds.pop(name, None)
    return problems


def _global_names(source: str) -> tuple[set[str], set[str]]:
    """(глобальные имена, которые код читает, в том числе из функций; которые он присваивает)."""
    top = symtable.symtable(source, "<cell>", "exec")
    loaded, stored = set(), set()
    for symbol in top.get_symbols():
        if symbol.is_referenced():
            loaded.add(symbol.get_name())
        if symbol.is_assigned() and not symbol.is_imported():
            stored.add(symbol.get_name())
    scopes = list(top.get_children())
    while scopes:
        scope = scopes.pop()
        scopes += scope.get_children()
        loaded |= {s.get_name() for s in scope.get_symbols() if s.is_global() and s.is_referenced()}
    return loaded, stored


def check_pair(where: str, source: str, begin: str, end: str, required: bool) -> list[str]:
    lines = [line.strip() for line in source.splitlines()]
    begins, ends = lines.count(begin), lines.count(end)
    if required and begins == 0:
        return [f"{where}: нет маркера {begin!r}"]
    if begins != ends:
        return [f"{where}: маркеров {begin!r} — {begins}, а {end!r} — {ends}"]
    depth = 0
    for line in lines:
        depth += (line == begin) - (line == end)
        if depth not in (0, 1):
            return [f"{where}: маркеры {begin!r}/{end!r} вложены или перепутаны"]
    return []


def check_test_cell(where: str, source: str) -> list[str]:
    """Правила ячейки-теста: видимая проверка до скрытых, без выражения в конце."""
    problems = check_pair(where, source, BEGIN_HIDDEN, END_HIDDEN, required=False)
    visible = source.split(BEGIN_HIDDEN, 1)[0]
    if BEGIN_HIDDEN in source and not _code_lines(visible):
        problems.append(
            f"{where}: только скрытые тесты — студент увидит пустую ячейку; добавьте видимую проверку"
        )
    code = "\n".join(
        line for line in source.splitlines() if line.strip() not in (BEGIN_HIDDEN, END_HIDDEN)
    )
    if code.lstrip().startswith(("%", "!")):
        return problems
    try:
        tree = compile(
            code, where, "exec", flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        )
    except SyntaxError as exc:
        return problems + [f"{where}: синтаксическая ошибка в тесте (строка {exc.lineno})"]
    if tree.body and isinstance(tree.body[-1], ast.Expr) and not _is_check_call(tree.body[-1]):
        problems.append(
            f"{where}: тест кончается выражением — nbgrader примет его значение за баллы; "
            "закончите оператором (например, присваиванием или assert)"
        )
    return problems


def _is_check_call(node: ast.Expr) -> bool:
    """`expect(...)`, `expect_equal(...)`, `report.expect_safe(...)` дают None: хвост безопасен."""
    call = node.value
    if not isinstance(call, ast.Call):
        return False
    func = call.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return name.startswith("expect")


def _code_lines(text: str) -> list[str]:
    return [s for s in (line.strip() for line in text.splitlines()) if s and not s.startswith("#")]


def lint_sources(layout: CourseLayout) -> None:
    """Проверить все исходники; при нарушениях — ReleaseError со списком."""
    problems: list[str] = []
    for path in source_notebooks(layout):
        try:
            problems += lint_notebook(path, read_source(path))
        except ReleaseError as exc:
            problems.append(str(exc))
    if problems:
        raise ReleaseError("исходники не готовы к выпуску:\n  " + "\n  ".join(problems))


def source_notebooks(layout: CourseLayout) -> list[Path]:
    paths = [layout.solutions / INDEX] if (layout.solutions / INDEX).exists() else []
    for assignment in layout.assignments():
        paths += sorted((layout.solutions / assignment).glob("*.ipynb"))
    return paths


# ---------------------------------------------------------------- сборка


def build_release(layout: CourseLayout, out: Path, on_gradebook: GradebookHook | None = None) -> None:
    """Собрать полный каталог выпуска в `out` (он не должен существовать).

    `on_gradebook` получает временную базу оценок сборки (пока она есть): так `course release`
    сравнивает задания с базой класса, не собирая их второй раз.
    """
    lint_sources(layout)
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    ensure_tools_on_path()
    work = Path(tempfile.mkdtemp(prefix="course-release-"))
    try:
        config = PyFileConfigLoader(str(layout.config_file)).load_config()
        overrides = Config()
        overrides.CourseDirectory.root = str(work)
        overrides.CourseDirectory.source_directory = str(layout.solutions)
        overrides.CourseDirectory.release_directory = str(work / "release")
        overrides.CourseDirectory.db_url = f"sqlite:///{work / 'gradebook.db'}"
        overrides.NbGraderAPI.log_level = "ERROR"
        config.merge(overrides)
        api = NbGraderAPI(config=config)
        for assignment in layout.assignments():
            result = api.generate_assignment(assignment)
            if not result["success"]:
                detail = (result.get("error") or result.get("log") or "").strip().splitlines()
                raise ReleaseError(
                    f"nbgrader не собрал {assignment}: " + (detail[-1] if detail else "?")
                )
        release = work / "release"
        release.mkdir(exist_ok=True)
        index = layout.solutions / INDEX
        if index.exists():
            nb = read_source(index)
            for cell in nb.cells:
                if cell.cell_type == "code":
                    cell.outputs, cell.execution_count = [], None
            nbformat.write(nb, release / INDEX)
        for path in sorted(release.rglob("*.ipynb")):
            source = read_source(layout.solutions / path.relative_to(release))
            nb = nbformat.read(path, as_version=4)
            topic = None if path.name == INDEX else path.stem
            prepare_for_students(nb, source, layout.binder_url(), topic)
            nbformat.write(nb, path)
        shutil.copytree(release, out)
        if on_gradebook is not None:
            on_gradebook(work / "gradebook.db")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def prepare_for_students(
    nb: nbformat.NotebookNode, source: nbformat.NotebookNode, binder: str, topic: str | None
) -> None:
    """Довести версию студента после nbgrader.

    - Тег `raises-exception` у решений, тестов и ячеек, читающих ответ: пока упражнение не
      решено, они падают, а «Run All» в JupyterLab останавливается на первой упавшей ячейке
      без тега — студент не увидел бы остаток лекции и рисунки.
    - language_info, как его пишет JupyterLab: первое сохранение не меняет файл из git, и
      `git pull` обновления курса не спорит с работой студента.
    - Ссылки на Binder — на репозиторий из pyproject.toml, текстом, а не картинкой.
    - В начале темы (`topic`, например `01-basics`) — как проверить себя: одна команда на курс.
    """
    if len(nb.cells) != len(source.cells):
        raise ReleaseError("nbgrader изменил число ячеек: не сопоставить версию студента с исходником")
    raising = set(answer_dependent_cells(source))
    for index, cell in enumerate(source.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and (meta.get("solution") or meta.get("grade")):
            raising.add(index)
    for index in sorted(raising):
        tags = nb.cells[index].metadata.setdefault("tags", [])
        if RAISES_TAG not in tags:
            tags.append(RAISES_TAG)
    nb.metadata["language_info"] = json.loads(json.dumps(LANGUAGE_INFO))
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = fill_binder_links(cell.source, binder)
    if topic and nb.cells and nb.cells[0].cell_type == "markdown":
        nb.cells[0].source = nb.cells[0].source.rstrip("\n") + "\n\n" + self_check_note(topic)


def self_check_note(topic: str) -> str:
    """Абзац о самопроверке в начале ноутбука: одна и та же команда во всём курсе."""
    return (
        "**Самопроверка.** Под каждым упражнением — ячейка «Проверьте себя» и тест. Весь "
        "ноутбук так, как его проверит преподаватель: сохраните его (`Ctrl+S`) и выполните в "
        f"новой ячейке `!course check {topic}`."
    )


def fill_binder_links(text: str, binder: str) -> str:
    """Подставить адрес Binder курса во все ссылки mybinder и заменить значок текстом."""
    return BINDER_BADGE.sub(BINDER_TEXT, BINDER_URL.sub(binder, text))


def ensure_tools_on_path() -> None:
    """nbgrader создаёт базу оценок командой `alembic` из PATH: добавим bin/ этого Python."""
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def release(layout: CourseLayout, on_gradebook: GradebookHook | None = None) -> list[str]:
    """Пересобрать `notebooks/` целиком; вернуть список выпущенных файлов.

    Пишем во временную папку рядом, затем меняем каталоги переименованием: ошибка сборки
    оставляет прежний `notebooks/` нетронутым.
    """
    staging = Path(tempfile.mkdtemp(prefix=".release-", dir=layout.root))
    try:
        build_release(layout, staging / "notebooks", on_gradebook)
        old = staging / "previous"
        if layout.notebooks.exists():
            layout.notebooks.rename(old)
        (staging / "notebooks").rename(layout.notebooks)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    readme = readme_with_binder(layout)
    if readme is not None:
        layout.readme.write_text(readme, encoding="utf-8")
    return sorted(
        str(p.relative_to(layout.root)) for p in layout.notebooks.rglob("*") if p.is_file()
    )


def release_drift(layout: CourseLayout) -> list[str]:
    """Чем `notebooks/` отличается от свежей сборки (пустой список — совпадает)."""
    with tempfile.TemporaryDirectory(prefix="course-check-") as tmp:
        fresh = Path(tmp) / "notebooks"
        build_release(layout, fresh)
        drift = compare_trees(fresh, layout.notebooks)
    if readme_with_binder(layout) is not None:
        drift.append("README.md: ссылка на Binder не совпадает с pyproject.toml")
    return drift


def readme_with_binder(layout: CourseLayout) -> str | None:
    """Новый текст README.md, если ссылки на Binder в нём не те; None — если всё верно."""
    if not layout.readme.exists():
        return None
    text = layout.readme.read_text(encoding="utf-8")
    fixed = fill_binder_links(text, layout.binder_url())
    return fixed if fixed != text else None


def compare_trees(expected: Path, actual: Path) -> list[str]:
    def files(top: Path) -> set[str]:
        if not top.exists():
            return set()
        return {
            str(p.relative_to(top))
            for p in top.rglob("*")
            if p.is_file() and ".ipynb_checkpoints" not in p.parts and "__pycache__" not in p.parts
        }

    want, have = files(expected), files(actual)
    drift = [f"нет файла notebooks/{name}" for name in sorted(want - have)]
    drift += [f"лишний файл notebooks/{name}" for name in sorted(have - want)]
    drift += [
        f"отличается notebooks/{name}"
        for name in sorted(want & have)
        if not filecmp.cmp(expected / name, actual / name, shallow=False)
    ]
    return drift
