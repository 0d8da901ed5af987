"""Корпус неверных и верных ответов: прогон вариантов решения через скрытые тесты.

Зачем: «заготовка — 0, решение — полный балл» (test_honesty) — только нижняя планка. Тест
упражнения честен, когда правдоподобный *неверный* ответ теряет баллы (и подсказка называет
его настоящую причину), а верный ответ, написанный иначе, чем эталон, получает полный балл.

Как устроено (и почему так, а не ядро на вариант — это ≈ 10 с на вариант):
- один ядро на ноутбук; ячейки `solutions/NN/NN.ipynb` идут по порядку, как при оценке:
  у ячеек с тегом `demo` выполняются только `import` (как в `RobustExecute`);
- дойдя до ячейки решения упражнения X, прогон для каждого варианта X выполняет код
  варианта вместо решения, затем тестовые ячейки X (видимые и скрытые тесты — все ячейки
  с баллами между решением X и следующим решением) и записывает, какие упали и что вывели;
- затем выполняется эталонное решение X и его тесты (они обязаны пройти) — и дальше по
  ноутбуку. Вариант видит ровно то состояние, что и студент, у которого X неверно, а всё
  до X верно;
- зависание или смерть ядра стоят только этого варианта: ядро запускается заново, а
  пройденная часть ноутбука выполняется ещё раз.

Файлы корпуса — `tests/corpus/tNN_*.py`: `NOTEBOOK = "04-sync"` и `VARIANTS = [Variant(...)]`.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from course.failure_pictures import MAX_PNG_BYTES, METADATA_KEY
from course.grading.executor import demo_imports
from course.grading.release import DEMO_TAG

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"

#: Время на одну ячейку. Тесты курса обязаны укладываться в лимит ячейки при оценке (30 с);
#: здесь запас на занятую машину, а превышение 30 с отмечается отдельно.
CELL_TIMEOUT = 90
GRADING_CELL_LIMIT = 30.0
MAX_PICTURES = 2  # рисунков к провалу на упражнение (#20)
# Что на рисунке отмечено как место провала (по виду): отрезок, цикл, недостача, превышение.
MARKED = ("mark", "marks", "cycle", "lost", "extra", "over")

Source = str | Callable[[str], str]


@dataclass(frozen=True)
class Variant:
    """Один ответ студента на упражнение `exercise` (grade_id ячейки решения).

    - `source` — весь код ячейки решения вместо эталона, или функция «эталон → вариант»
      (см. `replace`) для однострочных ошибок;
    - `valid=True` — верная альтернатива: обязана получить полный балл;
    - `message` — для неверного ответа: подстрока, которую должен напечатать упавший тест
      (подсказка, предназначенная именно этой ошибке); None — проверяется только потеря баллов;
    - `isolate=True` — после варианта ядро запускается заново (вариант портит ядро:
      monkey-patching, потоки, которые не кончаются, …);
    - `picture` — для неверного ответа: вид рисунка к провалу (`course.failure_pictures`:
      "sequential", "limit", "blocked", "race", "deadlock", "items"), который обязан появиться
      под упавшим тестом. У верных ответов и эталона рисунков нет никогда.
    """

    exercise: str
    name: str
    source: Source
    valid: bool = False
    message: str | None = None
    isolate: bool = False
    picture: str | None = None

    @property
    def label(self) -> str:
        kind = "верный" if self.valid else "неверный"
        return f"{self.exercise}/{self.name} ({kind})"


def replace(old: str, new: str, count: int = 1) -> Callable[[str], str]:
    """Однострочная ошибка: заменить `old` на `new` в эталонном решении (`old` обязан быть там)."""

    def mutate(reference: str) -> str:
        if old not in reference:
            raise AssertionError(f"в эталоне нет {old!r}: вариант устарел")
        return reference.replace(old, new, count)

    return mutate


@dataclass
class Outcome:
    """Что получил вариант: упавшие тестовые ячейки (grade_id → вывод) и все тесты упражнения."""

    variant: Variant
    tests: list[str]
    failed: dict[str, str] = field(default_factory=dict)
    slow: dict[str, float] = field(default_factory=dict)  # тесты дольше лимита ячейки при оценке
    error: str | None = None  # вариант не удалось даже построить (ошибка корпуса)
    pictures: list[dict] = field(default_factory=list)  # рисунки к провалу под тестами: metadata + размер PNG
    kernel_died: bool = False  # ядро умерло или зависло: перед следующим вариантом — новое

    @property
    def full_marks(self) -> bool:
        return not self.failed and not self.slow

    def problem(self) -> str | None:
        """Чем вариант нарушает правило корпуса (None — всё как должно быть)."""
        v = self.variant
        if self.error:
            return f"{v.label}: {self.error}"
        if v.valid and self.pictures:
            return f"{v.label}: у верного ответа появился рисунок к провалу: {self.pictures[0]['caption']}"
        if len(self.pictures) > MAX_PICTURES:
            return f"{v.label}: рисунков к провалу {len(self.pictures)}, а можно не больше {MAX_PICTURES}"
        for pic in self.pictures:
            if pic["png_bytes"] > MAX_PNG_BYTES:
                return f"{v.label}: рисунок {pic['kind']} весит {pic['png_bytes']} байт > {MAX_PNG_BYTES}"
        if v.valid:
            if self.failed:
                gid, out = next(iter(self.failed.items()))
                return f"{v.label}: верный ответ теряет баллы в {gid}:\n{_tail(out)}"
            if self.slow:
                return f"{v.label}: тесты дольше лимита ячейки ({GRADING_CELL_LIMIT:.0f} с): {self.slow}"
            return None
        if self.full_marks:
            return f"{v.label}: неверный ответ получает полный балл ({', '.join(self.tests)})"
        if self.slow and not self.failed:
            return (f"{v.label}: тест идёт дольше лимита ячейки ({GRADING_CELL_LIMIT:.0f} с): {self.slow} —"
                    " при оценке подсказку не покажут, ячейку снимут по тайм-ауту")
        if v.message is not None:
            text = "\n".join(self.failed.values())
            if v.message not in text:
                return f"{v.label}: нет подсказки «{v.message}»; тест сказал:\n{_tail(text)}"
        if v.picture is not None:
            mine = [p for p in self.pictures if p["kind"] == v.picture]
            if not mine:
                got = ", ".join(p["kind"] for p in self.pictures) or "ни одного"
                return f"{v.label}: ожидался рисунок «{v.picture}», а появился: {got}"
            data = mine[0].get("data") or {}
            if not mine[0]["png_bytes"] or not any(data.get(k) for k in MARKED):
                return f"{v.label}: у рисунка «{v.picture}» нет PNG или отмеченного места: {data}"
        return None


def _tail(text: str, lines: int = 12) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _pictures(cell: nbformat.NotebookNode) -> list[dict]:
    """Рисунки к провалу под ячейкой: metadata `course_picture` и размер PNG в байтах."""
    found = []
    for out in cell.get("outputs", []):
        meta = out.get("metadata", {}).get(METADATA_KEY)
        if out.output_type == "display_data" and meta:
            png = base64.b64decode(out.data.get("image/png", ""))
            found.append({**meta, "png_bytes": len(png), "png": png})
    return found


def _outputs_text(cell: nbformat.NotebookNode) -> tuple[bool, str]:
    """(упала ли ячейка, весь её текст: stdout, stderr, ошибка с трассировкой)."""
    failed, parts = False, []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type == "error":
            failed = True
            parts.append(_ANSI.sub("", "\n".join(out.traceback)))
            parts.append(f"{out.ename}: {out.evalue}")
        elif "text/plain" in out.get("data", {}):
            parts.append(out.data["text/plain"])
    return failed, "\n".join(parts)


@dataclass
class _Step:
    source: str
    grade_id: str | None = None  # ячейка с баллами (тест) или решение
    solution: bool = False
    graded: bool = False


def notebook_steps(notebook: str) -> list[_Step]:
    """Ячейки кода эталонного ноутбука, как их выполняет оценка (demo → только import)."""
    path = SOLUTIONS / notebook / f"{notebook}.ipynb"
    nb = nbformat.read(path, as_version=4)
    steps = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        source = cell.source
        is_solution, is_graded = bool(meta.get("solution")), bool(meta.get("grade"))
        if DEMO_TAG in cell.metadata.get("tags", []) and not (is_solution or is_graded):
            source = demo_imports(source)
        steps.append(_Step(source, meta.get("grade_id"), is_solution, is_graded and not is_solution))
    return steps


def exercise_tests(steps: list[_Step]) -> dict[str, list[int]]:
    """grade_id решения → индексы его тестовых ячеек (между ним и следующим решением)."""
    tests: dict[str, list[int]] = {}
    current: str | None = None
    for i, step in enumerate(steps):
        if step.solution:
            current = step.grade_id
            tests.setdefault(current, [])
        elif step.graded and current is not None:
            tests[current].append(i)
    return tests


class _Kernel:
    """Одно ядро с nbclient; `run` выполняет код ячейки и возвращает ячейку с выводами."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._nb = nbformat.v4.new_notebook()
        self._client: NotebookClient | None = None
        self._ctx = None

    def start(self) -> None:
        self._client = NotebookClient(
            self._nb, timeout=CELL_TIMEOUT, kernel_name="python3", allow_errors=True,
            interrupt_on_timeout=True, resources={"metadata": {"path": str(self.workdir)}},
        )
        self._ctx = self._client.setup_kernel(env=_kernel_env())
        self._ctx.__enter__()

    def stop(self) -> None:
        if self._ctx is not None:
            try:
                self._ctx.__exit__(None, None, None)
            except Exception:  # ядро уже мертво — это и есть повод остановить
                pass
        self._ctx = self._client = None

    def run(self, source: str) -> tuple[nbformat.NotebookNode, float, bool]:
        """(ячейка, секунды, живо ли ядро после неё)."""
        assert self._client is not None
        cell = nbformat.v4.new_code_cell(source)
        self._nb.cells.append(cell)
        started = time.monotonic()
        try:
            self._client.execute_cell(cell, len(self._nb.cells) - 1)
        except (CellTimeoutError, DeadKernelError, RuntimeError) as exc:
            cell.outputs.append(nbformat.v4.new_output(
                "error", ename=type(exc).__name__, evalue=str(exc)[:500], traceback=[]))
            return cell, time.monotonic() - started, False
        return cell, time.monotonic() - started, True


