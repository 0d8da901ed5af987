"""`course grade`: оценить класс параллельно, не теряя ни одной работы.

Как устроено (и почему):
- работу оценивает процесс-работник (их `--jobs`, живут весь запуск) со своей *копией* базы
  оценок, а в общую базу пишет только главный процесс — по одной транзакции на студента.
  SQLite не любит одновременных писателей, а так их просто нет;
- работник запускает настоящий `nbgrader autograde` с `RobustExecute` (см. executor.py) и
  возвращает баллы и причины по каналу; nbgrader он импортирует один раз, а ядро для
  следующей работы запускает заранее — работа платит за свои упражнения, а не за запуск
  Python и ядра. Отзыв (`generate_feedback`) пишет главный процесс, пока работники заняты
  следующими; прерванный до отзыва запуск допишет его в следующий раз;
- после каждой работы убиваются все процессы, которые работник и ядро успели породить
  (кроме запасного ядра); зависший или умерший работник убивается целиком и заменяется;
- ядро работы — в песочнице (sandbox.py) и под проверкой на подмену (integrity.py): уровень
  изоляции и пометка «требует ручной проверки» попадают в итог, CSV и базу оценок;
- битый JSON, пропавший или переименованный ноутбук — 0 и причина, без запуска ядра;
- изменённые или удалённые закрытые ячейки восстанавливаются из исходника, и это
  записывается в причины; сданные файлы не меняются (проверяется хешем до и после);
- состояние в `.course-grade-state.json`: повторный запуск пропускает уже оценённые и не
  изменившиеся работы (после Ctrl-C он продолжит с места остановки); `--force` — заново.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import queue
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from course.grading.course_dir import ClassFolder, check_ready, open_class
from course.grading.executor import ABORTED, kill_process_tree
from course.grading.gradebook import read_autogrades, store_autogrades, submission_scores
from course.grading.integrity import collect_flags, seal_summary
from course.grading.release import CourseLayout
from course.grading.sandbox import isolation_note, open_to_kernel
from course.notebook import available_cores


@dataclass
class StudentResult:
    """Итог одной работы: баллы по grade_id, максимум, причины потерь не «за неверный ответ»."""

    student: str
    scores: dict[str, float] = field(default_factory=dict)
    max_scores: dict[str, float] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    status: str = "graded"  # graded | zero | failed
    digest: str = ""
    pending: list[str] = field(default_factory=list)  # ячейки, которые ждут ручной оценки
    flagged: dict[str, str] = field(default_factory=dict)  # grade_id → почему нужна ручная проверка
    isolation: str = ""  # уровень песочницы (sandbox.LEVELS)

    @property
    def total(self) -> float:
        return sum(self.scores.values())


# ---------------------------------------------------------------- конфигурация


def open_course(course: CourseLayout | ClassFolder, course_dir: Path | None = None,
                cell_timeout: int | None = None) -> ClassFolder:
    """Папка курса для оценки: готовая (`ClassFolder`) или курс этого репозитория (`CourseLayout`)."""
    if isinstance(course, ClassFolder):
        return course
    return open_class(cwd=course.root, config_file=course.config_file, course_dir=course_dir,
                      cell_timeout=cell_timeout)


def ensure_assignment(folder: ClassFolder, assignment: str) -> list[str]:
    """Задание есть в базе оценок (иначе занести из исходников, не трогая release/); вернуть
    имена его ноутбуков. Стоковый `generate_assignment` при существующем release/ задание
    пропускает — поэтому собираем во временную папку выпуска."""
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    folder.db.parent.mkdir(parents=True, exist_ok=True)
    with Gradebook(folder.db_url) as gb:
        try:
            return sorted(nb.name for nb in gb.find_assignment(assignment).notebooks)
        except MissingEntry:
            pass
    with tempfile.TemporaryDirectory() as tmp:
        over = Config()
        over.CourseDirectory.release_directory = tmp
        cfg = Config(folder.config)
        cfg.merge(over)
        result = NbGraderAPI(config=cfg).generate_assignment(assignment)
        if not result["success"]:
            raise RuntimeError(f"не удалось занести задание {assignment} в базу: {result.get('error')}")
    with Gradebook(folder.db_url) as gb:
        return sorted(nb.name for nb in gb.find_assignment(assignment).notebooks)


# ---------------------------------------------------------------- до запуска ядра


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(folder)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def load_released(release: Path, notebooks: list[str]) -> dict[str, Any]:
    """Выпущенные ноутбуки задания (что студент получил) — читаются один раз на класс."""
    import nbformat

    return {name: nbformat.read(release / f"{name}.ipynb", as_version=4)
            for name in notebooks if (release / f"{name}.ipynb").exists()}


def inspect_submission(
    folder: Path, notebooks: list[str], released: dict[str, Any]
) -> tuple[list[str], list[str]]:
    """(причины не запускать работу вовсе, заметки о правке закрытых ячеек).

    Битый JSON, пропавший или переименованный ноутбук — первое. Закрытые ячейки, которые
    студент изменил или удалил, — второе (nbgrader их восстановит). Сравниваем с выпущенной
    версией, а не с исходником: в исходнике у тестов есть скрытая часть, которой у студента
    никогда не было.
    """
    import nbformat
    from nbgrader.utils import compute_checksum

    problems: list[str] = []
    notes: list[str] = []
    present = sorted(p.name for p in folder.glob("*.ipynb")) if folder.is_dir() else []
    for name in notebooks:
        path = folder / f"{name}.ipynb"
        if not path.exists():
            other = [p for p in present if p != f"{name}.ipynb"]
            hint = f" (есть {', '.join(other)} — переименуйте в {name}.ipynb)" if other else ""
            problems.append(f"не найден ноутбук {name}.ipynb{hint}")
            continue
        try:
            submitted = nbformat.read(path, as_version=4)
        except Exception as exc:  # noqa: BLE001 — любая порча файла даёт одну причину
            problems.append(f"ноутбук {name}.ipynb повреждён и не читается ({type(exc).__name__})")
            continue
        if name not in released:
            continue
        cells = {
            c.metadata["nbgrader"].get("grade_id"): c
            for c in submitted.cells
            if "nbgrader" in c.get("metadata", {})
        }
        for original in released[name].cells:
            meta = original.metadata.get("nbgrader", {})
            if not meta.get("locked"):
                continue
            cell = cells.get(meta.get("grade_id"))
            if cell is None:
                notes.append(f"ячейка {meta.get('grade_id')} удалена — восстановлена из задания")
            elif compute_checksum(cell) != compute_checksum(original):
                notes.append(f"ячейка {meta.get('grade_id')} изменена — восстановлена из задания")
    return problems, notes


# ---------------------------------------------------------------- работник


def grade_submission(request: dict) -> dict:
    """Оценить одну работу в этом процессе (с копией базы из запроса); вернуть итог."""
    import nbformat
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    config = Config(request["config"])
    student, assignment = request["student"], request["assignment"]
    private_db = Path(request["workdir"]) / "gradebook.db"
    shutil.copy(request["template_db"], private_db)
    config.merge(Config({"CourseDirectory": {"db_url": f"sqlite:///{private_db}"}}))
    api = NbGraderAPI(config=config)
    outcome: dict[str, Any] = {"scores": {}, "max": {}, "reasons": [], "needs_manual": []}
    result = api.autograde(assignment, student)
    if not result["success"]:
        outcome["error"] = (result.get("error") or result.get("log") or "").strip()[-2000:]
    with Gradebook(f"sqlite:///{private_db}") as gb:
        submission = gb.find_submission(assignment, student)
        for nb in submission.notebooks:
            for grade in nb.grades:
                outcome["scores"][grade.name] = grade.auto_score or 0.0
                outcome["max"][grade.name] = grade.max_score
                if grade.needs_manual_grade:
                    outcome["needs_manual"].append(grade.name)
    if not outcome.get("error"):
        outcome["autogrades"] = read_autogrades(f"sqlite:///{private_db}", assignment, student)
    graded = Path(config["CourseDirectory"]["root"]) / config["CourseDirectory"][
        "autograded_directory"
    ] / student / assignment
    for path in sorted(graded.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for number, cell in enumerate(nb.cells, start=1):
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id") or f"ячейка {number}"
            for out in cell.get("outputs", []):
                if out.get("ename") == ABORTED:
                    outcome["reasons"].append(f"{grade_id}: {out.get('evalue')}")
        collect_flags(nb, outcome)
    return outcome


def write_feedback(config, assignment: str, student: str, reasons: list[str] | None = None) -> str | None:
    """Отзыв студенту (стоковый generate_feedback по общей базе: баллы, комментарии, выводы)
    и наши причины в нём; вернуть причину, если не вышло."""
    from course.grading.feedback import add_reasons, generate_feedback

    try:
        done = generate_feedback(config, assignment, student)  # с шаблоном курса (см. там)
        if done["success"]:
            cd = config["CourseDirectory"]
            add_reasons(Path(cd["root"]) / cd["feedback_directory"] / student / assignment, reasons or [])
    except Exception as exc:  # noqa: BLE001 — отзыв одного студента не должен остановить класс
        return f"отзыв не сформирован: {type(exc).__name__}: {exc}"[:300]
    if done["success"]:
        return None
    return "отзыв не сформирован: " + str(done.get("error") or done.get("log"))[-300:]


def feedback_missing(feedback: Path, student: str, assignment: str, notebooks: list[str]) -> bool:
    return not all((feedback / student / assignment / f"{name}.html").exists() for name in notebooks)


def serve(conn: Any, log_path: str) -> None:
    """Работник: ждёт запросы по каналу, оценивает по одной работе, отвечает итогом.

    nbgrader импортируется один раз на работника, а ядро для следующей работы запускается
    заранее (RobustExecute.prestart_kernel); pid этого ядра уходит родителю вместе с итогом,
    чтобы уборка после работы его не тронула. Вывод ядер и nbgrader — в журнал `log_path`.
    """
    import traceback
    import warnings

    os.setsid()  # своя группа процессов: Ctrl-C в терминале достаётся только родителю
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    warnings.filterwarnings("ignore", module=r"nbgrader(\.|$)")
    from nbgrader.apps import NbGraderAPI  # noqa: F401 — импорт один раз, до первой работы

    from course.grading.executor import shutdown_spare_kernel, spare_kernel_pid

    try:
        while True:
            try:
                request = conn.recv()
            except EOFError:
                break
            if request is None:
                break
            try:
                outcome = grade_submission(request)
            except Exception:  # noqa: BLE001 — сбой проверки одной работы, а не всего класса
                outcome = {"failed": "сбой проверки: " + traceback.format_exc().strip()[-500:]}
            outcome["spare_pid"] = spare_kernel_pid()
            outcome["isolation"] = isolation_note(request["config"])
            conn.send(outcome)
    finally:
        shutdown_spare_kernel()


class Worker:
    """Долгоживущий процесс-работник и всё, что нужно, чтобы он не подвёл класс.

    Одна работа за раз; пока она идёт, запоминаем потомков работника, а после неё убиваем
    всех, кроме ядра, запущенного заранее для следующей. Работник завис или умер — убиваем
    его дерево процессов целиком, работа получает причину, а на её место встаёт новый.
    """

    def __init__(self, folder: Path, number: int) -> None:
        self.number = number
        self.log = folder / f"worker-{number}.log"
        self.proc: Any = None
        self.conn: Any = None
        self._log_from = 0

    def start(self) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")  # без fork: чистый процесс без потоков родителя
        self.conn, child = context.Pipe()
        self.proc = context.Process(target=serve, args=(child, str(self.log)), daemon=True,
                                    name=f"course-grade-{self.number}")
        self.proc.start()
        child.close()

    def grade(self, request: dict, wall_limit: float, stop: Any) -> dict:
        if self.proc is None or not self.proc.is_alive():
            self.start()
        self._log_from = self.log.stat().st_size if self.log.exists() else 0
        self.conn.send(request)
        seen: dict[int, float] = {}
        deadline = time.monotonic() + wall_limit
        outcome = None
        why = ""
        while outcome is None:
            if self.conn.poll(0.25):
                try:
                    outcome = self.conn.recv()
                except (EOFError, OSError):
                    why = "процесс проверки завершился без итога"
                    break
            elif not self.proc.is_alive():
                why = "процесс проверки завершился без итога"
                break
            elif time.monotonic() > deadline:
                why = f"проверка работы не уложилась в {wall_limit:.0f} с"
                break
            elif stop.is_set():
                why = "проверка остановлена (Ctrl-C)"
                break
            _remember_descendants(self.proc.pid, seen)
        if outcome is None:
            self.close(kill=True)
            _kill_remembered(seen)
            tail = self._log_tail()
            return {"failed": f"{why}: {tail}" if tail else why}
        spare = outcome.pop("spare_pid", None)
        keep = _tree(spare)  # ядро следующей работы: в песочнице это bwrap *и* ядро под ним
        _kill_remembered({pid: t for pid, t in seen.items() if pid not in keep})
        return outcome

    def _log_tail(self) -> str:
        try:
            with self.log.open("rb") as fh:
                fh.seek(self._log_from)
                return fh.read().decode("utf-8", errors="replace").strip()[-300:]
        except OSError:
            return ""

    def close(self, kill: bool = False) -> None:
        if self.proc is None:
            return
        if not kill:
            try:
                self.conn.send(None)
                self.proc.join(timeout=15)
            except (OSError, BrokenPipeError):
                pass
        kill_process_tree(self.proc.pid)
        self.proc.join(timeout=5)
        self.conn.close()
        self.proc = self.conn = None


def _plain(config) -> dict:
    """Config traitlets → обычный dict (значения конфигурации курса — простые типы)."""
    return json.loads(json.dumps(config, default=str))


def _remember_descendants(pid: int, seen: dict[int, float]) -> None:
    try:
        for child in psutil.Process(pid).children(recursive=True):
            seen.setdefault(child.pid, child.create_time())
    except psutil.Error:
        pass


def _tree(pid: int | None) -> set[int]:
    """pid и все его потомки (пусто, если pid нет или процесс уже завершился)."""
    if pid is None:
        return set()
    try:
        return {pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))}
    except psutil.Error:
        return {pid}


def _kill_remembered(seen: dict[int, float]) -> None:
    for pid, created in seen.items():
        try:
            proc = psutil.Process(pid)
            if proc.create_time() == created:
                kill_process_tree(pid)
        except psutil.Error:
            pass


# ---------------------------------------------------------------- главный процесс


def record(db: Path, assignment: str, result: StudentResult, autogrades: dict | None = None) -> None:
    """Записать итог студента в общую базу одной транзакцией (пишет только этот процесс) —
    так же, как записал бы стоковый autograde (см. gradebook.py), — и перечитать баллы
    оттуда: в отчёте и CSV те же числа, что в formgrader и `nbgrader export`."""
    url = f"sqlite:///{db}"
    store_autogrades(url, assignment, result.student, autogrades if result.status == "graded" else None,
                     flagged=result.flagged)
    record_scores(db, assignment, result)


def record_scores(db: Path, assignment: str, result: StudentResult) -> None:
    """Баллы итога — из базы (с ручными оценками преподавателя, если они есть)."""
    got = submission_scores(f"sqlite:///{db}", assignment, result.student)
    result.scores, result.max_scores, result.pending = got["scores"], got["max"], got["pending"]


def grade_class(
    course: CourseLayout | ClassFolder,
    assignment: str,
    jobs: int | None = None,
    course_dir: Path | None = None,
    cell_timeout: int | None = None,
    force: bool = False,
    progress: bool = True,
) -> list[StudentResult]:
    """Оценить всех студентов из submitted/; вернуть итоги (и записать CSV и базу).

    `course` — папка курса nbgrader (`course_dir.open_class`) или курс этого репозитория.
    Пока не проверено, что задание известно и работы есть, ничего не создаётся.
    """
    from tqdm import tqdm
    from traitlets.config import Config

    from course.grading.release import ensure_tools_on_path

    ensure_tools_on_path()
    class_dir = open_course(course, course_dir, cell_timeout)
    check_ready(class_dir, assignment)
    config = class_dir.config
    submitted, feedback, db = class_dir.submitted, class_dir.feedback, class_dir.db
    root = db.parent  # ведомость и состояние — рядом с базой оценок (у курса репозитория — autograder/class/)
    students = sorted(p.name for p in submitted.iterdir() if p.is_dir())
    notebooks = ensure_assignment(class_dir, assignment)
    state_file = root / f".course-grade-state-{assignment}.json"
    state = json.loads(state_file.read_text(encoding="utf-8")) if state_file.exists() else {}
    results: dict[str, StudentResult] = {}
    todo = []
    late_feedback: list[str] = []
    for student in students:
        folder = submitted / student / assignment
        stamp = digest(folder) if folder.is_dir() else "absent"
        previous = state.get(student)
        if previous and previous["digest"] == stamp and not force:
            results[student] = StudentResult(**previous)
            graded = results[student].status == "graded"
            if graded and feedback_missing(feedback, student, assignment, notebooks):
                late_feedback.append(student)  # прервали до отзыва (Ctrl-C): дописать
            continue
        todo.append((student, stamp))
    released = load_released(class_dir.release / assignment, notebooks)
    wall_limit = float(config.RobustExecute.get("notebook_timeout", 300)) * len(notebooks) + 120
    with tempfile.TemporaryDirectory(prefix="course-grade-") as tmp:
        template = Path(tmp) / "template.db"
        shutil.copy(db, template)
        jobs = max(1, min(jobs or available_cores(), len(todo) or 1))
        worker_config = Config(config)
        worker_config.merge(
            Config({"RobustExecute": {"prestart_kernel": True, "shutdown_kernel": "immediate",
                                      "sandbox": True}})
        )
        plain_config = _plain(worker_config)
        idle: queue.Queue[Worker] = queue.Queue()
        for number in range(jobs if todo else 0):
            worker = Worker(Path(tmp), number)
            worker.start()  # сразу: nbgrader в работниках импортируется, пока главный процесс готовит запросы
            idle.put(worker)
        stop = threading.Event()

        def grade_one(student: str) -> dict:
            problems, notes = inspect_submission(submitted / student / assignment, notebooks, released)
            if problems:  # запускать нечего: 0 и причина, без ядра
                return {"zero": problems}
            worker = idle.get()

            def attempt(number: int) -> dict:
                workdir = Path(tmp) / f"work-{student}-{number}"
                workdir.mkdir()
                request = {"config": plain_config, "student": student, "assignment": assignment,
                           "template_db": str(template), "workdir": str(workdir)}
                return worker.grade(request, wall_limit, stop)

            try:
                outcome = attempt(1)
                trouble = infrastructure_trouble(outcome)
                if trouble and not stop.is_set():  # не по вине работы: ещё раз, и причина — в отчёт
                    notes = [*notes, f"первая попытка проверки сорвалась ({trouble}); проверена заново"]
                    outcome = attempt(2)
                return {**outcome, "notes": notes}
            finally:
                idle.put(worker)

        bar = tqdm(total=len(todo), disable=not progress, desc=f"оценка {assignment}", unit="работа")
        pool = ThreadPoolExecutor(max_workers=jobs)
        # Отзывы пишет главный процесс (по общей базе), пока работники оценивают следующих:
        # HTML отзыва — почти секунда процессора, и работник её не ждёт.
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="course-feedback")
        letters = {writer.submit(write_feedback, config, assignment, s, results[s].reasons): s
                   for s in late_feedback}
        futures = {pool.submit(grade_one, s): (s, d) for s, d in todo}
        try:
            for future in as_completed(futures):
                student, stamp = futures[future]
                outcome = future.result()
                result = to_result(student, stamp, outcome)
                if digest(submitted / student / assignment) != stamp:
                    result.reasons.append("ВНИМАНИЕ: сданные файлы изменились во время проверки")
                record(db, assignment, result, outcome.get("autogrades"))
                results[student] = result
                state[student] = asdict(result)
                _write_state(state_file, state)
                if result.status == "graded":
                    letters[writer.submit(write_feedback, config, assignment, student,
                                          list(result.reasons))] = student
                bar.update()
            for letter in as_completed(letters):
                problem = letter.result()
                if problem:
                    student = letters[letter]
                    results[student].reasons.append(problem)
                    state[student] = asdict(results[student])
        except BaseException:  # Ctrl-C: оценённое сохранено, остальное — при следующем запуске
            stop.set()
            for future in [*futures, *letters]:
                future.cancel()
            raise
        finally:
            pool.shutdown(wait=True)
            writer.shutdown(wait=True, cancel_futures=True)
            bar.close()
            _write_state(state_file, state)
            while not idle.empty():
                idle.get().close(kill=stop.is_set())
    secrets = [db, class_dir.source, submitted, class_dir.autograded, feedback]
    shown = {level: open_to_kernel(level, secrets) for level in {r.isolation for r in results.values()}}
    for result in results.values():  # ручные оценки из formgrader — и в отчёт, и в состояние
        record_scores(db, assignment, result)
        result.isolation = shown[result.isolation]
    ordered = [results[s] for s in students]
    write_csv(root / f"grades-{assignment}.csv", assignment, ordered, db)
    return ordered


def _write_state(path: Path, state: dict) -> None:
    """Состояние пишется целиком во временный файл и подменяется: Ctrl-C не оставит половину."""
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(state, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(partial, path)


def infrastructure_trouble(outcome: dict) -> str:
    """Причина, если работа не оценилась по вине проверки, а не кода студента; иначе ''.

    Зависание (предел времени) не в их числе: его повтор стоил бы ещё столько же.
    """
    if outcome.get("error"):
        return "nbgrader: " + error_summary(outcome["error"])
    failed = outcome.get("failed", "")
    if failed.startswith(("процесс проверки завершился без итога", "сбой проверки")):
        return failed.splitlines()[0][:200]
    return ""


def error_summary(log: str) -> str:
    """Строка журнала nbgrader, которая называет настоящую ошибку.

    Последняя строка там всегда «NbGraderException: Please see the above traceback» — учителю
    она ничего не говорит; нужна последняя строка вида «ИмяОшибки: текст» выше неё.
    """
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for line in reversed(lines):
        name = line.split(":", 1)[0].split()[-1] if ":" in line else ""
        if name.endswith(("Error", "Exception", "Exit")) and "NbGraderException" not in line:
            return line[-300:]
    return lines[-1][-300:] if lines else "неизвестная ошибка"


def to_result(student: str, stamp: str, outcome: dict) -> StudentResult:
    if "zero" in outcome:
        return StudentResult(student, reasons=outcome["zero"], status="zero", digest=stamp)
    notes = outcome.get("notes", [])
    if "failed" in outcome:
        return StudentResult(student, reasons=[*notes, outcome["failed"]], status="failed", digest=stamp)
    reasons = [*notes, *outcome.get("reasons", [])]
    if outcome.get("error"):
        reasons.append("nbgrader: " + error_summary(outcome["error"]))
    return StudentResult(
        student, scores=outcome["scores"], max_scores=outcome["max"], reasons=reasons, digest=stamp,
        status="graded" if not outcome.get("error") else "failed",
        flagged=outcome.get("flagged", {}), isolation=outcome.get("isolation", ""),
    )


CSV_COLUMNS = ("student", "email", "assignment")  # затем баллы по grade_id
CSV_TAIL = ("total", "max", "needs_manual_grade", "reasons", "manual_review", "isolation")


def write_csv(path: Path, assignment: str, results: list[StudentResult], db: Path) -> None:
    """Ведомость класса из базы оценок: те же числа, что в formgrader и `nbgrader export`.

    Столбцы: student (имя в nbgrader — его сопоставляют с логином в LMS), email (если
    занесён в базу), assignment, балл каждой оцениваемой ячейки по grade_id (ручной, если
    поставлен), total (= score в `nbgrader export`: сумма минус штраф за опоздание), max,
    needs_manual_grade (сколько ячеек ждут ручной оценки в formgrader) и reasons.
    """
    rows = {r.student: submission_scores(f"sqlite:///{db}", assignment, r.student) for r in results}
    grade_ids = sorted({g for got in rows.values() for g in got["max"]})
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([*CSV_COLUMNS, *grade_ids, *CSV_TAIL])
        for r in results:
            got = rows[r.student]
            writer.writerow(
                [r.student, got.get("email", ""), assignment,
                 *(_number(got["scores"].get(g, 0.0)) for g in grade_ids),
                 _number(got["total"]), _number(got["max_total"] or sum(got["max"].values())),
                 len(got["pending"]), "; ".join(r.reasons), "да" if r.flagged else "", r.isolation]
            )
    if results and all(r.student.isdigit() for r in results):  # номера участников из выгрузки LMS
        from course.grading.lms import write_moodle_sheet

        sheet = [(r.student, rows[r.student]["total"], rows[r.student]["max_total"], "; ".join(r.reasons))
                 for r in results]
        write_moodle_sheet(path.with_name(f"{path.stem}-moodle.csv"), sheet)


def _number(value: float) -> str:
    """8.0 → «8», 2.5 → «2.5»: LMS при импорте понимают оба, а людям так проще читать."""
    return f"{value:g}"


def summary(results: list[StudentResult]) -> str:
    graded = sum(r.status == "graded" for r in results)
    zero = sum(r.status == "zero" for r in results)
    failed = sum(r.status == "failed" for r in results)
    lines = [f"{'студент':20} {'баллы':>8}  причины"]
    for r in results:
        best = sum(r.max_scores.values())
        manual = [f"ждут ручной оценки: {', '.join(r.pending)}"] if r.pending else []
        lines.append(f"{r.student:20} {r.total:>4g}/{best:<3g}  {'; '.join([*r.reasons, *manual])}")
    lines.append(f"оценено: {graded}; ноль с причиной: {zero}; не удалось оценить: {failed}")
    waiting = sum(bool(r.pending) for r in results)
    if waiting:
        lines.append(f"работ с ячейками для ручной оценки: {waiting} — оцените их в formgrader "
                     "и запустите course grade ещё раз (ручные баллы сохранятся), чтобы обновить CSV")
    lines.extend(seal_summary(results))
    return "\n".join(lines)
