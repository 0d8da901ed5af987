"""Каждая команда README (разделы студента и преподавателя) выполняется так, как написана.

Команды извлекаются из README.md (tests/readme.py) — неверный флаг в README не доживёт до
выпуска. Выполняются по порядку во временной копии репозитория (окружение — общий `.venv`),
с классом из архивов LMS (Moodle и Canvas), которые тест собирает сам. Что здесь не
выполняется, перечислено ниже с причиной: пометки «не здесь» в README (интернет, сервер TLJH,
systemd), `make test` (весь набор — его запускает CI) и «Занятие» на JupyterHub (его строки
выполняет tests/test_classroom.py в терминале преподавателя настоящего хаба).
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import socket
import subprocess
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from badsubmissions import ASSIGNMENT, NOTEBOOK, make_submission
from conftest import LAYOUT, ROOT
from readme import Command, commands

from course.grading.grade import digest

# Пометки «# не здесь: …» в README и что они значат.
NOT_HERE = {
    "интернет": "скачивает из интернета (TLJH, git clone) — здесь доступны только PyPI и Debian",
    "сервер TLJH": "меняет систему сервера класса (/opt/tljh, /srv, группы); то же самое в своей "
                   "папке и с настоящими пользователями делает tests/test_classroom.py",
    "systemd": "служба jupyterhub под systemd есть только на сервере класса",
}
# Команды, которые выполняются в другом месте.
ELSEWHERE = {
    "make test": "весь набор тестов: его запускает CI (.ci/run); отсюда он запустил бы сам себя",
}
CLASSROOM_LEAD = "**Занятие.**"  # блок выполняет tests/test_classroom.py в терминале преподавателя хаба
SERVERS = ("make lab",)  # запускают сервер: ждём адрес с токеном и останавливаем
# Строка «!команда» — из ячейки ноутбука: выполняется без «!» в папке ноутбука своей темы.
# Ненулевой код, который команда обязана вернуть на данных теста, и почему.
EXPECTED_CODES = {
    "course check": ({0, 1}, "ноутбук студента — заготовка: упражнения не решены, код 1"),
}
MOODLE = {"1001": ("Иван Петров", "good", 8.0), "1002": ("Мария Сидорова", "stub", 0.0)}
CANVAS = {"2001": ("ivanovivan", "good"), "2002": ("smirnovaolga_LATE", "stub")}


def classroom_commands() -> list[Command]:
    """Строки «Занятия» на JupyterHub (их выполняет tests/test_classroom.py)."""
    return [c for c in commands() if c.lead.startswith(CLASSROOM_LEAD)]


def why_not_here(command: Command) -> str:
    """Почему команда не выполняется этим тестом ('' — выполняется)."""
    if command.not_here:
        return NOT_HERE.get(command.not_here, "")
    if command.program in ELSEWHERE:
        return ELSEWHERE[command.program]
    if command.lead.startswith(CLASSROOM_LEAD):
        return "выполняет tests/test_classroom.py (нужен хаб и обмен nbgrader)"
    return ""


def test_every_readme_command_is_run_or_has_a_reason() -> None:
    found = commands()
    assert any(c.program.startswith("course grade") for c in found), "извлечение команд сломано"
    unknown = [c.text for c in found if c.not_here and c.not_here not in NOT_HERE]
    assert not unknown, f"пометка «не здесь» с неизвестной причиной (добавьте её в NOT_HERE): {unknown}"
    skipped = [f"{c.program}  ← {why_not_here(c)}" for c in found if why_not_here(c)]
    print("\nне выполняются здесь:\n  " + "\n  ".join(skipped))
    assert len(classroom_commands()) >= 4, "блок «Занятие» не найден в README"


def _copy_repo(dest: Path) -> Path:
    """Копия рабочего дерева (файлы git и новые, без игнорируемых) с общим .venv."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    (dest / ".venv").symlink_to(ROOT / ".venv")
    return dest


GIT_ENV = {"GIT_AUTHOR_NAME": "Студент", "GIT_AUTHOR_EMAIL": "student@example.org",
           "GIT_COMMITTER_NAME": "Студент", "GIT_COMMITTER_EMAIL": "student@example.org"}