def _kernel_env() -> dict[str, str]:
    env = dict(os.environ)
    env["NBGRADER_EXECUTION"] = "autograde"  # как при оценке: демонстрации уменьшены
    env.pop("PYTEST_CURRENT_TEST", None)
    return env


@contextmanager
def _workdir(notebook: str) -> Iterator[Path]:
    """Копия папки задания: ячейки могут писать файлы рядом с ноутбуком."""
    tmp = Path(tempfile.mkdtemp(prefix="corpus-"))
    try:
        work = tmp / notebook
        shutil.copytree(SOLUTIONS / notebook, work, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        yield work
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_corpus(notebook: str, variants: list[Variant]) -> tuple[list[Outcome], list[str]]:
    """Прогнать варианты ноутбука в одном ядре. → (итоги вариантов, ошибки самого ноутбука)."""
    steps = notebook_steps(notebook)
    tests = exercise_tests(steps)
    by_exercise: dict[str, list[Variant]] = {}
    problems: list[str] = []
    for v in variants:
        if v.exercise not in tests:
            problems.append(f"{v.label}: в {notebook} нет упражнения с grade_id {v.exercise!r}")
        else:
            by_exercise.setdefault(v.exercise, []).append(v)
    outcomes: list[Outcome] = []
    with _workdir(notebook) as work:
        kernel = _Kernel(work)
        done: list[str] = []  # выполненная часть ноутбука: для перезапуска ядра

        def restart() -> None:
            kernel.stop()
            kernel.start()
            for source in done:
                kernel.run(source)

        kernel.start()
        try:
            for index, step in enumerate(steps):
                if step.solution:
                    for v in by_exercise.get(step.grade_id or "", []):
                        own_tests = [steps[i] for i in tests[step.grade_id]]
                        outcome = _run_variant(kernel, v, step.source, own_tests)
                        outcomes.append(outcome)
                        if v.isolate or outcome.kernel_died:
                            restart()
                cell, _, alive = kernel.run(step.source)
                failed, text = _outputs_text(cell)
                if step.graded and _pictures(cell):
                    problems.append(f"{notebook}: у эталона рисунок к провалу в {step.grade_id}")
                if failed and (step.solution or step.graded):
                    problems.append(f"{notebook}: эталон падает в ячейке {step.grade_id}:\n{_tail(text)}")
                done.append(step.source)
                if not alive:
                    problems.append(f"{notebook}: ядро умерло на эталонной ячейке {index}")
                    restart()
        finally:
            kernel.stop()
    return outcomes, problems


def _run_variant(kernel: _Kernel, variant: Variant, reference: str, test_steps: list[_Step]) -> Outcome:
    outcome = Outcome(variant, [s.grade_id or "?" for s in test_steps])
    try:
        source = variant.source(reference) if callable(variant.source) else variant.source
    except AssertionError as exc:
        outcome.error = str(exc)
        return outcome
    cell, _, alive = kernel.run(source)
    failed, text = _outputs_text(cell)
    if not alive:
        outcome.kernel_died = True
        outcome.failed["(ячейка решения)"] = text
        return outcome
    if failed and variant.valid:
        outcome.failed["(ячейка решения)"] = text
        return outcome
    for step in test_steps:
        cell, seconds, alive = kernel.run(step.source)
        failed, text = _outputs_text(cell)
        outcome.pictures += [{**p, "test": step.grade_id} for p in _pictures(cell)]
        if failed:
            outcome.failed[step.grade_id or "?"] = text
        elif seconds > GRADING_CELL_LIMIT:
            outcome.slow[step.grade_id or "?"] = round(seconds, 1)
        if not alive:
            outcome.kernel_died = True
            break
    return outcome
