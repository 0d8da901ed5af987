"""`course grade` и `course check` на корпусе плохих работ: каждая получает свой балл и причину,
ни одна не мешает остальным, сданные файлы не меняются, процессы не остаются."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from badsubmissions import ASSIGNMENT, CASES, NOTEBOOK, make_submission
from conftest import LAYOUT, ROOT

from course.grading.cli import main
from course.grading.grade import digest, grade_class

EXTRA_GOOD = [f"z_good_{i:02d}" for i in range(6)]
EXTRA_STUB = [f"z_stub_{i:02d}" for i in range(6)]


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    for student in CASES:
        make_submission(root, student, LAYOUT.solutions, LAYOUT.notebooks)
    for clone, source in [(s, "good") for s in EXTRA_GOOD] + [(s, "stub") for s in EXTRA_STUB]:
        shutil.copytree(root / "submitted" / source, root / "submitted" / clone)
    before = {p.name: digest(p) for p in (root / "submitted").iterdir()}
    # 15 с на ячейку: бомба памяти под нагрузкой (два «жгущих» процесса на двух ядрах) набирает
    # свои 2 ГБ дольше 8 с — и падала по времени, а не по памяти, с другой причиной.
    results = grade_class(LAYOUT, ASSIGNMENT, jobs=2, course_dir=root, cell_timeout=15, progress=False)
    return root, {r.student: r for r in results}, before


@pytest.mark.slow
@pytest.mark.xdist_group("grading")
def test_every_submission_gets_expected_score_and_reason(graded_class) -> None:
    _, results, _ = graded_class
    assert len(results) == len(CASES) + len(EXTRA_GOOD) + len(EXTRA_STUB)
    wrong = []
    for student, (_, expected, reason) in CASES.items():
        got = results[student]
        if got.scores != expected:
            wrong.append(f"{student}: ожидалось {expected}, получено {got.scores} ({got.reasons})")
        if reason and not any(reason in r for r in got.reasons):
            wrong.append(f"{student}: нет причины «{reason}» в {got.reasons}")
        if got.status == "failed":
            wrong.append(f"{student}: не удалось оценить: {got.reasons}")
    assert not wrong, "\n".join(wrong)
    assert all(results[s].total == 8 for s in EXTRA_GOOD)
    assert all(results[s].total == 0 for s in EXTRA_STUB)


@pytest.mark.slow
@pytest.mark.xdist_group("grading")
def test_outputs_csv_feedback_and_gradebook(graded_class) -> None:
    root, results, before = graded_class
    rows = list(csv.DictReader((root / f"grades-{ASSIGNMENT}.csv").open(encoding="utf-8")))
    assert {row["student"] for row in rows} == set(results)
    missing = next(row for row in rows if row["student"] == "renamed")
    assert "my-homework.ipynb" in missing["reasons"] and float(missing["total"]) == 0
    html = (root / "feedback" / "good" / ASSIGNMENT / "01-basics.html").read_text(encoding="utf-8")
    assert "fetch_all_test" in html
    assert "порядок ответов при повторах" not in html, "скрытые тесты видны в отзыве"
    huge = root / "autograded" / "huge_output" / ASSIGNMENT / NOTEBOOK
    assert huge.stat().st_size < 2_000_000, "вывод в 10 МБ не обрезан"
    after = {p.name: digest(p) for p in (root / "submitted").iterdir()}
    assert after == before, "проверка изменила сданные файлы"
    stock = stock_export(root)
    assert stock["good"] == 8 and stock["stub"] == 0 and stock["os_exit"] == 5


@pytest.mark.slow
@pytest.mark.xdist_group("grading")
def test_feedback_shows_the_failure_picture_and_not_the_hidden_tests(graded_class) -> None:
    """Запросы по очереди: в отзыве — рисунок прогона (PNG внутри HTML), скрытые тесты не видны."""
    root, _, _ = graded_class
    html = (root / "feedback" / "sequential" / ASSIGNMENT / "01-basics.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in html  # подпись рисунка — в самом PNG
    assert "запросы шли по очереди" in html
    assert "порядок ответов при повторах" not in html, "скрытые тесты видны в отзыве"
    good = (root / "feedback" / "good" / ASSIGNMENT / "01-basics.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == good.count("data:image/png;base64,") + 1


@pytest.mark.slow
@pytest.mark.xdist_group("grading")
def test_no_processes_left_behind(graded_class) -> None:
    leftovers = [
        p.pid for p in psutil.process_iter(["cmdline"])
        if "time.sleep(60)" in " ".join(p.info["cmdline"] or [])
    ]
    assert not leftovers, f"остались процессы работ: {leftovers}"


@pytest.mark.slow
@pytest.mark.xdist_group("grading")
def test_rerun_is_idempotent_and_resumes(graded_class) -> None:
    root, results, _ = graded_class
    again = grade_class(LAYOUT, ASSIGNMENT, jobs=2, course_dir=root, progress=False)
    assert {r.student: r.scores for r in again} == {s: r.scores for s, r in results.items()}


def test_grade_rejects_bad_arguments(tmp_path, capsys) -> None:
    assert main(["grade", ASSIGNMENT, "--course-dir", str(tmp_path)]) == 2
    assert "нет папки с работами" in capsys.readouterr().err
    assert main(["grade", ASSIGNMENT, "--jobs", "0"]) == 2
    assert "--jobs" in capsys.readouterr().err


@pytest.mark.slow
def test_check_reports_each_exercise(tmp_path, capfd, monkeypatch) -> None:
    """Отчёт по упражнениям — и ничего больше: ни строчки английского журнала ядра в терминале
    (capfd ловит и то, что ядро пишет прямо в унаследованные stdout и stderr; без буфера — как в
    терминале, иначе ядро, которое закрывают сразу, не успевает вывести свой буфер)."""
    monkeypatch.setenv("PYTHONUNBUFFERED", "1")
    stub = tmp_path / NOTEBOOK
    shutil.copy(LAYOUT.notebooks / ASSIGNMENT / NOTEBOOK, stub)
    before = stub.read_bytes()
    assert main(["check", str(stub)]) == 1
    out = capfd.readouterr().out
    line = next((x for x in out.splitlines() if x.startswith("✘ Упражнение 2. скачать всё сразу")), "")
    assert line.endswith("— 0/3: упражнение ещё не решено"), out
    assert "Итого: 0 из 8" in out
    assert stub.read_bytes() == before
    assert main(["check", str(LAYOUT.solutions / ASSIGNMENT / NOTEBOOK)]) == 0
    out, err = capfd.readouterr()
    assert "Итого: 8 из 8" in out
    for noise in ("Ctrl-C", "kernel.json", "encryption"):
        assert noise not in out + err, out + err


@pytest.mark.slow
def test_check_saves_the_failure_picture_next_to_the_notebook(tmp_path, capsys) -> None:
    """Запросы по очереди: `course check` кладёт PNG рядом с ноутбуком и называет его; рисунок
    к тесту, который теперь проходит, удаляется (он о прошлом прогоне)."""
    make_submission(tmp_path, "sequential", LAYOUT.solutions, LAYOUT.notebooks)
    folder = tmp_path / "submitted" / "sequential" / ASSIGNMENT
    stale = folder / "01-basics.classify_workload_test.png"
    stale.write_bytes(b"old")
    assert main(["check", str(folder / NOTEBOOK)]) == 1
    out = capsys.readouterr().out
    picture = folder / "01-basics.fetch_all_test.png"
    assert f"рисунок — что сделал ваш код и как было нужно: {picture}" in out, out
    assert picture.read_bytes().startswith(b"\x89PNG") and picture.stat().st_size <= 150_000
    assert not stale.exists()


def test_check_explains_bad_input(tmp_path, capsys) -> None:
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [', encoding="utf-8")
    assert main(["check", str(broken)]) == 2
    assert "не читается" in capsys.readouterr().err
    assert main(["check", str(tmp_path / "absent.ipynb")]) == 2
    assert "нет файла" in capsys.readouterr().err


@pytest.mark.slow
def test_ctrl_c_keeps_gradebook_consistent_and_next_run_resumes(tmp_path) -> None:
    """Ctrl-C посреди класса: процессы работ убраны, база цела, новый запуск доделывает остальное."""
    students = ["good", "s1", "s2", "s3", "s4"]
    make_submission(tmp_path, "good", LAYOUT.solutions, LAYOUT.notebooks)
    for clone in students[1:]:
        shutil.copytree(tmp_path / "submitted" / "good", tmp_path / "submitted" / clone)
    state = tmp_path / f".course-grade-state-{ASSIGNMENT}.json"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.Popen(
        [sys.executable, "-m", "course.grading.cli", "grade", ASSIGNMENT, "--course-dir", str(tmp_path),
         "--jobs", "1"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # как в терминале: Ctrl-C получает группа процессов команды
        # Работник pytest-xdist игнорирует SIGINT, а это наследуется: Python с игнорируемым
        # SIGINT не ставит свой обработчик — вернём обычное поведение, как у терминала.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    family: dict[int, float] = {}
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        for child in _children(proc.pid):
            family.setdefault(child.pid, child.create_time())
        if state.exists() and json.loads(state.read_text(encoding="utf-8")):
            break
        time.sleep(0.2)
    assert proc.poll() is None, "класс оценился раньше, чем успели нажать Ctrl-C"
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert "повторный запуск продолжит" in err
    # Убитый процесс исчезает не мгновенно (ядро ОС ещё освобождает его память): даём 10 с.
    # Утечка — то, что живо и после них.
    settle = time.monotonic() + 10
    alive = [pid for pid, created in family.items() if _same_process(pid, created)]
    while alive and time.monotonic() < settle:
        time.sleep(0.1)
        alive = [pid for pid in alive if _same_process(pid, family[pid])]
    assert not alive, f"после Ctrl-C остались процессы проверки: {_describe(alive)}"

    done = json.loads(state.read_text(encoding="utf-8"))
    assert 1 <= len(done) < len(students)
    graded = stock_export(tmp_path)
    assert all(graded[s] == 8 for s in done), graded

    stamps = {s: (tmp_path / "autograded" / s / ASSIGNMENT / NOTEBOOK).stat().st_mtime_ns for s in done}
    again = grade_class(LAYOUT, ASSIGNMENT, jobs=2, course_dir=tmp_path, progress=False)
    assert {r.student: r.total for r in again} == dict.fromkeys(students, 8)
    letters = [tmp_path / "feedback" / s / ASSIGNMENT / "01-basics.html" for s in students]
    assert all(p.exists() for p in letters), "отзывы, прерванные Ctrl-C, не дописаны"
    for student, stamp in stamps.items():
        now = (tmp_path / "autograded" / student / ASSIGNMENT / NOTEBOOK).stat().st_mtime_ns
        assert now == stamp, f"{student} оценён заново, хотя был оценён до Ctrl-C"


@pytest.mark.slow
def test_grading_that_breaks_down_is_retried_once_with_a_note(tmp_path, monkeypatch) -> None:
    """Сбой не по вине работы (упал работник, nbgrader не справился) — повтор, а не «не оценена»."""
    from course import grader

    make_submission(tmp_path, "good", LAYOUT.solutions, LAYOUT.notebooks)
    real, calls = grader.Worker.grade, []

    def breaks_first_time(self, request, wall_limit, stop):
        calls.append(request["workdir"])
        if len(calls) == 1:
            return {"failed": "процесс проверки завершился без итога: имитация"}
        return real(self, request, wall_limit, stop)

    monkeypatch.setattr(grader.Worker, "grade", breaks_first_time)
    [result] = grade_class(LAYOUT, ASSIGNMENT, jobs=1, course_dir=tmp_path, progress=False)
    assert (result.status, result.total) == ("graded", 8), result
    assert len(calls) == 2 and calls[0] != calls[1], calls
    assert any("первая попытка проверки сорвалась (процесс проверки завершился" in r for r in result.reasons)


def stock_export(root: Path) -> dict[str, float]:
    """Баллы из базы через стоковый `nbgrader export`: база после нас годится nbgrader'у."""
    export = subprocess.run(
        [str(Path(sys.executable).parent / "nbgrader"), "export", "--to", str(root / "stock.csv"),
         f"--CourseDirectory.db_url=sqlite:///{root / 'gradebook.db'}"],
        cwd=root, capture_output=True, text=True, timeout=120,
    )
    assert export.returncode == 0, export.stderr[-2000:]
    with (root / "stock.csv").open(encoding="utf-8") as fh:
        return {r["student_id"]: float(r["score"]) for r in csv.DictReader(fh)}


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _describe(pids: list[int]) -> list[str]:
    described = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            described.append(f"{pid} {proc.status()} {' '.join(proc.cmdline())[:200]}")
        except psutil.Error:
            described.append(f"{pid} (уже завершился)")
    return described