def _student_clone(course: Path, scratch: Path) -> None:
    """Копия курса — клон git с upstream (как у студента после git clone), в котором курс
    успел обновиться, а студент поменял свой ноутбук: «Обновить курс» есть что сливать."""
    def git(*args: str, cwd: Path = course) -> None:
        subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                       env={**os.environ, **GIT_ENV})

    git("init", "-q", "-b", "main")
    git("add", "-A", ".")
    git("commit", "-q", "-m", "курс")
    upstream = scratch / "upstream.git"
    git("clone", "-q", "--bare", str(course), str(upstream), cwd=scratch)
    git("remote", "add", "origin", str(upstream))
    git("fetch", "-q", "origin")
    git("branch", "-q", "--set-upstream-to=origin/main", "main")
    work = scratch / "author"
    git("clone", "-q", str(upstream), str(work), cwd=scratch)
    (work / "CHANGELOG-course.md").write_text("обновление курса\n", encoding="utf-8")
    git("add", "CHANGELOG-course.md", cwd=work)
    git("commit", "-q", "-m", "курс обновился", cwd=work)
    git("push", "-q", "origin", "main", cwd=work)
    notebook = course / "notebooks" / ASSIGNMENT / NOTEBOOK
    nb = nbformat.read(notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("Мои заметки."))
    nbformat.write(nb, notebook)


def _notebook(how: str, scratch: Path) -> bytes:
    make_submission(scratch, how, LAYOUT.solutions, LAYOUT.notebooks)
    return (scratch / "submitted" / how / ASSIGNMENT / NOTEBOOK).read_bytes()