def _same_process(pid: int, created: float) -> bool:
    try:
        proc = psutil.Process(pid)
        return proc.create_time() == created and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def test_error_summary_names_the_real_error() -> None:
    from course.grading.grade import error_summary

    log = ("[AutogradeApp | ERROR] Traceback (most recent call last):\n  File \"x\", line 1, in f\n"
           "RuntimeError: Kernel died before replying to kernel_info\n"
           "[AutogradeApp | ERROR] nbgrader.converters.base.NbGraderException: see the above traceback")
    assert error_summary(log) == "RuntimeError: Kernel died before replying to kernel_info"
    assert error_summary("") == "неизвестная ошибка"


def test_stderr_not_fatal_keeps_a_traceback_printed_to_stderr() -> None:
    """Предупреждение или трассировка чужого потока в stderr не обнуляют тест; трассировка группы
    исключений (так IPython 9 показывает ExceptionGroup, поднятую в ячейке) — обнуляет."""
    import nbformat

    from course.grading.executor import StderrNotFatal

    def cell_with(text: str) -> nbformat.NotebookNode:
        cell = nbformat.v4.new_code_cell("...")
        cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text=text)]
        return cell

    thread_error = "Exception in thread T:\nTraceback (most recent call last):\n"
    for harmless in ("UserWarning: осторожно\n", thread_error):
        kept, _ = StderrNotFatal().preprocess_cell(cell_with(harmless), {}, 0)
        assert kept.outputs[0].name == "stdout", harmless
    group = "  + Exception Group Traceback (most recent call last):\n  | ExceptionGroup: unhandled errors\n"
    crashed, _ = StderrNotFatal().preprocess_cell(cell_with(group), {}, 0)
    assert crashed.outputs[0].name == "stderr"


@pytest.mark.parametrize("where", ["notebook folder", "notebooks", "course root"])
def test_check_finds_the_topic_from_where_students_are(where, monkeypatch) -> None:
    """Одна команда `course check 01-basics` — из ячейки темы, из notebooks/ и из корня курса."""
    from course.grading.cli import resolve_notebook

    cwd = {"notebook folder": LAYOUT.notebooks / ASSIGNMENT, "notebooks": LAYOUT.notebooks,
           "course root": LAYOUT.root}[where]
    monkeypatch.chdir(cwd)
    found = resolve_notebook(Path(ASSIGNMENT))
    assert found.resolve() == (LAYOUT.notebooks / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").resolve()