def _lms_archives(course: Path, scratch: Path) -> None:
    """Архивы «скачать все ответы» Moodle (плоский и с папками) и Canvas — в downloaded/…/archive/."""
    archive = course / "autograder" / "class" / "downloaded" / ASSIGNMENT / "archive"
    archive.mkdir(parents=True)
    body = {how: _notebook(how, scratch) for how in ("good", "stub")}
    with zipfile.ZipFile(archive / "moodle-01-basics.zip", "w") as zf:
        (name1, how1, _), (name2, how2, _) = MOODLE["1001"], MOODLE["1002"]
        zf.writestr(f"{name1}_1001_assignsubmission_file_{NOTEBOOK}", body[how1])
        zf.writestr(f"{name2}_1002_assignsubmission_file/{NOTEBOOK}", body[how2])
    with zipfile.ZipFile(archive / "canvas-01-basics.zip", "w") as zf:
        for user, (login, how) in CANVAS.items():
            zf.writestr(f"{login}_{user}_5{user[1:]}_{NOTEBOOK}", body[how])


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _run_server(command: Command, course: Path, env: dict, log: Path) -> str:
    """`make lab`: дождаться адреса JupyterLab с токеном и остановить. Вернуть '' или причину пропуска."""
    port = 8888
    for word in command.program.split():
        if word.startswith("PORT="):
            port = int(word.removeprefix("PORT="))
    if not _free(port):
        return f"порт {port} занят другим процессом на этой машине"
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(["bash", "-c", command.program], cwd=course, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            text = log.read_text(encoding="utf-8", errors="replace")
            if f"127.0.0.1:{port}/" in text and "token=" in text:
                return ""
            assert proc.poll() is None, f"{command.program} завершилась ({proc.returncode}):\n{text[-3000:]}"
            time.sleep(0.5)
        pytest.fail(f"{command.program}: за 180 с нет адреса с токеном:\n{text[-3000:]}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
    return ""


def _rows(path: Path, key: str) -> dict[str, dict]:
    return {r[key]: r for r in csv.DictReader(path.open(encoding="utf-8"))}


def _check_after(command: Command, course: Path) -> None:
    """Что должно стать после команды (по её началу)."""
    cls = course / "autograder" / "class"
    program = command.program
    if program.startswith("course register"):
        from course.grading.course_dir import gradebook_assignments

        assert ASSIGNMENT in gradebook_assignments(cls / "gradebook.db")
    elif program.startswith("nbgrader zip_collect") and "named_regexp" not in program:
        collected = {p.name for p in (cls / "submitted").iterdir()}
        assert set(MOODLE) <= collected, f"zip_collect (Moodle) собрал {collected}"
        assert (cls / "submitted" / "1002" / ASSIGNMENT / NOTEBOOK).exists()
    elif program.startswith("nbgrader zip_collect"):
        collected = {p.name for p in (cls / "submitted").iterdir()}
        assert set(CANVAS) | set(MOODLE) <= collected, f"zip_collect (Canvas) собрал {collected}"
    elif program.startswith("course grade"):
        rows = _rows(cls / f"grades-{ASSIGNMENT}.csv", "student")
        assert {s: float(r["total"]) for s, r in rows.items()} == {s: v[2] for s, v in MOODLE.items()}
        sheet = _rows(cls / f"grades-{ASSIGNMENT}-moodle.csv", "Identifier")
        assert {s: float(r["Grade"]) for s, r in sheet.items()} == {
            f"Participant {s}": v[2] for s, v in MOODLE.items()}
    elif program.startswith("nbgrader export"):
        exported = _rows(cls / "grades.csv", "student_id")
        ours = _rows(cls / f"grades-{ASSIGNMENT}.csv", "student")
        want = {s: float(r["total"]) for s, r in ours.items()}
        assert {s: float(exported[s]["score"]) for s in ours} == want
    elif program.startswith("nbgrader generate_feedback"):
        for student in MOODLE:
            assert (cls / "feedback" / student / ASSIGNMENT / "01-basics.html").exists()


@pytest.mark.slow
def test_readme_commands_run_as_written(tmp_path) -> None:
    course = _copy_repo(tmp_path / "course")
    _lms_archives(course, tmp_path / "scratch")
    _student_clone(course, tmp_path / "scratch")
    released_before = digest(course / "notebooks")
    env = {**os.environ, **GIT_ENV,
           "PATH": f"{course / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("JUPYTER_CONFIG_PATH", None)
    # make в копии не должен ставить пакеты в общий .venv (editable-установка ушла бы в копию)
    plan = subprocess.run(["make", "-n", "setup"], cwd=course, env=env, capture_output=True, text=True)
    stale = "pip install" in plan.stdout
    ran, skipped = [], []
    for number, command in enumerate(commands()):
        if why_not_here(command):
            continue
        if command.program.startswith("make") and stale:
            skipped.append(f"{command.program}: .venv устарел (make setup переустановил бы общий .venv)")
            continue
        if command.program.startswith(SERVERS):
            reason = _run_server(command, course, env, tmp_path / f"server-{number}.log")
            (skipped if reason else ran).append(f"{command.program}: {reason}" if reason else command.program)
            continue
        program, where = command.program, course
        if program.startswith("!"):  # команда из ячейки ноутбука: папка ноутбука той темы
            program = program[1:]
            topics = [w for w in program.split() if (course / "notebooks" / w).is_dir()]
            where = course / "notebooks" / (topics[0] if topics else "")
        done = subprocess.run(["bash", "-c", program], cwd=where, env=env, capture_output=True,
                              text=True, timeout=900)
        allowed = next((codes for key, (codes, _) in EXPECTED_CODES.items() if key in command.program), {0})
        assert done.returncode in allowed, (
            f"README: «{command.program}» → код {done.returncode}\n"
            f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        )
        assert "Unrecognized" not in done.stderr, f"README: «{command.program}»: {done.stderr[-2000:]}"
        _check_after(command, course)
        ran.append(command.program)
    print("\nвыполнено:\n  " + "\n  ".join(ran))
    print("пропущено:\n  " + "\n  ".join(skipped or ["—"]))
    assert any(c.startswith("course grade") for c in ran)
    assert digest(course / "notebooks") == released_before, "команды README переписали notebooks/"
    graded = nbformat.read(
        course / "autograder" / "class" / "autograded" / "1001" / ASSIGNMENT / NOTEBOOK, as_version=4)
    assert graded.cells, "стоковый autograde не записал работу"
